-- The billing cycle: test clocks, the worker's schedule on each subscription, the key that
-- makes a period invoiced at most once, and the log of what billing did.

CREATE TABLE test_clocks (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT,
    frozen_time  TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX test_clocks_tenant ON test_clocks (tenant_id, id);

ALTER TABLE customers ADD COLUMN test_clock_id TEXT REFERENCES test_clocks (id);

-- What dunning does after the last failed retry.
ALTER TABLE plans ADD COLUMN past_due_action TEXT NOT NULL DEFAULT 'cancel'
    CHECK (past_due_action IN ('cancel', 'leave_unpaid'));

-- Copied from the customer: the worker skips clock-bound subscriptions by index.
ALTER TABLE subscriptions ADD COLUMN test_clock_id TEXT REFERENCES test_clocks (id);
-- The current paid period is [boundary(anchor, i), boundary(anchor, i + 1)).
ALTER TABLE subscriptions ADD COLUMN period_index INTEGER NOT NULL DEFAULT 0;
-- When billing next has something to do for it (period end, dunning retry, retry after a failure).
ALTER TABLE subscriptions ADD COLUMN due_at TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN collection_retry_at TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN dunning_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN billing_retry_at TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN billing_error TEXT;
ALTER TABLE subscriptions ADD COLUMN pending_plan_id TEXT REFERENCES plans (id);
-- JSON array of proration lines waiting for the next renewal invoice.
ALTER TABLE subscriptions ADD COLUMN pending_lines TEXT NOT NULL DEFAULT '[]';
UPDATE subscriptions SET due_at = current_period_end
    WHERE status IN ('trialing', 'active', 'past_due', 'paused');
DROP INDEX subscriptions_due;
CREATE INDEX subscriptions_due ON subscriptions (due_at, id) WHERE due_at IS NOT NULL AND test_clock_id IS NULL;
CREATE INDEX subscriptions_clock_due ON subscriptions (test_clock_id, due_at, id) WHERE test_clock_id IS NOT NULL;

-- A subscription's period is invoiced once: the key (subscription, period start) is unique.
ALTER TABLE invoices ADD COLUMN subscription_id TEXT REFERENCES subscriptions (id);
ALTER TABLE invoices ADD COLUMN billing_period_start TIMESTAMPTZ;
CREATE UNIQUE INDEX invoices_billing_period ON invoices (subscription_id, billing_period_start);

-- One row per subscription period billing handled (or failed to).
CREATE TABLE billing_runs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    subscription_id  TEXT NOT NULL REFERENCES subscriptions (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    kind             TEXT NOT NULL CHECK (kind IN ('renewal', 'collection', 'failure')),
    period_start     TIMESTAMPTZ,
    invoice_id       TEXT REFERENCES invoices (id),
    outcome          TEXT NOT NULL,
    error            TEXT,
    source           TEXT NOT NULL CHECK (source IN ('worker', 'test_clock')),
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX billing_runs_tenant ON billing_runs (tenant_id, id);
CREATE INDEX billing_runs_subscription ON billing_runs (tenant_id, subscription_id, id);
