-- Schema version 1 of the hall's reference approval platform.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Counters handed out inside transactions (approval serials, e-receipt numbers).
CREATE TABLE sequences (
    name       TEXT PRIMARY KEY,
    next_value INTEGER NOT NULL
);
-- Serials below 100 are kept for the demo cases.
INSERT INTO sequences (name, next_value) VALUES ('approval_serial', 101), ('receipt', 1);

-- Catalogue --------------------------------------------------------------------------------------

CREATE TABLE items (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    stage           INTEGER NOT NULL CHECK (stage BETWEEN 1 AND 5),
    time_limit_days INTEGER NOT NULL CHECK (time_limit_days >= 0),
    instant         INTEGER NOT NULL CHECK (instant IN (0, 1)),
    fee_note        TEXT
);

CREATE TABLE item_departments (
    item_id         TEXT NOT NULL REFERENCES items (id),
    seq             INTEGER NOT NULL,
    name            TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    time_limit_days INTEGER NOT NULL CHECK (time_limit_days >= 0),
    PRIMARY KEY (item_id, seq)
);

CREATE TABLE item_materials (
    item_id            TEXT NOT NULL REFERENCES items (id),
    seq                INTEGER NOT NULL,
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    name_en            TEXT NOT NULL,
    required           INTEGER NOT NULL CHECK (required IN (0, 1)),
    tolerable          INTEGER NOT NULL CHECK (tolerable IN (0, 1)),
    tolerance_days     INTEGER CHECK (tolerance_days >= 0),
    commitment_allowed INTEGER NOT NULL CHECK (commitment_allowed IN (0, 1)),
    PRIMARY KEY (item_id, id),
    UNIQUE (item_id, seq)
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
    status                   INTEGER NOT NULL CHECK (status BETWEEN 1 AND 15),
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
    kiosk_id                 TEXT
);

-- One node per department that reviews the case.
CREATE TABLE case_nodes (
    approval_code   TEXT NOT NULL REFERENCES cases (approval_code),
    seq             INTEGER NOT NULL,
    department      TEXT NOT NULL,
    department_en   TEXT NOT NULL,
    status          INTEGER NOT NULL CHECK (status BETWEEN 1 AND 15),
    started_at      TEXT,
    due_date        TEXT,
    time_limit_days INTEGER NOT NULL CHECK (time_limit_days >= 0),
    finished_at     TEXT,
    opinion         TEXT,
    PRIMARY KEY (approval_code, seq)
);

CREATE TABLE case_materials (
    approval_code TEXT NOT NULL REFERENCES cases (approval_code),
    material_id   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('provided', 'tolerated', 'committed')),
    pages         INTEGER NOT NULL CHECK (pages >= 0),
    due_date      TEXT,
    PRIMARY KEY (approval_code, material_id)
);

-- The first answer to each idempotency key; only a hash of the request is kept.
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
    payer_is_person INTEGER NOT NULL CHECK (payer_is_person IN (0, 1)),
    total_fen       INTEGER NOT NULL CHECK (total_fen > 0),
    status          TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'cancelled')),
    receipt_no      TEXT,
    paid_at         TEXT,
    -- The one order that paid it.
    paid_order_id   TEXT,
    CHECK ((status = 'paid') = (paid_order_id IS NOT NULL AND receipt_no IS NOT NULL AND paid_at IS NOT NULL))
);

CREATE TABLE fee_lines (
    payment_code TEXT NOT NULL REFERENCES fee_notices (payment_code),
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (payment_code, seq)
);

CREATE TABLE orders (
    order_id       TEXT PRIMARY KEY,
    payment_code   TEXT NOT NULL REFERENCES fee_notices (payment_code),
    method         TEXT NOT NULL CHECK (method IN ('qr', 'scan')),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'expired')),
    amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
    qr_payload     TEXT,
    provider       TEXT NOT NULL,
    provider_state TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL,
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
CREATE TRIGGER orders_paid_with_notice
BEFORE UPDATE OF status ON orders
WHEN NEW.status = 'paid'
  AND (SELECT paid_order_id FROM fee_notices WHERE payment_code = NEW.payment_code) IS NOT NEW.order_id
BEGIN
    SELECT RAISE(ABORT, 'an order is paid only together with its fee notice');
END;

CREATE TRIGGER orders_inserted_paid
BEFORE INSERT ON orders
WHEN NEW.status = 'paid'
BEGIN
    SELECT RAISE(ABORT, 'an order is paid only together with its fee notice');
END;

-- ...and a payment, once recorded, is never undone or repeated.
CREATE TRIGGER fee_notices_paid_is_final
BEFORE UPDATE ON fee_notices
WHEN OLD.status = 'paid'
BEGIN
    SELECT RAISE(ABORT, 'a paid fee notice cannot change');
END;

CREATE TRIGGER orders_paid_is_final
BEFORE UPDATE ON orders
WHEN OLD.status = 'paid'
BEGIN
    SELECT RAISE(ABORT, 'a paid order cannot change');
END;
