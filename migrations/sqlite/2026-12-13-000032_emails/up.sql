-- The e-mail outbox: one row per message, written in the transaction of the change it
-- reports; (source, recipient) is unique, so one change never makes two messages for one
-- address. A claim moves next_attempt_at to the end of the claiming node's lease.
CREATE TABLE emails (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    customer_id      TEXT REFERENCES customers (id),
    kind             TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    source           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'not_configured')),
    attempts         INTEGER NOT NULL,
    last_error       TEXT,
    next_attempt_at  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    sent_at          TEXT,
    content          TEXT NOT NULL,
    UNIQUE (tenant_id, source, recipient)
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'queued';
CREATE INDEX emails_tenant ON emails (tenant_id, id);
CREATE INDEX emails_customer ON emails (tenant_id, customer_id, id);
