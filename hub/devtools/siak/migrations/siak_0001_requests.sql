-- The SIAK reference server (`hub siak serve`): one row per Idempotency-Key of a POST.
-- The row is inserted first, in the registering transaction, so a concurrent request with the
-- same key waits on the primary key and then reads the committed answer; a refused request rolls
-- back and leaves no row. `operation` says which POST the key was used for.

CREATE TABLE IF NOT EXISTS siak_requests (
    idempotency_key text PRIMARY KEY,
    operation       text NOT NULL,
    request_hash    text NOT NULL,          -- SHA-256 of the operation and the canonical JSON body
    status          integer NOT NULL,       -- the first answer's HTTP status (201)
    response        jsonb,                  -- the first answer's body
    created_at      timestamptz NOT NULL DEFAULT now()
);
