CREATE TABLE plans (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    code              TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT,
    currency          TEXT NOT NULL,
    billing_interval  TEXT NOT NULL CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
    interval_count    INTEGER NOT NULL CHECK (interval_count > 0),
    amount            TEXT NOT NULL,
    trial_days        INTEGER NOT NULL CHECK (trial_days >= 0),
    charges           TEXT NOT NULL,   -- JSON array
    entitlements      TEXT NOT NULL,   -- JSON array
    visibility        TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    status            TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX plans_code ON plans (tenant_id, code);
CREATE INDEX plans_catalogue ON plans (tenant_id, status, visibility, id);
