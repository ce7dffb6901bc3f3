-- A scanned payment code is never reversed within 15 s of its debit attempt: a cancellation asked
-- for sooner is recorded here (when it was asked, in ms since the epoch) and carried out once the
-- 15 s have passed.
ALTER TABLE orders ADD COLUMN cancel_wanted_ms BIGINT;
