CREATE TABLE portal_sessions (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    customer_id            TEXT NOT NULL REFERENCES customers (id),
    mode                   TEXT NOT NULL CHECK (mode IN ('customer', 'admin_preview')),
    return_url             TEXT,
    sections               TEXT NOT NULL,   -- JSON
    permissions            TEXT NOT NULL,   -- JSON
    created_at             TIMESTAMPTZ NOT NULL,
    expires_at             TIMESTAMPTZ NOT NULL,
    idle_timeout_seconds   BIGINT,
    last_seen_at           TIMESTAMPTZ NOT NULL,
    ended_at               TIMESTAMPTZ,
    end_reason             TEXT CHECK (end_reason IN ('revoked', 'superseded', 'logged_out')),
    created_by_key_id      TEXT NOT NULL REFERENCES api_keys (id),
    login_code_hash        TEXT NOT NULL UNIQUE,
    login_code_expires_at  TIMESTAMPTZ NOT NULL,
    login_code_used_at     TIMESTAMPTZ
);
CREATE INDEX portal_sessions_customer ON portal_sessions (tenant_id, customer_id, id);

CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    occurred_at  TIMESTAMPTZ NOT NULL,
    action       TEXT NOT NULL,
    actor        TEXT NOT NULL,
    customer_id  TEXT,
    session_id   TEXT,
    details      TEXT NOT NULL    -- JSON object
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_customer ON audit_events (tenant_id, customer_id, id);
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, id);
