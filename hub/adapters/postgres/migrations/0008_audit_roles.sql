-- The audit log resists its own writer (issue #8). The schema belongs to an owner role, which
-- applies the migrations; the hub runs as another role (the runtime role), which reads and writes
-- the hub's tables but may only read and append to the audit log: no UPDATE, DELETE or TRUNCATE
-- (the trigger of 0002 stays, for the owner's own mistakes). deploy/local/postgres.sh makes both
-- roles; a production database needs the same two.
--
-- Every run of `hub migrate` (and the start of `hub run`) calls grant_runtime_privileges with the
-- runtime role after applying migrations, so the tables of later migrations are covered and a
-- privilege granted by hand on audit_log is taken back. Default privileges cover tables that the
-- owner creates in between. A migration that needs a different rule replaces this function.
CREATE FUNCTION grant_runtime_privileges(runtime name) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF runtime = current_user THEN
        RAISE EXCEPTION 'the runtime role % is the owner: it would own the audit log', runtime;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', runtime);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', runtime);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', runtime);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', runtime);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', runtime);
    -- Revoking a table privilege also revokes it on every column.
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM %I', runtime);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON schema_migrations FROM %I', runtime);
END $$;

REVOKE EXECUTE ON FUNCTION grant_runtime_privileges(name) FROM PUBLIC;
