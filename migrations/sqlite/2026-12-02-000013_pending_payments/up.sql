-- Payments through a customer's saved payment method: requested from the portal as `pending`
-- (with the merchant's payment page for it), then confirmed or failed by the merchant.
-- SQLite cannot change a CHECK constraint: the table is rebuilt (its documented procedure, with
-- foreign keys off so refunds keep pointing at `payments`).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE payments_next (
    id                 TEXT PRIMARY KEY NOT NULL,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    invoice_id         TEXT NOT NULL REFERENCES invoices (id),
    customer_id        TEXT NOT NULL REFERENCES customers (id),
    amount             TEXT NOT NULL,
    currency           TEXT NOT NULL,
    method             TEXT NOT NULL CHECK (method IN ('wallet', 'external', 'payment_method')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    wallet_id          TEXT REFERENCES wallets (id),
    credits            TEXT,
    reference          TEXT,
    failure_reason     TEXT,
    amount_refunded    TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    payment_method_id  TEXT REFERENCES payment_methods (id),
    payment_url        TEXT
);
INSERT INTO payments_next (id, tenant_id, invoice_id, customer_id, amount, currency, method,
    status, wallet_id, credits, reference, failure_reason, amount_refunded, created_at)
SELECT id, tenant_id, invoice_id, customer_id, amount, currency, method, status, wallet_id,
    credits, reference, failure_reason, amount_refunded, created_at
FROM payments;
DROP TABLE payments;
ALTER TABLE payments_next RENAME TO payments;
CREATE INDEX payments_tenant ON payments (tenant_id, id);
CREATE INDEX payments_customer ON payments (tenant_id, customer_id, id);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id, id);
-- At most one pending payment per invoice: a second request returns the first.
CREATE UNIQUE INDEX payments_one_pending ON payments (invoice_id) WHERE status = 'pending';
COMMIT;
PRAGMA foreign_keys = ON;
