-- Each audit entry carries an HMAC-SHA256 of its hash under the audit key of the key file
-- (outside the database): whoever can write the database can recompute hashes, not MACs.
-- Entries from before stay without one; every entry after the first keyed one must have one.
ALTER TABLE audit_log ADD COLUMN mac TEXT;
