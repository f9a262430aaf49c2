-- Documents: every version of every akta kelahiran and family card the hub issued, with its
-- signed PDF and QR payload, its status and its slot in a status list; and the work still owed.

CREATE TABLE documents (
    document_id       uuid PRIMARY KEY,           -- derived from (kind, number, version)
    kind              text NOT NULL CHECK (kind IN ('akta-kelahiran', 'kartu-keluarga')),
    number            text NOT NULL,              -- akta number, or KK number
    version           integer NOT NULL CHECK (version >= 1),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'superseded', 'revoked')),
    kk_number         char(16) NOT NULL,          -- the family the document belongs to
    regency           char(4) NOT NULL,           -- issuing office; with the year it names the status list
    list_year         integer NOT NULL,
    list_index        integer NOT NULL,
    message_id        text NOT NULL,              -- the notification whose registration it documents
    reason            text NOT NULL,              -- registration | correction
    content           jsonb NOT NULL,             -- what the document states, for reprints and corrections
    pdf               bytea NOT NULL,
    qr_payload        text NOT NULL,
    key_id            text NOT NULL,
    issued_at         timestamptz NOT NULL,
    supersedes        uuid REFERENCES documents (document_id),
    status_reason     text,
    status_changed_at timestamptz,
    UNIQUE (kind, number, version),
    UNIQUE (regency, list_year, list_index)
);
CREATE UNIQUE INDEX documents_one_active ON documents (kind, number) WHERE status = 'active';
CREATE INDEX documents_message ON documents (message_id);
CREATE INDEX documents_family ON documents (kk_number);

-- One status list per issuing regency and year: the next free index, taken under a row lock.
CREATE TABLE status_lists (
    regency    char(4) NOT NULL,
    year       integer NOT NULL,
    next_index integer NOT NULL,
    PRIMARY KEY (regency, year)
);

-- Documents owed: written with the registration (or the correction) that owes them; a worker
-- renders and signs them and, in one transaction, stores them, queues the hospital's result and
-- the civil event, and marks the job done. A crash leaves the job due: exactly one set per job.
CREATE TABLE document_jobs (
    id              bigserial PRIMARY KEY,
    message_id      text NOT NULL,
    sequence        integer NOT NULL,           -- the result sequence the job answers
    reason          text NOT NULL,
    kk_number       char(16) NOT NULL,          -- a family's jobs run in order (twins: KK versions in order)
    request         jsonb NOT NULL,             -- the contents to issue and the result to complete
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    owed_copies     integer NOT NULL DEFAULT 0, -- re-sends of the message id while the job waited
    created_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz,
    UNIQUE (message_id, sequence)
);
CREATE INDEX document_jobs_due ON document_jobs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX document_jobs_family ON document_jobs (kk_number, id) WHERE state = 'pending';
