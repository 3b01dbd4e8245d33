ALTER TABLE invoices DROP COLUMN amount_credited;
DROP TABLE credit_notes;
