-- Message ids are scoped by the sending hospital (issue #8): a hospital chooses its message ids
-- itself, so two hospitals may send the same one. Wherever a message id identifies a message, the
-- key becomes (hospital_id, message_id). A message whose sender could not be read has no hospital:
-- it is kept under the empty string, its own scope, so the key columns can be NOT NULL.
--
-- Existing rows: until now a message id was unique across hospitals, so each table without a
-- hospital column takes it from the inbox row of its message id. Indexes by message id alone stay
-- for operators, who look a message up by the id a hospital quotes.

-- inbox: the primary key (hospital_id, message_id)
UPDATE inbox SET hospital_id = '' WHERE hospital_id IS NULL;
ALTER TABLE inbox ALTER COLUMN hospital_id SET DEFAULT '';
ALTER TABLE inbox ALTER COLUMN hospital_id SET NOT NULL;
ALTER TABLE registry_sagas DROP CONSTRAINT registry_sagas_message_id_fkey;
ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
ALTER TABLE inbox ADD PRIMARY KEY (hospital_id, message_id);
CREATE INDEX inbox_message ON inbox (message_id);

-- deliveries: which message a delivery carried (NULL for a dead letter, as before)
ALTER TABLE deliveries ADD COLUMN hospital_id text;
UPDATE deliveries d SET hospital_id = i.hospital_id FROM inbox i WHERE i.message_id = d.message_id;

-- registry sagas: one per message, a part of its inbox row
ALTER TABLE registry_sagas ADD COLUMN hospital_id text;
UPDATE registry_sagas s SET hospital_id = i.hospital_id FROM inbox i WHERE i.message_id = s.message_id;
UPDATE registry_sagas SET hospital_id = '' WHERE hospital_id IS NULL;
ALTER TABLE registry_sagas ALTER COLUMN hospital_id SET NOT NULL;
ALTER TABLE registry_sagas DROP CONSTRAINT registry_sagas_pkey;
ALTER TABLE registry_sagas ADD PRIMARY KEY (hospital_id, message_id);
ALTER TABLE registry_sagas ADD FOREIGN KEY (hospital_id, message_id) REFERENCES inbox (hospital_id, message_id)
    DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX registry_sagas_message ON registry_sagas (message_id);

-- review cases: the hospital was always recorded
ALTER TABLE reviews DROP CONSTRAINT reviews_pkey;
ALTER TABLE reviews ADD PRIMARY KEY (hospital_id, message_id);
CREATE INDEX reviews_message ON reviews (message_id);

-- births: the message that registered a birth (the natural key of the birth itself is unchanged)
ALTER TABLE births DROP CONSTRAINT births_message_id_key;
ALTER TABLE births ADD UNIQUE (hospital_id, message_id);
CREATE INDEX births_message ON births (message_id);

-- document jobs: one per result sequence of a message
ALTER TABLE document_jobs ADD COLUMN hospital_id text;
UPDATE document_jobs j SET hospital_id = i.hospital_id FROM inbox i WHERE i.message_id = j.message_id;
UPDATE document_jobs SET hospital_id = '' WHERE hospital_id IS NULL;
ALTER TABLE document_jobs ALTER COLUMN hospital_id SET NOT NULL;
ALTER TABLE document_jobs DROP CONSTRAINT document_jobs_message_id_sequence_key;
ALTER TABLE document_jobs ADD UNIQUE (hospital_id, message_id, sequence);
CREATE INDEX document_jobs_message ON document_jobs (message_id);

-- documents: the message whose registration a document records (documents_message stays)
ALTER TABLE documents ADD COLUMN hospital_id text;
UPDATE documents d SET hospital_id = i.hospital_id FROM inbox i WHERE i.message_id = d.message_id;
UPDATE documents SET hospital_id = '' WHERE hospital_id IS NULL;
ALTER TABLE documents ALTER COLUMN hospital_id SET NOT NULL;
