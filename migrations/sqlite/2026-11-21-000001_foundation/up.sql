-- Money columns are canonical decimal TEXT and timestamps fixed-width RFC 3339 TEXT
-- (see storage/src/sql_types.rs). dec_add/dec_sum are registered on every connection.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL UNIQUE,
    secret_hash   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    external_id  TEXT,
    name         TEXT NOT NULL,
    email        TEXT,
    phone        TEXT,
    address      TEXT,
    timezone     TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    archived_at  TEXT
);
CREATE UNIQUE INDEX customers_tenant_external_id ON customers (tenant_id, external_id);
CREATE INDEX customers_tenant_id ON customers (tenant_id, id);
CREATE INDEX customers_tenant_status_id ON customers (tenant_id, status, id);
CREATE INDEX customers_tenant_email ON customers (tenant_id, lower(email));

CREATE TABLE idempotency_keys (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    key              TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    locked_at        TEXT NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
