-- Webhooks. Events are the outbox: written in the transaction of the change they report, then
-- fanned out to the endpoints that want them as deliveries, each attempted on a schedule.
CREATE TABLE webhook_endpoints (
    id                          TEXT PRIMARY KEY NOT NULL,
    tenant_id                   TEXT NOT NULL REFERENCES tenants (id),
    url                         TEXT NOT NULL,
    description                 TEXT,
    -- JSON array of event types; NULL: all.
    event_types                 TEXT,
    status                      TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason             TEXT CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  TEXT,
    failing_since               TEXT,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    type        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    dispatched  BOOLEAN NOT NULL
);
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, id);
CREATE INDEX webhook_events_tenant_created ON webhook_events (tenant_id, created_at);
CREATE INDEX webhook_events_undispatched ON webhook_events (id) WHERE NOT dispatched;

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    event_id         TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id                TEXT PRIMARY KEY NOT NULL,
    delivery_id       TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    attempted_at      TEXT NOT NULL,
    http_status       INTEGER,
    duration_ms       BIGINT NOT NULL,
    response_excerpt  TEXT,
    error             TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
