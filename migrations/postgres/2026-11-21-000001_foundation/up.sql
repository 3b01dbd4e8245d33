-- Exact-decimal helpers with the same names as the functions registered on SQLite connections.
CREATE FUNCTION dec_add(a NUMERIC, b NUMERIC) RETURNS NUMERIC
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT a + b';
CREATE AGGREGATE dec_sum(NUMERIC) (SFUNC = numeric_add, STYPE = NUMERIC);

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL UNIQUE,
    secret_hash   TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    external_id  TEXT,
    name         TEXT NOT NULL,
    email        TEXT,
    phone        TEXT,
    address      TEXT,            -- JSON object
    timezone     TEXT NOT NULL,
    metadata     TEXT NOT NULL,   -- JSON object of strings
    status       TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    archived_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX customers_tenant_external_id ON customers (tenant_id, external_id);
CREATE INDEX customers_tenant_id ON customers (tenant_id, id);
CREATE INDEX customers_tenant_status_id ON customers (tenant_id, status, id);
CREATE INDEX customers_tenant_email ON customers (tenant_id, lower(email));
-- `q` search is a case-insensitive substring match: trigram indexes answer it without a scan.
-- pg_trgm is a trusted extension (the database owner may create it); it lives in `public` so
-- that it is shared by every schema of the database.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE INDEX customers_name_trgm ON customers USING gin (lower(name) public.gin_trgm_ops);
CREATE INDEX customers_email_trgm ON customers USING gin (lower(email) public.gin_trgm_ops);
CREATE INDEX customers_external_id_trgm ON customers USING gin (lower(external_id) public.gin_trgm_ops);

CREATE TABLE idempotency_keys (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    key              TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    locked_at        TIMESTAMPTZ NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
