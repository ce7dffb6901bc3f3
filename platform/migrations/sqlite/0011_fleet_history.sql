-- What happened to each kiosk, kept 90 days: its devices' state when it changed, errors, boots,
-- time offline (a gap in its heartbeats), help calls. Written as heartbeats and calls arrive; the
-- console shows the last seven days.
CREATE TABLE fleet_history (
    kiosk_id TEXT NOT NULL,
    at_ms    BIGINT NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('offline', 'online', 'devices', 'error', 'boot', 'help', 'help_done')),
    detail   TEXT
);
CREATE INDEX fleet_history_by_kiosk ON fleet_history (kiosk_id, at_ms);
