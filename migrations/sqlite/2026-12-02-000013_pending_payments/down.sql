PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DELETE FROM payments WHERE status = 'pending' OR method = 'payment_method';
CREATE TABLE payments_prev (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    invoice_id       TEXT NOT NULL REFERENCES invoices (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    amount           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    method           TEXT NOT NULL CHECK (method IN ('wallet', 'external')),
    status           TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    wallet_id        TEXT REFERENCES wallets (id),
    credits          TEXT,
    reference        TEXT,
    failure_reason   TEXT,
    amount_refunded  TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
INSERT INTO payments_prev SELECT id, tenant_id, invoice_id, customer_id, amount, currency, method,
    status, wallet_id, credits, reference, failure_reason, amount_refunded, created_at FROM payments;
DROP TABLE payments;
ALTER TABLE payments_prev RENAME TO payments;
CREATE INDEX payments_tenant ON payments (tenant_id, id);
CREATE INDEX payments_customer ON payments (tenant_id, customer_id, id);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id, id);
COMMIT;
PRAGMA foreign_keys = ON;
