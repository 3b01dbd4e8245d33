-- Saved payment methods: records of what a payment provider holds for a customer (its token
-- and display fields), never card numbers.

CREATE TABLE payment_methods (
    id                  TEXT PRIMARY KEY NOT NULL,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    customer_id         TEXT NOT NULL REFERENCES customers (id),
    type                TEXT NOT NULL
        CHECK (type IN ('card', 'sepa_debit', 'bank_transfer', 'upi', 'other')),
    provider            TEXT NOT NULL,
    provider_reference  TEXT NOT NULL,
    brand               TEXT,
    last4               TEXT,
    exp_month           INTEGER CHECK (exp_month BETWEEN 1 AND 12),
    exp_year            INTEGER,
    holder_name         TEXT,
    bank_name           TEXT,
    is_default          BOOLEAN NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('active', 'detached')),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    detached_at         TEXT,
    -- A detached method is never the default.
    CHECK (NOT (is_default AND status = 'detached'))
);
CREATE INDEX payment_methods_customer ON payment_methods (tenant_id, customer_id, id);
-- At most one default per customer, whatever the application does.
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (customer_id) WHERE is_default;
