CREATE TABLE invoices (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    number          TEXT,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'finalized', 'voided')),
    payment_status  TEXT NOT NULL CHECK (payment_status IN ('unpaid', 'partially_paid', 'paid', 'refunded')),
    currency        TEXT NOT NULL,
    memo            TEXT,
    lines           TEXT NOT NULL,   -- JSON array of line items
    subtotal        TEXT NOT NULL,
    total           TEXT NOT NULL,
    -- total in minor units (exact integer), for amount range filters
    total_minor     BIGINT NOT NULL,
    amount_paid     TEXT NOT NULL,
    due_at          TEXT,
    issued_at       TEXT,
    voided_at       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, number);
CREATE INDEX invoices_tenant ON invoices (tenant_id, id);
CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id, id);

-- Last number given per account and month: taken in the finalizing transaction, so gapless.
CREATE TABLE invoice_counters (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    period       TEXT NOT NULL,
    last_number  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, period)
);
