-- The console's dashboard leaves out answers whose latest change was a document correction: the
-- few correction jobs, through this partial index, instead of a scan of every document job ever
-- made (bench scenario `console`: 50 ms of 68 at a million registrations, growing by 4.4 million
-- jobs a year).
CREATE INDEX document_jobs_corrections ON document_jobs (hospital_id, message_id, sequence) WHERE reason = 'correction';
