-- Coupons: a percentage or an amount in one currency off a subscription's invoices, for one,
-- several or every billing period.
CREATE TABLE coupons (
    id                   TEXT PRIMARY KEY NOT NULL,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    name                 TEXT NOT NULL,
    percent_off          TEXT,
    amount_off           TEXT,
    currency             TEXT,
    duration             TEXT NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
    duration_in_periods  INTEGER,
    max_redemptions      BIGINT,
    times_redeemed       BIGINT NOT NULL DEFAULT 0
        CHECK (times_redeemed >= 0 AND (max_redemptions IS NULL OR times_redeemed <= max_redemptions)),
    redeem_by            TEXT,
    plan_codes           TEXT NOT NULL DEFAULT '[]',
    active               BOOLEAN NOT NULL,
    created_at           TEXT NOT NULL,
    archived_at          TEXT,
    CHECK ((percent_off IS NULL) <> (amount_off IS NULL))
);
CREATE INDEX coupons_tenant ON coupons (tenant_id, id);
-- What customers type: unique per account whatever the case (`code_key` is the lower case).
CREATE TABLE promotion_codes (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    coupon_id        TEXT NOT NULL REFERENCES coupons (id),
    code             TEXT NOT NULL,
    code_key         TEXT NOT NULL,
    max_redemptions  BIGINT,
    times_redeemed   BIGINT NOT NULL DEFAULT 0
        CHECK (times_redeemed >= 0 AND (max_redemptions IS NULL OR times_redeemed <= max_redemptions)),
    expires_at       TEXT,
    customer_id      TEXT REFERENCES customers (id),
    first_time_only  BOOLEAN NOT NULL,
    active           BOOLEAN NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX promotion_codes_code ON promotion_codes (tenant_id, code_key);
CREATE INDEX promotion_codes_tenant ON promotion_codes (tenant_id, id);
