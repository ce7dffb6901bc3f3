-- Applicants' names, ID numbers and phones, and payers, are sealed (AES-256-GCM, a key outside
-- the database); cases are found by ID number through a keyed hash of it, indexed. Rows written
-- before are sealed when the platform starts with its keys.
ALTER TABLE cases ADD COLUMN applicant_id_index TEXT;
CREATE INDEX cases_by_applicant_index ON cases (applicant_id_index);
