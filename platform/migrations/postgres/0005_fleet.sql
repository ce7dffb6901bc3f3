-- Fleet control: kiosks with their credentials and last heartbeat, one-time enrolment tokens,
-- help-desk and admin tokens, and the commands the help desk sends to kiosks. Tokens and
-- credentials are stored as SHA-256 only.
CREATE TABLE fleet_kiosks (
    kiosk_id          TEXT PRIMARY KEY,
    hall              TEXT NOT NULL,
    credential_sha256 TEXT UNIQUE,
    enrolled_at       TEXT,
    revoked_at        TEXT,
    last_seen_ms      BIGINT,
    last_seen_at      TEXT,
    version           TEXT,
    uptime_secs       BIGINT,
    boot_id           TEXT,
    devices           TEXT,
    in_use            BIGINT NOT NULL DEFAULT 0 CHECK (in_use IN (0, 1)),
    last_error        TEXT,
    help_since        TEXT,
    help_note         TEXT
);
CREATE INDEX fleet_kiosks_by_hall ON fleet_kiosks (hall);

CREATE TABLE fleet_enrol_tokens (
    token_sha256 TEXT PRIMARY KEY,
    kiosk_id     TEXT NOT NULL,
    hall         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    used_at      TEXT
);

CREATE TABLE fleet_tokens (
    token_sha256 TEXT PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('helpdesk', 'admin')),
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE TABLE fleet_commands (
    id           TEXT PRIMARY KEY,
    kiosk_id     TEXT NOT NULL REFERENCES fleet_kiosks (kiosk_id),
    kind         TEXT NOT NULL CHECK (kind IN ('restart_app', 'reboot', 'identify')),
    force        BIGINT NOT NULL CHECK (force IN (0, 1)),
    issued_by    TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    issued_ms    BIGINT NOT NULL,
    expires_at   TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'done', 'failed', 'expired')),
    delivered_at TEXT,
    acked_at     TEXT,
    result       TEXT
);
CREATE INDEX fleet_commands_by_kiosk ON fleet_commands (kiosk_id, status, issued_ms);
