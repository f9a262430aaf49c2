-- Hospitals' public keys for signed notifications (issue #9, hub/intake/signature.py). A record on
-- a hospital's notification topic is trusted only when its hub-signature header names one of that
-- hospital's keys (kid) that was valid at the record's time and verifies over the record's bytes.
--
-- Keys are never deleted: a replay re-verifies with the keys valid at the original time. Rotation
-- gives the old keys a valid_until (the overlap); revocation a revoked_at, from which on the key is
-- refused. Only public keys are kept (an EC P-256 JWK: kty, crv, x, y); a private member is refused.
-- The runtime role gets its privileges on this table from grant_runtime_privileges (0008), which
-- every `hub migrate` runs.
CREATE TABLE hospital_keys (
    kid         text PRIMARY KEY CHECK (kid ~ '^[!-~]{1,128}$'),  -- printable ASCII, unique across hospitals
    org_id      text NOT NULL REFERENCES hospitals (org_id),
    jwk         jsonb NOT NULL CHECK (jsonb_typeof(jwk) = 'object' AND NOT jwk ?| array['d', 'p', 'q', 'k']),
    valid_from  timestamptz NOT NULL,
    valid_until timestamptz,                -- NULL: until rotated
    revoked_at  timestamptz,                -- NULL: not revoked
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()  -- registration order, also within a transaction
);
CREATE INDEX hospital_keys_org ON hospital_keys (org_id, created_at);
