-- Schema version 2: a versioned catalogue, local references, department staff and the audit log.

-- Every catalogue the platform has served. An import adds a version; a version never changes,
-- so a case keeps the rules it was submitted under. The document is the catalogue file (TOML) in
-- canonical form, as `hall-platform catalogue export` prints it.
CREATE TABLE catalogue_versions (
    version    INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    source     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    document   TEXT NOT NULL
);

-- `items` keeps one row per item id any version offered (with the latest names), so that cases
-- always refer to a known item; departments and materials now live in the versions.
DROP TABLE item_materials;
DROP TABLE item_departments;

-- Cases of schema version 1 were submitted under the built-in catalogue, seeded as version 1.
ALTER TABLE cases ADD COLUMN catalogue_version INTEGER NOT NULL DEFAULT 1;
-- The kiosk's own reference for a submission made while the platform was unreachable.
ALTER TABLE cases ADD COLUMN local_reference TEXT;
ALTER TABLE cases ADD COLUMN verification_code TEXT;
ALTER TABLE cases ADD COLUMN updated_at TEXT;
CREATE UNIQUE INDEX cases_by_local_reference ON cases (local_reference)
    WHERE local_reference IS NOT NULL;

-- While corrections are asked the node's time limit stops; answered, it is extended by the
-- working days it waited.
ALTER TABLE case_nodes ADD COLUMN corrections_asked_at TEXT;

-- Department staff: bearer tokens, of which only a SHA-256 is kept.
CREATE TABLE staff_tokens (
    token_sha256 TEXT PRIMARY KEY,
    department   TEXT NOT NULL,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

-- The audit log: every state change, each entry carrying the SHA-256 of the one before.
-- No personal data: subjects are codes, details are statuses and hashes.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_by_subject ON audit_log (subject);

-- The end of the chain. Appending locks this row, so entries of concurrent transactions (and of
-- several platform instances on one database) form one chain.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The log is append-only for the platform; `audit verify` catches whoever goes around this.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE INDEX fee_notices_by_case ON fee_notices (approval_code);
