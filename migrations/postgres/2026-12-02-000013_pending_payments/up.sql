-- Payments through a customer's saved payment method: requested from the portal as `pending`
-- (with the merchant's payment page for it), then confirmed or failed by the merchant.
ALTER TABLE payments DROP CONSTRAINT payments_method_check;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_method_check
    CHECK (method IN ('wallet', 'external', 'payment_method'));
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'succeeded', 'failed'));
ALTER TABLE payments ADD COLUMN payment_method_id TEXT REFERENCES payment_methods (id);
ALTER TABLE payments ADD COLUMN payment_url TEXT;
-- At most one pending payment per invoice: a second request returns the first.
CREATE UNIQUE INDEX payments_one_pending ON payments (invoice_id) WHERE status = 'pending';
