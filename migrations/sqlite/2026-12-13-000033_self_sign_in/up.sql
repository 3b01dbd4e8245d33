-- A session a customer opened by signing in with their e-mail (self sign-in) has no API key
-- behind it. SQLite cannot drop NOT NULL from a column: the table is rebuilt (no table
-- references it).
CREATE TABLE portal_sessions_new (
    id                     TEXT PRIMARY KEY NOT NULL,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    customer_id            TEXT NOT NULL REFERENCES customers (id),
    mode                   TEXT NOT NULL CHECK (mode IN ('customer', 'admin_preview')),
    return_url             TEXT,
    sections               TEXT NOT NULL,   -- JSON
    permissions            TEXT NOT NULL,   -- JSON
    created_at             TEXT NOT NULL,
    expires_at             TEXT NOT NULL,
    idle_timeout_seconds   BIGINT,
    last_seen_at           TEXT NOT NULL,
    ended_at               TEXT,
    end_reason             TEXT CHECK (end_reason IN ('revoked', 'superseded', 'logged_out')),
    created_by_key_id      TEXT REFERENCES api_keys (id),
    login_code_hash        TEXT NOT NULL UNIQUE,
    login_code_expires_at  TEXT NOT NULL,
    login_code_used_at     TEXT
);
INSERT INTO portal_sessions_new SELECT * FROM portal_sessions;
DROP TABLE portal_sessions;
ALTER TABLE portal_sessions_new RENAME TO portal_sessions;
CREATE INDEX portal_sessions_customer ON portal_sessions (tenant_id, customer_id, id);
