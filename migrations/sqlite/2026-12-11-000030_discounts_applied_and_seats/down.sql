ALTER TABLE invoices DROP COLUMN discounts;
ALTER TABLE subscriptions DROP COLUMN retention_accepted_at;
ALTER TABLE subscriptions DROP COLUMN discount;
ALTER TABLE subscriptions DROP COLUMN pending_quantity;
ALTER TABLE subscriptions DROP COLUMN quantity;
ALTER TABLE plans DROP COLUMN quantity_max;
ALTER TABLE plans DROP COLUMN quantity_min;
