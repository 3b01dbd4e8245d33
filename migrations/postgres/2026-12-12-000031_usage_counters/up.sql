-- Running totals of a customer's use of a feature over a period (a subscription's billing
-- period, or a calendar month without one), kept in the transaction that accepts each event:
-- an entitlement check reads one row per feature. Existing data is counted in by the server
-- right after this migration (decimals are summed exactly in the application).
CREATE TABLE usage_counters (
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    feature_key TEXT NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ NOT NULL,
    events BIGINT NOT NULL,
    quantity_sum NUMERIC NOT NULL,
    quantity_max NUMERIC NOT NULL,
    -- When a consume was first refused by a hard limit in the period (reported once).
    limit_reached_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, customer_id, period_start, feature_key)
);
