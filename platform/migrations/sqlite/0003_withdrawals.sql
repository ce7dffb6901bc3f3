-- Withdrawals of submissions a kiosk never confirmed to the applicant (the kiosk stopped between
-- sending and showing "done"). One row per withdrawn idempotency key: with the case it withdrew,
-- or, when no case had arrived, a tombstone that refuses the key if its request arrives later.
CREATE TABLE withdrawn_keys (
    key           TEXT PRIMARY KEY,
    withdrawn_at  TEXT NOT NULL,
    approval_code TEXT REFERENCES cases (approval_code),
    reason        TEXT NOT NULL
);

CREATE INDEX idempotency_keys_by_case ON idempotency_keys (approval_code);
CREATE INDEX cases_by_kiosk ON cases (kiosk_id);
