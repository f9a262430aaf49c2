-- Retention of personal data the hub keeps only to deliver and re-deliver messages (issue #8).
-- Once a row has done its job and the retention period has passed, its body is removed and the
-- time of removal recorded; the row itself stays, so ids, times and the trail survive:
--   outbox          published results, civil events and dead letters: value and key
--   registry_sagas  the notification a written saga carried
--   document_jobs   the contents a finished job issued (the documents themselves are the record)
--   reviews         the notification of a decided case
ALTER TABLE outbox ALTER COLUMN value DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN purged_at timestamptz;
CREATE INDEX outbox_purgeable ON outbox (sent_at) WHERE purged_at IS NULL AND sent_at IS NOT NULL;

ALTER TABLE registry_sagas ALTER COLUMN document DROP NOT NULL;
ALTER TABLE registry_sagas ADD COLUMN purged_at timestamptz;
CREATE INDEX registry_sagas_purgeable ON registry_sagas (updated_at) WHERE purged_at IS NULL AND state = 'written';

ALTER TABLE document_jobs ALTER COLUMN request DROP NOT NULL;
ALTER TABLE document_jobs ADD COLUMN purged_at timestamptz;
CREATE INDEX document_jobs_purgeable ON document_jobs (done_at) WHERE purged_at IS NULL AND state = 'done';

ALTER TABLE reviews ALTER COLUMN document DROP NOT NULL;
ALTER TABLE reviews ADD COLUMN purged_at timestamptz;
CREATE INDEX reviews_purgeable ON reviews (decided_at) WHERE purged_at IS NULL AND status <> 'open';
