-- Alerts customers set on their usage, spend and credit balance, and each firing of one:
-- (alert_id, period) is unique, so an alert fires once per crossing per period whatever
-- races or retries.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    alert_type   TEXT NOT NULL CHECK (alert_type IN ('usage', 'spend', 'credit_balance')),
    feature_key  TEXT,
    currency     TEXT,
    threshold    NUMERIC NOT NULL CHECK (threshold > 0),
    created_by   TEXT NOT NULL CHECK (created_by IN ('customer', 'merchant')),
    created_at   TIMESTAMPTZ NOT NULL,
    triggered_at TIMESTAMPTZ
);
CREATE INDEX alerts_customer ON alerts (tenant_id, customer_id, alert_type);
CREATE INDEX alerts_tenant ON alerts (tenant_id, id);

CREATE TABLE alert_triggers (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    alert_id     TEXT NOT NULL REFERENCES alerts (id),
    period       TEXT NOT NULL,
    value        NUMERIC NOT NULL,
    triggered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (alert_id, period)
);
