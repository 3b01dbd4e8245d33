-- Who an invoice is addressed to, kept when it is issued (JSON: legal name, tax ids, email,
-- address), and when those details were corrected (once). Invoices issued before keep NULL and
-- print the customer's current details.
ALTER TABLE invoices ADD COLUMN bill_to TEXT;
ALTER TABLE invoices ADD COLUMN revised_at TIMESTAMPTZ;
