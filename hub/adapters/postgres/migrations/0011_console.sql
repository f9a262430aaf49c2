-- The back-office console (issue #11): local accounts with one role each, server-side sessions,
-- and corrections an officer proposes for a supervisor to approve.
--
-- Passwords are kept only as argon2id hashes (hub/adapters/passwords.py). A session is known by
-- the SHA-256 of its cookie token, so a copy of this table does not let anyone sign in. Rows of
-- console_sessions are deleted when they end; the audit log keeps who signed in and out.

CREATE TABLE console_users (
    username        text PRIMARY KEY CHECK (username ~ '^[a-z][a-z0-9._-]{1,39}$'),
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    role            text NOT NULL CHECK (role IN ('officer', 'supervisor', 'operator', 'auditor')),
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL,
    password_set_at timestamptz NOT NULL,
    disabled_at     timestamptz,
    failed_signins  integer NOT NULL DEFAULT 0 CHECK (failed_signins >= 0),
    locked_until    timestamptz
);

CREATE TABLE console_sessions (
    token_hash   bytea PRIMARY KEY,
    username     text NOT NULL REFERENCES console_users (username) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL      -- the absolute end; idleness is judged from last_seen_at
);
CREATE INDEX console_sessions_user ON console_sessions (username);

CREATE TABLE correction_proposals (
    id           bigserial PRIMARY KEY,
    akta_number  text NOT NULL,
    changes      jsonb NOT NULL,           -- the Correction's fields (personal data: purged with the record's retention)
    reason       text NOT NULL,
    proposed_by  text NOT NULL,
    proposed_at  timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'rejected')),
    decided_by   text,
    decided_at   timestamptz,
    note         text
);
CREATE INDEX correction_proposals_open ON correction_proposals (proposed_at) WHERE status = 'open';
