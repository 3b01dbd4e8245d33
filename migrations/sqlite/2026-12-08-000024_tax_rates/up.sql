-- The merchant's tax rates. A rate's percentage never changes (invoices keep a copy of what
-- they applied); archiving stops new uses.
CREATE TABLE tax_rates (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    percentage   TEXT NOT NULL,
    inclusive    BOOLEAN NOT NULL,
    country      TEXT,
    description  TEXT,
    active       BOOLEAN NOT NULL,
    created_at   TEXT NOT NULL,
    archived_at  TEXT
);
CREATE INDEX tax_rates_tenant ON tax_rates (tenant_id, id);
-- Who pays tax: the customer's status and own rates; a plan's rates for what billing charges.
ALTER TABLE customers ADD COLUMN tax_exempt TEXT NOT NULL DEFAULT 'none';
ALTER TABLE customers ADD COLUMN tax_rate_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE plans ADD COLUMN tax_rate_ids TEXT NOT NULL DEFAULT '[]';
