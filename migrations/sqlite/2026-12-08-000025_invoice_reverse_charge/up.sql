-- An invoice to a reverse-charge customer carries no tax and says the buyer accounts for it;
-- kept on the invoice, as issued, whatever the customer's status becomes later.
ALTER TABLE invoices ADD COLUMN reverse_charge BOOLEAN NOT NULL DEFAULT false;
