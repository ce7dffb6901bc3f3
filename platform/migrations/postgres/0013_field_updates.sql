-- Field updates: the releases the platform stores (a RAUC bundle in the releases directory and
-- what its release script published beside it), their rollouts to a kiosk or a share of a hall,
-- each kiosk's state in a rollout and every change of it, and the system each kiosk last reported.
CREATE TABLE releases (
    version     TEXT PRIMARY KEY,
    compatible  TEXT NOT NULL,
    root_sha256 TEXT NOT NULL,
    bundle      TEXT NOT NULL,
    size        BIGINT NOT NULL CHECK (size > 0),
    sha256      TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL
);

CREATE TABLE rollouts (
    id               TEXT PRIMARY KEY,
    release          TEXT NOT NULL REFERENCES releases (version),
    kiosk_id         TEXT,
    hall             TEXT,
    percent          BIGINT NOT NULL CHECK (percent BETWEEN 1 AND 100),
    stop_on_failure  BIGINT NOT NULL CHECK (stop_on_failure IN (0, 1)),
    state            TEXT NOT NULL CHECK (state IN ('running', 'stopped')),
    stop_reason      TEXT,
    stopped_by_kiosk TEXT,
    started_at       TEXT NOT NULL,
    started_ms       BIGINT NOT NULL,
    started_by       TEXT NOT NULL,
    CHECK ((kiosk_id IS NULL) <> (hall IS NULL))
);
CREATE INDEX rollouts_running ON rollouts (state, started_ms);

-- Where each kiosk offered a rollout stands ('offered' until it reports), and what it reported
-- of the release when it was offered (a state left from an earlier rollout, not news of this one).
CREATE TABLE rollout_kiosks (
    rollout_id   TEXT NOT NULL REFERENCES rollouts (id),
    kiosk_id     TEXT NOT NULL,
    state        TEXT NOT NULL,
    percent      BIGINT,
    reason       TEXT,
    since        TEXT NOT NULL,
    since_ms     BIGINT NOT NULL,
    offered_over TEXT,
    PRIMARY KEY (rollout_id, kiosk_id)
);
CREATE INDEX rollout_kiosks_by_kiosk ON rollout_kiosks (kiosk_id);

-- Every change of a kiosk's state in a rollout, with its time.
CREATE TABLE rollout_events (
    rollout_id TEXT NOT NULL,
    kiosk_id   TEXT NOT NULL,
    state      TEXT NOT NULL,
    reason     TEXT,
    at         TEXT NOT NULL,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX rollout_events_by_rollout ON rollout_events (rollout_id, at_ms);

ALTER TABLE fleet_kiosks ADD COLUMN os_version TEXT;
ALTER TABLE fleet_kiosks ADD COLUMN slot TEXT;
ALTER TABLE fleet_kiosks ADD COLUMN compatible TEXT;
ALTER TABLE fleet_kiosks ADD COLUMN root_sha256 TEXT;
ALTER TABLE fleet_kiosks ADD COLUMN update_state TEXT;
