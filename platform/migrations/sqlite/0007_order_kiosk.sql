-- The kiosk whose credential opened a payment order: only it may follow or cancel the order.
-- Orders opened before kiosks authenticated have none.
ALTER TABLE orders ADD COLUMN kiosk_id TEXT;
