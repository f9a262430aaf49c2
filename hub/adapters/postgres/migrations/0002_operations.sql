-- Operations: trace any message, review decisions, replay runs and a tamper-evident audit log.

ALTER TABLE inbox ADD COLUMN mother_nik char(16);
ALTER TABLE inbox ADD COLUMN result_sequence integer NOT NULL DEFAULT 1;
ALTER TABLE inbox ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX inbox_mother ON inbox (mother_nik);

CREATE INDEX outbox_correlation ON outbox ((headers ->> 'correlation-id'));

ALTER TABLE reviews ADD COLUMN decided_at timestamptz;
ALTER TABLE reviews ADD COLUMN decided_by text;
ALTER TABLE reviews ADD COLUMN note text;

CREATE TABLE replay_runs (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    operator    text NOT NULL,
    selector    jsonb NOT NULL,
    dry_run     boolean NOT NULL,
    positions   jsonb NOT NULL DEFAULT '{}',   -- next offset per "topic:partition", for --resume
    counts      jsonb NOT NULL DEFAULT '{}'
);

-- Append-only: every operator action, each row chained to the previous one by a SHA-256 hash.
CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        text NOT NULL,                   -- ISO 8601, as hashed
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    reason    text NOT NULL,
    details   jsonb NOT NULL,
    prev_hash text NOT NULL,
    hash      text NOT NULL UNIQUE
);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
