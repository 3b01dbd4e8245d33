CREATE TABLE features (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    key             TEXT NOT NULL,
    name            TEXT NOT NULL,
    unit            TEXT NOT NULL,
    aggregation     TEXT NOT NULL CHECK (aggregation IN ('count', 'sum', 'max')),
    value_property  TEXT,
    unit_price      TEXT NOT NULL,
    currency        TEXT NOT NULL,
    archived        BOOLEAN NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX features_key ON features (tenant_id, key);

CREATE TABLE usage_events (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    event_id     TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    feature_key  TEXT NOT NULL,
    timestamp    TEXT NOT NULL,
    properties   TEXT NOT NULL,   -- JSON object
    quantity     TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
-- The client's dedupe key: a repeat never counts twice.
CREATE UNIQUE INDEX usage_events_event_id ON usage_events (tenant_id, event_id);
CREATE INDEX usage_events_customer ON usage_events (tenant_id, customer_id, id);

-- Kept up to date at ingestion, in the same transaction; analytics read only these.
CREATE TABLE usage_rollups (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    feature_key   TEXT NOT NULL,
    hour          TEXT NOT NULL,
    events        BIGINT NOT NULL,
    quantity_sum  TEXT NOT NULL,
    quantity_max  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, hour, feature_key)
);
