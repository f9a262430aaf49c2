-- Registry writes to an external civil registry (SIAK) as tracked sagas.
-- The consumer records the intent with the inbox row; a worker performs the registry write and
-- answers the hospital only once the registry has confirmed.

CREATE TABLE registry_sagas (
    message_id      text PRIMARY KEY REFERENCES inbox (message_id) DEFERRABLE INITIALLY DEFERRED,
    state           text NOT NULL CHECK (state IN ('pending', 'written', 'failed-retrying', 'failed-permanent')),
    document        bytea NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_sagas_due ON registry_sagas (next_attempt_at) WHERE state IN ('pending', 'failed-retrying');

-- The circuit breaker of each hub process talking to the registry, for operators.
CREATE TABLE registry_breakers (
    process     text PRIMARY KEY,
    state       text NOT NULL,
    failures    integer NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
