ALTER TABLE invoices DROP COLUMN revised_at;
ALTER TABLE invoices DROP COLUMN bill_to;
