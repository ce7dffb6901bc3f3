-- Audit entries recorded in a transaction and linked into the chain right after it commits (see
-- the PostgreSQL step; the SQLite file has one writer and links every entry at once, so the
-- table stays empty here and exists for the same schema on both).
CREATE TABLE audit_pending (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
);
ALTER TABLE audit_log ADD COLUMN pending_id INTEGER;
CREATE UNIQUE INDEX audit_log_by_pending ON audit_log (pending_id) WHERE pending_id IS NOT NULL;
