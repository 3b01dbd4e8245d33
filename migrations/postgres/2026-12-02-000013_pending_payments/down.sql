DROP INDEX payments_one_pending;
DELETE FROM payments WHERE status = 'pending' OR method = 'payment_method';
ALTER TABLE payments DROP COLUMN payment_url;
ALTER TABLE payments DROP COLUMN payment_method_id;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments DROP CONSTRAINT payments_method_check;
ALTER TABLE payments ADD CONSTRAINT payments_method_check CHECK (method IN ('wallet', 'external'));
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('succeeded', 'failed'));
