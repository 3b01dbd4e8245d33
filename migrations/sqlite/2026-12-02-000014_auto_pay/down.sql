ALTER TABLE customers DROP COLUMN auto_pay;
