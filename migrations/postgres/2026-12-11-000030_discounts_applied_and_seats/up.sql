-- Seats: a plan's fixed fee is per unit of a subscription's quantity, within the plan's limits.
ALTER TABLE plans ADD COLUMN quantity_min INTEGER NOT NULL DEFAULT 1;
ALTER TABLE plans ADD COLUMN quantity_max INTEGER;
ALTER TABLE subscriptions ADD COLUMN quantity INTEGER NOT NULL DEFAULT 1;
-- A seat change waiting for the period's end.
ALTER TABLE subscriptions ADD COLUMN pending_quantity INTEGER;
-- The coupon applied to a subscription's invoices, as applied (a JSON document).
ALTER TABLE subscriptions ADD COLUMN discount TEXT;
-- When the account's retention offer was accepted (made once per subscription).
ALTER TABLE subscriptions ADD COLUMN retention_accepted_at TIMESTAMPTZ;
-- What discounts took off an invoice (a JSON list; per line in `lines`).
ALTER TABLE invoices ADD COLUMN discounts TEXT NOT NULL DEFAULT '[]';
