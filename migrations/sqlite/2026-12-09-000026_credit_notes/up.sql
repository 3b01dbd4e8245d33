-- Credit notes: the one way to correct an issued invoice. Numbers are gapless per account and
-- month, taken from invoice_counters under their own key (`CNYYYYMM`).
CREATE TABLE credit_notes (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    invoice_id   TEXT NOT NULL REFERENCES invoices (id),
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    number       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('issued', 'voided')),
    reason       TEXT NOT NULL,
    memo         TEXT,
    refund_to    TEXT NOT NULL CHECK (refund_to IN ('none', 'wallet', 'payment')),
    lines        TEXT NOT NULL,
    tax_amounts  TEXT NOT NULL,
    subtotal     TEXT NOT NULL,
    total_tax    TEXT NOT NULL,
    total        TEXT NOT NULL,
    wallet_id    TEXT REFERENCES wallets (id),
    credits      TEXT,
    refund_ids   TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    voided_at    TEXT
);
CREATE UNIQUE INDEX credit_notes_number ON credit_notes (tenant_id, number);
CREATE INDEX credit_notes_invoice ON credit_notes (tenant_id, invoice_id, id);
CREATE INDEX credit_notes_customer ON credit_notes (tenant_id, customer_id, id);
CREATE INDEX credit_notes_tenant ON credit_notes (tenant_id, id);
-- What the invoice's issued credit notes took off it: amount_paid + amount_credited <= total.
ALTER TABLE invoices ADD COLUMN amount_credited TEXT NOT NULL DEFAULT '0';
