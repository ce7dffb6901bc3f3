-- Audit entries written by a transaction that must not hold the chain's head until it commits
-- (submissions): the entry is recorded here in the transaction, and linked into the chain right
-- after it commits, many entries in one short transaction. `pending_id` locates a linked entry.
CREATE TABLE audit_pending (
    id      BIGSERIAL PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
);
ALTER TABLE audit_log ADD COLUMN pending_id BIGINT;
CREATE UNIQUE INDEX audit_log_by_pending ON audit_log (pending_id) WHERE pending_id IS NOT NULL;
