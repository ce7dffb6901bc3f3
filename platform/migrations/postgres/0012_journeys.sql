-- What people did at the kiosks, for the hall manager's dashboard: journey events (started, a
-- step shown, finished, abandoned at a step, rated: 政务服务"好差评"), nothing personal. An event's
-- id is the kiosk's, so a redelivery from its outbox counts once. The hall is the kiosk's when the
-- event arrived. Kept 400 days (a year's comparison), forgotten as new ones arrive.
CREATE TABLE journey_events (
    kiosk_id    TEXT NOT NULL,
    id          TEXT NOT NULL,
    hall        TEXT NOT NULL,
    journey     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('submission', 'lookup', 'payment')),
    event       TEXT NOT NULL CHECK (event IN ('started', 'step', 'finished', 'abandoned', 'rated')),
    step        TEXT,
    rating      BIGINT CHECK (rating BETWEEN 1 AND 5),
    reason      TEXT,
    timed_out   BIGINT NOT NULL DEFAULT 0 CHECK (timed_out IN (0, 1)),
    at          TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, id)
);
CREATE INDEX journey_events_started ON journey_events (event, at);
CREATE INDEX journey_events_by_journey ON journey_events (kiosk_id, journey);
CREATE INDEX journey_events_by_age ON journey_events (kiosk_id, at_ms);
