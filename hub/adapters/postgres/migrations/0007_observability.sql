-- Observability: the trace a message belongs to and the hospital's timestamp travel with the work
-- the hub defers (registry sagas, document jobs, outbox rows), so the saga worker's registry call,
-- the document worker's signing and the relay's publish join the hospital's trace, and the relay
-- can measure a result's end-to-end age. Both are optional: rows written before carry NULL.
ALTER TABLE outbox ADD COLUMN trace_context text;
ALTER TABLE outbox ADD COLUMN origin_at timestamptz;
ALTER TABLE registry_sagas ADD COLUMN trace_context text;
ALTER TABLE registry_sagas ADD COLUMN origin_at timestamptz;
ALTER TABLE document_jobs ADD COLUMN trace_context text;
ALTER TABLE document_jobs ADD COLUMN origin_at timestamptz;

-- The metrics sampler reads backlogs every few seconds: each of its queries uses a partial index
-- over the open rows only, so it stays cheap on a registry with millions of finished ones.
CREATE INDEX reviews_open ON reviews (opened_at) WHERE status = 'open';
CREATE INDEX registry_sagas_open ON registry_sagas (state, created_at) WHERE state <> 'written';
CREATE INDEX outbox_unsent_age ON outbox (created_at) WHERE sent_at IS NULL;
CREATE INDEX document_jobs_pending_age ON document_jobs (created_at) WHERE state = 'pending';
