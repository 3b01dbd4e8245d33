-- Guest sessions: a portal session without a customer (a pricing or checkout page). Its own
-- table, so a customer session's row always has its customer.
CREATE TABLE guest_sessions (
    id                     TEXT PRIMARY KEY NOT NULL,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    return_url             TEXT,
    created_at             TEXT NOT NULL,
    expires_at             TEXT NOT NULL,
    ended_at               TEXT,
    end_reason             TEXT CHECK (end_reason IN ('revoked', 'logged_out')),
    created_by_key_id      TEXT NOT NULL REFERENCES api_keys (id),
    login_code_hash        TEXT NOT NULL UNIQUE,
    login_code_expires_at  TEXT NOT NULL,
    login_code_used_at     TEXT
);
