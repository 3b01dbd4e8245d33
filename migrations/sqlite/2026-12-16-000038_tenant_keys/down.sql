-- Back to keys on (id) alone: each table is rebuilt in its earlier shape.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- alert_triggers
CREATE TABLE alert_triggers__new (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    period TEXT NOT NULL,
    value TEXT NOT NULL,
    triggered_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, period)
);
INSERT INTO alert_triggers__new (tenant_id, alert_id, period, value, triggered_at) SELECT tenant_id, alert_id, period, value, triggered_at FROM alert_triggers;
DROP TABLE alert_triggers;
ALTER TABLE alert_triggers__new RENAME TO alert_triggers;

-- alerts
CREATE TABLE alerts__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    alert_type TEXT NOT NULL CHECK (alert_type IN ('usage', 'spend', 'credit_balance')),
    feature_key TEXT,
    currency TEXT,
    threshold TEXT NOT NULL,
    created_by TEXT NOT NULL CHECK (created_by IN ('customer', 'merchant')),
    created_at TEXT NOT NULL,
    triggered_at TEXT
);
INSERT INTO alerts__new (id, tenant_id, customer_id, alert_type, feature_key, currency, threshold, created_by, created_at, triggered_at) SELECT id, tenant_id, customer_id, alert_type, feature_key, currency, threshold, created_by, created_at, triggered_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts__new RENAME TO alerts;
CREATE INDEX alerts_customer ON alerts (tenant_id, customer_id, alert_type);
CREATE INDEX alerts_tenant ON alerts (tenant_id, id);

-- api_keys
CREATE TABLE api_keys__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
INSERT INTO api_keys__new (id, tenant_id, name, prefix, secret_hash, created_at, last_used_at, revoked_at) SELECT id, tenant_id, name, prefix, secret_hash, created_at, last_used_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys__new RENAME TO api_keys;
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

-- audit_events
CREATE TABLE audit_events__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    occurred_at TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    customer_id TEXT,
    session_id TEXT,
    details TEXT NOT NULL
);
INSERT INTO audit_events__new (id, tenant_id, occurred_at, action, actor, customer_id, session_id, details) SELECT id, tenant_id, occurred_at, action, actor, customer_id, session_id, details FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events__new RENAME TO audit_events;
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, id);
CREATE INDEX audit_events_customer ON audit_events (tenant_id, customer_id, id);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);

-- billing_runs
CREATE TABLE billing_runs__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    kind TEXT NOT NULL CHECK (kind IN ('renewal', 'collection', 'failure')),
    period_start TEXT,
    invoice_id TEXT REFERENCES invoices (id),
    outcome TEXT NOT NULL,
    error TEXT,
    source TEXT NOT NULL CHECK (source IN ('worker', 'test_clock')),
    created_at TEXT NOT NULL
);
INSERT INTO billing_runs__new (id, tenant_id, subscription_id, customer_id, kind, period_start, invoice_id, outcome, error, source, created_at) SELECT id, tenant_id, subscription_id, customer_id, kind, period_start, invoice_id, outcome, error, source, created_at FROM billing_runs;
DROP TABLE billing_runs;
ALTER TABLE billing_runs__new RENAME TO billing_runs;
CREATE INDEX billing_runs_subscription ON billing_runs (tenant_id, subscription_id, id);
CREATE INDEX billing_runs_tenant ON billing_runs (tenant_id, id);

-- coupons
CREATE TABLE coupons__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    percent_off TEXT,
    amount_off TEXT,
    currency TEXT,
    duration TEXT NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
    duration_in_periods INTEGER,
    max_redemptions BIGINT,
    times_redeemed BIGINT NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0 AND (max_redemptions IS NULL OR times_redeemed <= max_redemptions)),
    redeem_by TEXT,
    plan_codes TEXT NOT NULL DEFAULT '[]',
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    archived_at TEXT,
    CHECK ((percent_off IS NULL) <> (amount_off IS NULL))
);
INSERT INTO coupons__new (id, tenant_id, name, percent_off, amount_off, currency, duration, duration_in_periods, max_redemptions, times_redeemed, redeem_by, plan_codes, active, created_at, archived_at) SELECT id, tenant_id, name, percent_off, amount_off, currency, duration, duration_in_periods, max_redemptions, times_redeemed, redeem_by, plan_codes, active, created_at, archived_at FROM coupons;
DROP TABLE coupons;
ALTER TABLE coupons__new RENAME TO coupons;
CREATE INDEX coupons_tenant ON coupons (tenant_id, id);

-- credit_lots
CREATE TABLE credit_lots__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    wallet_id TEXT NOT NULL REFERENCES wallets (id),
    kind TEXT NOT NULL CHECK (kind IN ('purchased', 'promotional')),
    priority INTEGER NOT NULL,
    granted TEXT NOT NULL,
    available TEXT NOT NULL CHECK (available NOT LIKE '-%'),
    expires_at TEXT,
    created_at TEXT NOT NULL
);
INSERT INTO credit_lots__new (id, tenant_id, wallet_id, kind, priority, granted, available, expires_at, created_at) SELECT id, tenant_id, wallet_id, kind, priority, granted, available, expires_at, created_at FROM credit_lots;
DROP TABLE credit_lots;
ALTER TABLE credit_lots__new RENAME TO credit_lots;
CREATE INDEX credit_lots_draw ON credit_lots
    (wallet_id, priority, (expires_at IS NULL), expires_at, created_at, id) WHERE available <> 0;
CREATE INDEX credit_lots_expiring ON credit_lots
    (wallet_id, expires_at, id) WHERE available <> 0 AND expires_at IS NOT NULL;

-- credit_notes
CREATE TABLE credit_notes__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    number TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('issued', 'voided')),
    reason TEXT NOT NULL,
    memo TEXT,
    refund_to TEXT NOT NULL CHECK (refund_to IN ('none', 'wallet', 'payment')),
    lines TEXT NOT NULL,
    tax_amounts TEXT NOT NULL,
    subtotal TEXT NOT NULL,
    total_tax TEXT NOT NULL,
    total TEXT NOT NULL,
    wallet_id TEXT REFERENCES wallets (id),
    credits TEXT,
    refund_ids TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    voided_at TEXT
);
INSERT INTO credit_notes__new (id, tenant_id, invoice_id, customer_id, number, currency, status, reason, memo, refund_to, lines, tax_amounts, subtotal, total_tax, total, wallet_id, credits, refund_ids, created_at, voided_at) SELECT id, tenant_id, invoice_id, customer_id, number, currency, status, reason, memo, refund_to, lines, tax_amounts, subtotal, total_tax, total, wallet_id, credits, refund_ids, created_at, voided_at FROM credit_notes;
DROP TABLE credit_notes;
ALTER TABLE credit_notes__new RENAME TO credit_notes;
CREATE INDEX credit_notes_customer ON credit_notes (tenant_id, customer_id, id);
CREATE INDEX credit_notes_invoice ON credit_notes (tenant_id, invoice_id, id);
CREATE UNIQUE INDEX credit_notes_number ON credit_notes (tenant_id, number);
CREATE INDEX credit_notes_tenant ON credit_notes (tenant_id, id);

-- customers
CREATE TABLE customers__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    external_id TEXT,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    address TEXT,
    timezone TEXT NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT,
    test_clock_id TEXT REFERENCES test_clocks (id),
    billing TEXT NOT NULL DEFAULT '{}',
    auto_pay BOOLEAN NOT NULL DEFAULT 0,
    tax_exempt TEXT NOT NULL DEFAULT 'none',
    tax_rate_ids TEXT NOT NULL DEFAULT '[]',
    locale TEXT
);
INSERT INTO customers__new (rowid, id, tenant_id, external_id, name, email, phone, address, timezone, metadata, status, created_at, updated_at, archived_at, test_clock_id, billing, auto_pay, tax_exempt, tax_rate_ids, locale) SELECT rowid, id, tenant_id, external_id, name, email, phone, address, timezone, metadata, status, created_at, updated_at, archived_at, test_clock_id, billing, auto_pay, tax_exempt, tax_rate_ids, locale FROM customers;
DROP TABLE customers;
ALTER TABLE customers__new RENAME TO customers;
CREATE INDEX customers_tenant_email ON customers (tenant_id, lower(email));
CREATE UNIQUE INDEX customers_tenant_external_id ON customers (tenant_id, external_id);
CREATE INDEX customers_tenant_id ON customers (tenant_id, id);
CREATE INDEX customers_tenant_status_id ON customers (tenant_id, status, id);
CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_search (customers_search, rowid, name, email, external_id)
        VALUES ('delete', old.rowid, old.name, old.email, old.external_id);
END;
CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_search (rowid, name, email, external_id)
        VALUES (new.rowid, new.name, new.email, new.external_id);
END;
CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email, external_id ON customers BEGIN
    INSERT INTO customers_search (customers_search, rowid, name, email, external_id)
        VALUES ('delete', old.rowid, old.name, old.email, old.external_id);
    INSERT INTO customers_search (rowid, name, email, external_id)
        VALUES (new.rowid, new.name, new.email, new.external_id);
END;
INSERT INTO customers_search (customers_search) VALUES ('rebuild');

-- emails
CREATE TABLE emails__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT REFERENCES customers (id),
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'not_configured')),
    attempts INTEGER NOT NULL,
    last_error TEXT,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT,
    content TEXT NOT NULL,
    UNIQUE (tenant_id, source, recipient)
);
INSERT INTO emails__new (id, tenant_id, customer_id, kind, recipient, subject, source, status, attempts, last_error, next_attempt_at, created_at, updated_at, sent_at, content) SELECT id, tenant_id, customer_id, kind, recipient, subject, source, status, attempts, last_error, next_attempt_at, created_at, updated_at, sent_at, content FROM emails;
DROP TABLE emails;
ALTER TABLE emails__new RENAME TO emails;
CREATE INDEX emails_customer ON emails (tenant_id, customer_id, id);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'queued';
CREATE INDEX emails_tenant ON emails (tenant_id, id);

-- features
CREATE TABLE features__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    aggregation TEXT NOT NULL CHECK (aggregation IN ('count', 'sum', 'max')),
    value_property TEXT,
    unit_price TEXT NOT NULL,
    currency TEXT NOT NULL,
    archived BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO features__new (id, tenant_id, key, name, unit, aggregation, value_property, unit_price, currency, archived, created_at, updated_at) SELECT id, tenant_id, key, name, unit, aggregation, value_property, unit_price, currency, archived, created_at, updated_at FROM features;
DROP TABLE features;
ALTER TABLE features__new RENAME TO features;
CREATE UNIQUE INDEX features_key ON features (tenant_id, key);

-- guest_sessions
CREATE TABLE guest_sessions__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    return_url TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT CHECK (end_reason IN ('revoked', 'logged_out')),
    created_by_key_id TEXT NOT NULL REFERENCES api_keys (id),
    login_code_hash TEXT NOT NULL UNIQUE,
    login_code_expires_at TEXT NOT NULL,
    login_code_used_at TEXT
);
INSERT INTO guest_sessions__new (id, tenant_id, return_url, created_at, expires_at, ended_at, end_reason, created_by_key_id, login_code_hash, login_code_expires_at, login_code_used_at) SELECT id, tenant_id, return_url, created_at, expires_at, ended_at, end_reason, created_by_key_id, login_code_hash, login_code_expires_at, login_code_used_at FROM guest_sessions;
DROP TABLE guest_sessions;
ALTER TABLE guest_sessions__new RENAME TO guest_sessions;

-- invoices
CREATE TABLE invoices__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    number TEXT,
    status TEXT NOT NULL CHECK (status IN ('draft', 'finalized', 'voided')),
    payment_status TEXT NOT NULL CHECK (payment_status IN ('unpaid', 'partially_paid', 'paid', 'refunded')),
    currency TEXT NOT NULL,
    memo TEXT,
    lines TEXT NOT NULL,
    subtotal TEXT NOT NULL,
    total TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    amount_paid TEXT NOT NULL,
    due_at TEXT,
    issued_at TEXT,
    voided_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    subscription_id TEXT REFERENCES subscriptions (id),
    billing_period_start TEXT,
    reverse_charge BOOLEAN NOT NULL DEFAULT false,
    amount_credited TEXT NOT NULL DEFAULT '0',
    bill_to TEXT,
    revised_at TEXT,
    discounts TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO invoices__new (rowid, id, tenant_id, customer_id, number, status, payment_status, currency, memo, lines, subtotal, total, total_minor, amount_paid, due_at, issued_at, voided_at, created_at, updated_at, subscription_id, billing_period_start, reverse_charge, amount_credited, bill_to, revised_at, discounts) SELECT rowid, id, tenant_id, customer_id, number, status, payment_status, currency, memo, lines, subtotal, total, total_minor, amount_paid, due_at, issued_at, voided_at, created_at, updated_at, subscription_id, billing_period_start, reverse_charge, amount_credited, bill_to, revised_at, discounts FROM invoices;
DROP TABLE invoices;
ALTER TABLE invoices__new RENAME TO invoices;
CREATE UNIQUE INDEX invoices_billing_period ON invoices (subscription_id, billing_period_start);
CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id, id);
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, number);
CREATE INDEX invoices_tenant ON invoices (tenant_id, id);
CREATE TRIGGER invoices_search_delete AFTER DELETE ON invoices BEGIN
    INSERT INTO invoices_search (invoices_search, rowid, number, memo)
        VALUES ('delete', old.rowid, old.number, old.memo);
END;
CREATE TRIGGER invoices_search_insert AFTER INSERT ON invoices BEGIN
    INSERT INTO invoices_search (rowid, number, memo) VALUES (new.rowid, new.number, new.memo);
END;
CREATE TRIGGER invoices_search_update AFTER UPDATE OF number, memo ON invoices BEGIN
    INSERT INTO invoices_search (invoices_search, rowid, number, memo)
        VALUES ('delete', old.rowid, old.number, old.memo);
    INSERT INTO invoices_search (rowid, number, memo) VALUES (new.rowid, new.number, new.memo);
END;
INSERT INTO invoices_search (invoices_search) VALUES ('rebuild');

-- license_activations
CREATE TABLE license_activations__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    license_key_id TEXT NOT NULL REFERENCES license_keys (id),
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deactivated_at TEXT
);
INSERT INTO license_activations__new (id, tenant_id, license_key_id, label, created_at, deactivated_at) SELECT id, tenant_id, license_key_id, label, created_at, deactivated_at FROM license_activations;
DROP TABLE license_activations;
ALTER TABLE license_activations__new RENAME TO license_activations;
CREATE INDEX license_activations_key ON license_activations (tenant_id, license_key_id, id);

-- license_keys
CREATE TABLE license_keys__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    subscription_id TEXT REFERENCES subscriptions (id),
    sealed_key TEXT NOT NULL,
    key_digest TEXT NOT NULL UNIQUE,
    activation_limit INTEGER CHECK (activation_limit > 0),
    activations INTEGER NOT NULL DEFAULT 0 CHECK (activations >= 0 AND (activation_limit IS NULL OR activations <= activation_limit)),
    with_subscription BOOLEAN NOT NULL,
    expires_at TEXT,
    disabled_at TEXT,
    created_at TEXT NOT NULL
);
INSERT INTO license_keys__new (id, tenant_id, customer_id, subscription_id, sealed_key, key_digest, activation_limit, activations, with_subscription, expires_at, disabled_at, created_at) SELECT id, tenant_id, customer_id, subscription_id, sealed_key, key_digest, activation_limit, activations, with_subscription, expires_at, disabled_at, created_at FROM license_keys;
DROP TABLE license_keys;
ALTER TABLE license_keys__new RENAME TO license_keys;
CREATE INDEX license_keys_customer ON license_keys (tenant_id, customer_id, id);
CREATE UNIQUE INDEX license_keys_subscription ON license_keys (tenant_id, subscription_id);
CREATE INDEX license_keys_tenant ON license_keys (tenant_id, id);

-- payment_methods
CREATE TABLE payment_methods__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    type TEXT NOT NULL CHECK (type IN ('card', 'sepa_debit', 'bank_transfer', 'upi', 'other')),
    provider TEXT NOT NULL,
    provider_reference TEXT NOT NULL,
    brand TEXT,
    last4 TEXT,
    exp_month INTEGER CHECK (exp_month BETWEEN 1 AND 12),
    exp_year INTEGER,
    holder_name TEXT,
    bank_name TEXT,
    is_default BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'detached')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    detached_at TEXT,
    CHECK (NOT (is_default AND status = 'detached'))
);
INSERT INTO payment_methods__new (id, tenant_id, customer_id, type, provider, provider_reference, brand, last4, exp_month, exp_year, holder_name, bank_name, is_default, status, created_at, updated_at, detached_at) SELECT id, tenant_id, customer_id, type, provider, provider_reference, brand, last4, exp_month, exp_year, holder_name, bank_name, is_default, status, created_at, updated_at, detached_at FROM payment_methods;
DROP TABLE payment_methods;
ALTER TABLE payment_methods__new RENAME TO payment_methods;
CREATE INDEX payment_methods_customer ON payment_methods (tenant_id, customer_id, id);
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (customer_id) WHERE is_default;

-- payments
CREATE TABLE payments__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('wallet', 'external', 'payment_method')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    wallet_id TEXT REFERENCES wallets (id),
    credits TEXT,
    reference TEXT,
    failure_reason TEXT,
    amount_refunded TEXT NOT NULL,
    created_at TEXT NOT NULL,
    payment_method_id TEXT REFERENCES payment_methods (id),
    payment_url TEXT
);
INSERT INTO payments__new (id, tenant_id, invoice_id, customer_id, amount, currency, method, status, wallet_id, credits, reference, failure_reason, amount_refunded, created_at, payment_method_id, payment_url) SELECT id, tenant_id, invoice_id, customer_id, amount, currency, method, status, wallet_id, credits, reference, failure_reason, amount_refunded, created_at, payment_method_id, payment_url FROM payments;
DROP TABLE payments;
ALTER TABLE payments__new RENAME TO payments;
CREATE INDEX payments_customer ON payments (tenant_id, customer_id, id);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id, id);
CREATE UNIQUE INDEX payments_one_pending ON payments (invoice_id) WHERE status = 'pending';
CREATE INDEX payments_tenant ON payments (tenant_id, id);

-- plans
CREATE TABLE plans__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    currency TEXT NOT NULL,
    billing_interval TEXT NOT NULL CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
    interval_count INTEGER NOT NULL CHECK (interval_count > 0),
    amount TEXT NOT NULL,
    trial_days INTEGER NOT NULL CHECK (trial_days >= 0),
    charges TEXT NOT NULL,
    entitlements TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    status TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    past_due_action TEXT NOT NULL DEFAULT 'cancel' CHECK (past_due_action IN ('cancel', 'leave_unpaid')),
    tax_rate_ids TEXT NOT NULL DEFAULT '[]',
    quantity_min INTEGER NOT NULL DEFAULT 1,
    quantity_max INTEGER,
    purchase TEXT NOT NULL DEFAULT 'self_serve' CHECK (purchase IN ('self_serve', 'contact_sales')),
    contact_url TEXT,
    license_keys TEXT
);
INSERT INTO plans__new (id, tenant_id, code, name, description, currency, billing_interval, interval_count, amount, trial_days, charges, entitlements, visibility, status, created_at, updated_at, past_due_action, tax_rate_ids, quantity_min, quantity_max, purchase, contact_url, license_keys) SELECT id, tenant_id, code, name, description, currency, billing_interval, interval_count, amount, trial_days, charges, entitlements, visibility, status, created_at, updated_at, past_due_action, tax_rate_ids, quantity_min, quantity_max, purchase, contact_url, license_keys FROM plans;
DROP TABLE plans;
ALTER TABLE plans__new RENAME TO plans;
CREATE INDEX plans_catalogue ON plans (tenant_id, status, visibility, id);
CREATE UNIQUE INDEX plans_code ON plans (tenant_id, code);

-- portal_sessions
CREATE TABLE portal_sessions__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    mode TEXT NOT NULL CHECK (mode IN ('customer', 'admin_preview')),
    return_url TEXT,
    sections TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    idle_timeout_seconds BIGINT,
    last_seen_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT CHECK (end_reason IN ('revoked', 'superseded', 'logged_out')),
    created_by_key_id TEXT REFERENCES api_keys (id),
    login_code_hash TEXT NOT NULL UNIQUE,
    login_code_expires_at TEXT NOT NULL,
    login_code_used_at TEXT
);
INSERT INTO portal_sessions__new (id, tenant_id, customer_id, mode, return_url, sections, permissions, created_at, expires_at, idle_timeout_seconds, last_seen_at, ended_at, end_reason, created_by_key_id, login_code_hash, login_code_expires_at, login_code_used_at) SELECT id, tenant_id, customer_id, mode, return_url, sections, permissions, created_at, expires_at, idle_timeout_seconds, last_seen_at, ended_at, end_reason, created_by_key_id, login_code_hash, login_code_expires_at, login_code_used_at FROM portal_sessions;
DROP TABLE portal_sessions;
ALTER TABLE portal_sessions__new RENAME TO portal_sessions;
CREATE INDEX portal_sessions_customer ON portal_sessions (tenant_id, customer_id, id);

-- promotion_codes
CREATE TABLE promotion_codes__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    coupon_id TEXT NOT NULL REFERENCES coupons (id),
    code TEXT NOT NULL,
    code_key TEXT NOT NULL,
    max_redemptions BIGINT,
    times_redeemed BIGINT NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0 AND (max_redemptions IS NULL OR times_redeemed <= max_redemptions)),
    expires_at TEXT,
    customer_id TEXT REFERENCES customers (id),
    first_time_only BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO promotion_codes__new (id, tenant_id, coupon_id, code, code_key, max_redemptions, times_redeemed, expires_at, customer_id, first_time_only, active, created_at) SELECT id, tenant_id, coupon_id, code, code_key, max_redemptions, times_redeemed, expires_at, customer_id, first_time_only, active, created_at FROM promotion_codes;
DROP TABLE promotion_codes;
ALTER TABLE promotion_codes__new RENAME TO promotion_codes;
CREATE UNIQUE INDEX promotion_codes_code ON promotion_codes (tenant_id, code_key);
CREATE INDEX promotion_codes_tenant ON promotion_codes (tenant_id, id);

-- refunds
CREATE TABLE refunds__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    payment_id TEXT NOT NULL REFERENCES payments (id),
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    amount TEXT NOT NULL,
    credits TEXT,
    reason TEXT,
    created_at TEXT NOT NULL
);
INSERT INTO refunds__new (id, tenant_id, payment_id, invoice_id, amount, credits, reason, created_at) SELECT id, tenant_id, payment_id, invoice_id, amount, credits, reason, created_at FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds__new RENAME TO refunds;
CREATE INDEX refunds_payment ON refunds (tenant_id, payment_id, id);

-- subscriptions
CREATE TABLE subscriptions__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    plan_id TEXT NOT NULL REFERENCES plans (id),
    status TEXT NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'paused', 'canceled', 'ended')),
    billing_anchor TEXT NOT NULL CHECK (billing_anchor IN ('anniversary', 'calendar')),
    collection TEXT NOT NULL CHECK (collection IN ('wallet', 'send_invoice')),
    anchor_at TEXT NOT NULL,
    billing_interval TEXT NOT NULL CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
    interval_count INTEGER NOT NULL CHECK (interval_count > 0),
    started_at TEXT NOT NULL,
    current_period_start TEXT NOT NULL,
    current_period_end TEXT NOT NULL,
    trial_end TEXT,
    cancel_at_period_end BOOLEAN NOT NULL,
    canceled_at TEXT,
    ended_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    test_clock_id TEXT REFERENCES test_clocks (id),
    period_index INTEGER NOT NULL DEFAULT 0,
    due_at TEXT,
    collection_retry_at TEXT,
    dunning_attempts INTEGER NOT NULL DEFAULT 0,
    billing_retry_at TEXT,
    billing_error TEXT,
    pending_plan_id TEXT REFERENCES plans (id),
    pending_lines TEXT NOT NULL DEFAULT '[]',
    cancellation_reason TEXT,
    cancellation_comment TEXT,
    quantity INTEGER NOT NULL DEFAULT 1,
    pending_quantity INTEGER,
    discount TEXT,
    retention_accepted_at TEXT
);
INSERT INTO subscriptions__new (id, tenant_id, customer_id, plan_id, status, billing_anchor, collection, anchor_at, billing_interval, interval_count, started_at, current_period_start, current_period_end, trial_end, cancel_at_period_end, canceled_at, ended_at, created_at, updated_at, test_clock_id, period_index, due_at, collection_retry_at, dunning_attempts, billing_retry_at, billing_error, pending_plan_id, pending_lines, cancellation_reason, cancellation_comment, quantity, pending_quantity, discount, retention_accepted_at) SELECT id, tenant_id, customer_id, plan_id, status, billing_anchor, collection, anchor_at, billing_interval, interval_count, started_at, current_period_start, current_period_end, trial_end, cancel_at_period_end, canceled_at, ended_at, created_at, updated_at, test_clock_id, period_index, due_at, collection_retry_at, dunning_attempts, billing_retry_at, billing_error, pending_plan_id, pending_lines, cancellation_reason, cancellation_comment, quantity, pending_quantity, discount, retention_accepted_at FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions__new RENAME TO subscriptions;
CREATE INDEX subscriptions_clock_due ON subscriptions (test_clock_id, due_at, id) WHERE test_clock_id IS NOT NULL;
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id, id);
CREATE INDEX subscriptions_due ON subscriptions (due_at, id) WHERE due_at IS NOT NULL AND test_clock_id IS NULL;

-- tax_rates
CREATE TABLE tax_rates__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    percentage TEXT NOT NULL,
    inclusive BOOLEAN NOT NULL,
    country TEXT,
    description TEXT,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    archived_at TEXT
);
INSERT INTO tax_rates__new (id, tenant_id, name, percentage, inclusive, country, description, active, created_at, archived_at) SELECT id, tenant_id, name, percentage, inclusive, country, description, active, created_at, archived_at FROM tax_rates;
DROP TABLE tax_rates;
ALTER TABLE tax_rates__new RENAME TO tax_rates;
CREATE INDEX tax_rates_tenant ON tax_rates (tenant_id, id);

-- test_clocks
CREATE TABLE test_clocks__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT,
    frozen_time TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ready',
    advancing_to TEXT,
    lease_until TEXT
);
INSERT INTO test_clocks__new (id, tenant_id, name, frozen_time, created_at, updated_at, status, advancing_to, lease_until) SELECT id, tenant_id, name, frozen_time, created_at, updated_at, status, advancing_to, lease_until FROM test_clocks;
DROP TABLE test_clocks;
ALTER TABLE test_clocks__new RENAME TO test_clocks;
CREATE INDEX test_clocks_advancing ON test_clocks (updated_at) WHERE status = 'advancing';
CREATE INDEX test_clocks_tenant ON test_clocks (tenant_id, id);

-- usage_events
CREATE TABLE usage_events__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    event_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    feature_key TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    properties TEXT NOT NULL,
    quantity TEXT NOT NULL,
    received_at TEXT NOT NULL
);
INSERT INTO usage_events__new (id, tenant_id, event_id, customer_id, feature_key, timestamp, properties, quantity, received_at) SELECT id, tenant_id, event_id, customer_id, feature_key, timestamp, properties, quantity, received_at FROM usage_events;
DROP TABLE usage_events;
ALTER TABLE usage_events__new RENAME TO usage_events;
CREATE INDEX usage_events_customer ON usage_events (tenant_id, customer_id, id);
CREATE UNIQUE INDEX usage_events_event_id ON usage_events (tenant_id, event_id);

-- usage_rollups
CREATE TABLE usage_rollups__new (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    feature_key TEXT NOT NULL,
    hour TEXT NOT NULL,
    events BIGINT NOT NULL,
    quantity_sum TEXT NOT NULL,
    quantity_max TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, hour, feature_key)
);
INSERT INTO usage_rollups__new (tenant_id, customer_id, feature_key, hour, events, quantity_sum, quantity_max) SELECT tenant_id, customer_id, feature_key, hour, events, quantity_sum, quantity_max FROM usage_rollups;
DROP TABLE usage_rollups;
ALTER TABLE usage_rollups__new RENAME TO usage_rollups;

-- wallet_lot_checks
CREATE TABLE wallet_lot_checks__new (
    wallet_id TEXT PRIMARY KEY NOT NULL REFERENCES wallets (id),
    tenant_id TEXT NOT NULL
);
INSERT INTO wallet_lot_checks__new (wallet_id, tenant_id) SELECT wallet_id, tenant_id FROM wallet_lot_checks;
DROP TABLE wallet_lot_checks;
ALTER TABLE wallet_lot_checks__new RENAME TO wallet_lot_checks;

-- wallet_transactions
CREATE TABLE wallet_transactions__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    wallet_id TEXT NOT NULL REFERENCES wallets (id),
    seq BIGINT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('credit', 'debit', 'expiry', 'void')),
    credits TEXT NOT NULL,
    value TEXT NOT NULL,
    balance_before TEXT NOT NULL,
    balance_after TEXT NOT NULL CHECK (balance_after NOT LIKE '-%'),
    reason TEXT NOT NULL,
    description TEXT,
    reference TEXT,
    idempotency_key TEXT,
    allocations TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO wallet_transactions__new (id, tenant_id, wallet_id, seq, type, credits, value, balance_before, balance_after, reason, description, reference, idempotency_key, allocations, created_at) SELECT id, tenant_id, wallet_id, seq, type, credits, value, balance_before, balance_after, reason, description, reference, idempotency_key, allocations, created_at FROM wallet_transactions;
DROP TABLE wallet_transactions;
ALTER TABLE wallet_transactions__new RENAME TO wallet_transactions;
CREATE UNIQUE INDEX wallet_transactions_seq ON wallet_transactions (wallet_id, seq);

-- wallets
CREATE TABLE wallets__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    conversion_rate TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
    balance TEXT NOT NULL CHECK (balance NOT LIKE '-%'),
    ledger_seq BIGINT NOT NULL DEFAULT 0,
    next_expiry_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    low_balance_threshold TEXT
);
INSERT INTO wallets__new (id, tenant_id, customer_id, name, currency, conversion_rate, status, balance, ledger_seq, next_expiry_at, created_at, updated_at, low_balance_threshold) SELECT id, tenant_id, customer_id, name, currency, conversion_rate, status, balance, ledger_seq, next_expiry_at, created_at, updated_at, low_balance_threshold FROM wallets;
DROP TABLE wallets;
ALTER TABLE wallets__new RENAME TO wallets;
CREATE INDEX wallets_customer ON wallets (tenant_id, customer_id, id);
CREATE INDEX wallets_next_expiry ON wallets (next_expiry_at) WHERE next_expiry_at IS NOT NULL;
CREATE INDEX wallets_tenant ON wallets (tenant_id, id);

-- webhook_attempts
CREATE TABLE webhook_attempts__new (
    id TEXT PRIMARY KEY NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    attempted_at TEXT NOT NULL,
    http_status INTEGER,
    duration_ms BIGINT NOT NULL,
    response_excerpt TEXT,
    error TEXT
);
INSERT INTO webhook_attempts__new (id, delivery_id, number, attempted_at, http_status, duration_ms, response_excerpt, error) SELECT id, delivery_id, number, attempted_at, http_status, duration_ms, response_excerpt, error FROM webhook_attempts;
DROP TABLE webhook_attempts;
ALTER TABLE webhook_attempts__new RENAME TO webhook_attempts;
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- webhook_deliveries
CREATE TABLE webhook_deliveries__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    event_id TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO webhook_deliveries__new (id, tenant_id, event_id, endpoint_id, event_type, status, attempts, next_attempt_at, created_at, updated_at) SELECT id, tenant_id, event_id, endpoint_id, event_type, status, attempts, next_attempt_at, created_at, updated_at FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries__new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- webhook_endpoints
CREATE TABLE webhook_endpoints__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    url TEXT NOT NULL,
    description TEXT,
    event_types TEXT,
    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason TEXT CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at TEXT,
    failing_since TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO webhook_endpoints__new (id, tenant_id, url, description, event_types, status, disabled_reason, secret, previous_secret, previous_secret_expires_at, failing_since, created_at, updated_at) SELECT id, tenant_id, url, description, event_types, status, disabled_reason, secret, previous_secret, previous_secret_expires_at, failing_since, created_at, updated_at FROM webhook_endpoints;
DROP TABLE webhook_endpoints;
ALTER TABLE webhook_endpoints__new RENAME TO webhook_endpoints;
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

-- webhook_events
CREATE TABLE webhook_events__new (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    dispatched BOOLEAN NOT NULL
);
INSERT INTO webhook_events__new (id, tenant_id, type, payload, created_at, dispatched) SELECT id, tenant_id, type, payload, created_at, dispatched FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events__new RENAME TO webhook_events;
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, id);
CREATE INDEX webhook_events_tenant_created ON webhook_events (tenant_id, created_at);
CREATE INDEX webhook_events_undispatched ON webhook_events (id) WHERE NOT dispatched;

COMMIT;
PRAGMA foreign_keys = ON;
