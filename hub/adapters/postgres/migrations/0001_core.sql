-- The hub's schema: the embedded civil registry, the inbox, the outbox and the review queue.
-- Registry tables keep history: family card versions are added, never overwritten.

CREATE TABLE hospitals (
    org_id      text PRIMARY KEY,           -- SATUSEHAT organisation id
    name        text NOT NULL,
    regency     char(4) NOT NULL,
    active      boolean NOT NULL DEFAULT true
);

CREATE TABLE families (
    kk_number       char(16) PRIMARY KEY,
    kecamatan       char(6) NOT NULL,       -- domicile: decides the NIK region and the issuing office
    current_version integer NOT NULL CHECK (current_version >= 1),
    address         text NOT NULL DEFAULT ''
);

CREATE TABLE persons (
    nik          char(16) PRIMARY KEY,
    name         text NOT NULL,
    sex          text NOT NULL CHECK (sex IN ('male', 'female')),
    birth_date   date NOT NULL,
    birth_place  text NOT NULL DEFAULT '',
    religion     text NOT NULL DEFAULT '',
    occupation   text NOT NULL DEFAULT '',
    kk_number    char(16) REFERENCES families (kk_number),
    relationship text NOT NULL,
    father_name  text NOT NULL DEFAULT '',
    mother_name  text NOT NULL DEFAULT '',
    alive        boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX persons_kk ON persons (kk_number);

CREATE TABLE family_versions (
    kk_number  char(16) NOT NULL REFERENCES families (kk_number),
    version    integer NOT NULL,
    issued_at  timestamptz NOT NULL,
    regency    char(4) NOT NULL,
    reason     text NOT NULL,
    akta_number text,
    PRIMARY KEY (kk_number, version)
);

CREATE TABLE family_version_members (
    kk_number    char(16) NOT NULL,
    version      integer NOT NULL,
    position     integer NOT NULL,
    nik          char(16) NOT NULL REFERENCES persons (nik),
    relationship text NOT NULL,
    PRIMARY KEY (kk_number, version, position),
    UNIQUE (kk_number, version, nik),
    FOREIGN KEY (kk_number, version) REFERENCES family_versions (kk_number, version)
);

-- Gap-free serials: one row per scope, incremented under a row lock inside the registering
-- transaction, so a rolled-back registration gives its serial back.
CREATE TABLE number_serials (
    scope  text PRIMARY KEY,
    last   integer NOT NULL CHECK (last BETWEEN 0 AND 9999)
);

CREATE TABLE births (
    id             bigserial PRIMARY KEY,
    message_id     text NOT NULL UNIQUE,
    hospital_id    text NOT NULL REFERENCES hospitals (org_id),
    encounter_id   text NOT NULL,
    birth_order    integer NOT NULL,
    mother_nik     char(16) NOT NULL,
    born_at        timestamptz NOT NULL,
    stillborn      boolean NOT NULL DEFAULT false,
    child_nik      char(16) UNIQUE REFERENCES persons (nik),
    kk_number      char(16) NOT NULL,
    kk_version     integer,
    registered_at  timestamptz NOT NULL,
    -- the second line of defence against a double registration
    UNIQUE (hospital_id, encounter_id, birth_order)
);
CREATE INDEX births_mother ON births (mother_nik, born_at);

CREATE TABLE birth_certificates (
    akta_number       text PRIMARY KEY,     -- kept as text: older certificates vary in format
    birth_id          bigint NOT NULL UNIQUE REFERENCES births (id),
    issuing_regency   char(4) NOT NULL,
    variant           text NOT NULL,
    registration_type char(2) NOT NULL CHECK (registration_type IN ('LU', 'LT')),
    issued_at         timestamptz NOT NULL
);

-- Stillbirths go to their own register: no akta kelahiran, no NIK.
CREATE TABLE stillbirths (
    birth_id     bigint PRIMARY KEY REFERENCES births (id),
    weight_g     integer NOT NULL,
    gestational_weeks numeric(4, 1),
    recorded_at  timestamptz NOT NULL
);

-- Inbox: one row per processed message id, written with its effects.
CREATE TABLE inbox (
    message_id      text PRIMARY KEY,
    hospital_id     text,
    status          text NOT NULL,
    codes           text[] NOT NULL DEFAULT '{}',
    result_event_id uuid NOT NULL,
    topic           text NOT NULL,
    partition       integer NOT NULL,
    "offset"        bigint NOT NULL,
    processed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_status ON inbox (status, processed_at);

-- Every delivery handled, so a redelivery after a crash is recognised and changes nothing.
CREATE TABLE deliveries (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    "offset"     bigint NOT NULL,
    message_id   text,
    action       text NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);
CREATE INDEX deliveries_message ON deliveries (message_id);

CREATE TABLE dead_letters (
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    reason      text NOT NULL,
    detail      text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);

CREATE TABLE reviews (
    message_id  text PRIMARY KEY,
    hospital_id text NOT NULL,
    reasons     text[] NOT NULL,
    document    bytea NOT NULL,             -- the notification as received, for the decision
    status      text NOT NULL DEFAULT 'open',
    opened_at   timestamptz NOT NULL DEFAULT now()
);

-- Outbox: messages to publish after commit, in id order; event_id repeats when re-published.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL,
    topic       text NOT NULL,
    key         bytea,
    value       bytea NOT NULL,
    headers     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_event ON outbox (event_id);
