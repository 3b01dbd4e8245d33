CREATE TABLE subscriptions (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    customer_id           TEXT NOT NULL REFERENCES customers (id),
    plan_id               TEXT NOT NULL REFERENCES plans (id),
    status                TEXT NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'paused', 'canceled', 'ended')),
    billing_anchor        TEXT NOT NULL CHECK (billing_anchor IN ('anniversary', 'calendar')),
    collection            TEXT NOT NULL CHECK (collection IN ('wallet', 'send_invoice')),
    anchor_at             TEXT NOT NULL,
    billing_interval      TEXT NOT NULL CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
    interval_count        INTEGER NOT NULL CHECK (interval_count > 0),
    started_at            TEXT NOT NULL,
    current_period_start  TEXT NOT NULL,
    current_period_end    TEXT NOT NULL,
    trial_end             TEXT,
    cancel_at_period_end  BOOLEAN NOT NULL,
    canceled_at           TEXT,
    ended_at              TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id, id);
CREATE INDEX subscriptions_due ON subscriptions (current_period_end) WHERE status IN ('trialing', 'active', 'past_due');
