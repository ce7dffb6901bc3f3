-- The whole schema of version 2 on PostgreSQL: the same tables as the SQLite file, integers as
-- BIGINT, dates as ISO text (so both backends sort and compare them alike), the money rules as
-- triggers. Several platform instances may share this database.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Counters handed out inside transactions (approval serials, e-receipt numbers).
CREATE TABLE sequences (
    name       TEXT PRIMARY KEY,
    next_value BIGINT NOT NULL
);
-- Serials below 100 are kept for the demo cases. Approval serials come from a PostgreSQL
-- sequence, which hands out numbers without holding a lock until commit (a serial lost to a
-- rolled-back submission is simply never used); e-receipt numbers stay gapless in `sequences`.
INSERT INTO sequences (name, next_value) VALUES ('approval_serial', 101), ('receipt', 1);
CREATE SEQUENCE approval_serial_seq START 101;

-- Catalogue --------------------------------------------------------------------------------------

CREATE TABLE catalogue_versions (
    version    BIGINT PRIMARY KEY,
    created_at TEXT NOT NULL,
    source     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    document   TEXT NOT NULL
);

-- One row per item id any catalogue version offered, with the latest names.
CREATE TABLE items (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    stage           BIGINT NOT NULL CHECK (stage BETWEEN 1 AND 5),
    time_limit_days BIGINT NOT NULL CHECK (time_limit_days >= 0),
    instant         BIGINT NOT NULL CHECK (instant IN (0, 1)),
    fee_note        TEXT
);

-- Registries -------------------------------------------------------------------------------------

CREATE TABLE projects (
    code              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    construction_unit TEXT
);

CREATE TABLE organizations (
    credit_code TEXT PRIMARY KEY,
    name        TEXT NOT NULL
);

-- Cases ------------------------------------------------------------------------------------------

CREATE TABLE cases (
    approval_code            TEXT PRIMARY KEY,
    item_id                  TEXT NOT NULL REFERENCES items (id),
    status                   BIGINT NOT NULL CHECK (status BETWEEN 1 AND 15),
    submitted_at             TEXT NOT NULL,
    due_date                 TEXT NOT NULL,
    applicant_name           TEXT NOT NULL,
    applicant_id_number      TEXT NOT NULL,
    applicant_phone          TEXT NOT NULL,
    organization_name        TEXT,
    organization_credit_code TEXT,
    project_code             TEXT NOT NULL,
    project_name             TEXT NOT NULL,
    identified_by            TEXT,
    kiosk_id                 TEXT,
    catalogue_version        BIGINT NOT NULL DEFAULT 1,
    local_reference          TEXT,
    verification_code        TEXT,
    updated_at               TEXT
);
CREATE UNIQUE INDEX cases_by_local_reference ON cases (local_reference)
    WHERE local_reference IS NOT NULL;

CREATE TABLE case_nodes (
    approval_code        TEXT NOT NULL REFERENCES cases (approval_code),
    seq                  BIGINT NOT NULL,
    department           TEXT NOT NULL,
    department_en        TEXT NOT NULL,
    status               BIGINT NOT NULL CHECK (status BETWEEN 1 AND 15),
    started_at           TEXT,
    due_date             TEXT,
    time_limit_days      BIGINT NOT NULL CHECK (time_limit_days >= 0),
    finished_at          TEXT,
    opinion              TEXT,
    corrections_asked_at TEXT,
    PRIMARY KEY (approval_code, seq)
);

CREATE TABLE case_materials (
    approval_code TEXT NOT NULL REFERENCES cases (approval_code),
    material_id   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('provided', 'tolerated', 'committed')),
    pages         BIGINT NOT NULL CHECK (pages >= 0),
    due_date      TEXT,
    PRIMARY KEY (approval_code, material_id)
);

CREATE TABLE idempotency_keys (
    key            TEXT PRIMARY KEY,
    request_sha256 TEXT NOT NULL,
    approval_code  TEXT NOT NULL REFERENCES cases (approval_code),
    response       TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

-- Fees and payment -------------------------------------------------------------------------------

CREATE TABLE fee_notices (
    payment_code    TEXT PRIMARY KEY CHECK (length(payment_code) = 20),
    agency          TEXT NOT NULL,
    approval_code   TEXT REFERENCES cases (approval_code),
    payer           TEXT NOT NULL,
    payer_is_person BIGINT NOT NULL CHECK (payer_is_person IN (0, 1)),
    total_fen       BIGINT NOT NULL CHECK (total_fen > 0),
    status          TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'cancelled')),
    receipt_no      TEXT,
    paid_at         TEXT,
    paid_order_id   TEXT,
    CHECK ((status = 'paid') = (paid_order_id IS NOT NULL AND receipt_no IS NOT NULL AND paid_at IS NOT NULL))
);
CREATE INDEX fee_notices_by_case ON fee_notices (approval_code);

CREATE TABLE fee_lines (
    payment_code TEXT NOT NULL REFERENCES fee_notices (payment_code),
    seq          BIGINT NOT NULL,
    name         TEXT NOT NULL,
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (payment_code, seq)
);

CREATE TABLE orders (
    order_id       TEXT PRIMARY KEY,
    payment_code   TEXT NOT NULL REFERENCES fee_notices (payment_code),
    method         TEXT NOT NULL CHECK (method IN ('qr', 'scan')),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'expired')),
    amount_fen     BIGINT NOT NULL CHECK (amount_fen > 0),
    qr_payload     TEXT,
    provider       TEXT NOT NULL,
    provider_state TEXT NOT NULL,
    created_ms     BIGINT NOT NULL,
    expires_ms     BIGINT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    transaction_id TEXT,
    receipt_no     TEXT,
    paid_at        TEXT,
    failure_reason TEXT,
    CHECK ((status = 'paid') = (transaction_id IS NOT NULL AND receipt_no IS NOT NULL AND paid_at IS NOT NULL))
);
CREATE INDEX orders_by_notice ON orders (payment_code, status);

-- A notice is paid at most once: one paid order per notice...
CREATE UNIQUE INDEX orders_one_paid_per_notice ON orders (payment_code) WHERE status = 'paid';

-- ...an order becomes paid only together with its notice, which names it...
CREATE FUNCTION hall_orders_paid_with_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status = 'paid' THEN
        RAISE EXCEPTION 'an order is paid only together with its fee notice';
    END IF;
    IF NEW.status = 'paid' AND (SELECT paid_order_id FROM fee_notices
                                WHERE payment_code = NEW.payment_code) IS DISTINCT FROM NEW.order_id THEN
        RAISE EXCEPTION 'an order is paid only together with its fee notice';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER orders_paid_with_notice BEFORE INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION hall_orders_paid_with_notice();

-- ...and a payment, once recorded, is never undone or repeated.
CREATE FUNCTION hall_paid_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'paid' THEN
        RAISE EXCEPTION 'a paid % cannot change', TG_ARGV[0];
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fee_notices_paid_is_final BEFORE UPDATE ON fee_notices
    FOR EACH ROW EXECUTE FUNCTION hall_paid_is_final('fee notice');
CREATE TRIGGER orders_paid_is_final BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION hall_paid_is_final('order');

-- Staff and audit --------------------------------------------------------------------------------

CREATE TABLE staff_tokens (
    token_sha256 TEXT PRIMARY KEY,
    department   TEXT NOT NULL,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_by_subject ON audit_log (subject);

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION hall_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION hall_audit_append_only();
