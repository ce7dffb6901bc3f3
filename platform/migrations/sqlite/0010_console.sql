-- The web console (/console/): its users (argon2id PHC strings; a lockout after failed
-- sign-ins), their sessions (the SHA-256 of the cookie's token, the session's form token, an
-- expiry), and who took a kiosk's help call.
CREATE TABLE console_users (
    name            TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('helpdesk', 'manager', 'admin')),
    password_phc    TEXT NOT NULL,
    must_change     BIGINT NOT NULL DEFAULT 0 CHECK (must_change IN (0, 1)),
    failures        BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT,
    created_at      TEXT NOT NULL,
    disabled_at     TEXT
);

CREATE TABLE console_sessions (
    token_sha256 TEXT PRIMARY KEY,
    name         TEXT NOT NULL REFERENCES console_users (name),
    csrf         TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_name ON console_sessions (name);

ALTER TABLE fleet_kiosks ADD COLUMN help_taken_by TEXT;
ALTER TABLE fleet_kiosks ADD COLUMN help_taken_at TEXT;
