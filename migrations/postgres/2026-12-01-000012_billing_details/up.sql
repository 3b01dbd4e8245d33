-- A customer's billing details (legal name, tax id, billing email and address) as one JSON
-- document; invoices use them before the contact fields.
ALTER TABLE customers ADD COLUMN billing TEXT NOT NULL DEFAULT '{}';
