CREATE TABLE payments (
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
CREATE INDEX payments_tenant ON payments (tenant_id, id);
CREATE INDEX payments_customer ON payments (tenant_id, customer_id, id);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id, id);

CREATE TABLE refunds (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    invoice_id  TEXT NOT NULL REFERENCES invoices (id),
    amount      TEXT NOT NULL,
    credits     TEXT,
    reason      TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (tenant_id, payment_id, id);
