ALTER TABLE invoices DROP COLUMN reverse_charge;
