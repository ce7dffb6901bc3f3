-- The kiosk's latest command poll. A kiosk that restarts leaves its old long-poll waiting on a
-- connection no one reads; only the newest poll of a kiosk may take a command, so that none is
-- handed to a process that is gone.
ALTER TABLE fleet_kiosks ADD COLUMN poll_id TEXT;
