-- Tenant-leading keys, ready for Citus (distributed by tenant_id): every tenant table's primary
-- key is (tenant_id, id), every unique key leads with tenant_id, and every foreign key between
-- tenant tables carries tenant_id, so that a row and everything it references share a shard.
-- `tenants` is the distribution root: its `id` is the tenant id.

-- webhook_attempts was the one tenant table without the column; its delivery knows the tenant.
ALTER TABLE webhook_attempts ADD COLUMN tenant_id TEXT;
UPDATE webhook_attempts a SET tenant_id = d.tenant_id FROM webhook_deliveries d WHERE d.id = a.delivery_id;
ALTER TABLE webhook_attempts ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE webhook_attempts ADD CONSTRAINT webhook_attempts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);

-- Foreign keys on (id) alone go first: the primary keys they rest on are replaced.
ALTER TABLE alert_triggers DROP CONSTRAINT alert_triggers_alert_id_fkey;
ALTER TABLE alerts DROP CONSTRAINT alerts_customer_id_fkey;
ALTER TABLE billing_runs DROP CONSTRAINT billing_runs_customer_id_fkey;
ALTER TABLE billing_runs DROP CONSTRAINT billing_runs_invoice_id_fkey;
ALTER TABLE billing_runs DROP CONSTRAINT billing_runs_subscription_id_fkey;
ALTER TABLE credit_lots DROP CONSTRAINT credit_lots_wallet_id_fkey;
ALTER TABLE credit_notes DROP CONSTRAINT credit_notes_customer_id_fkey;
ALTER TABLE credit_notes DROP CONSTRAINT credit_notes_invoice_id_fkey;
ALTER TABLE credit_notes DROP CONSTRAINT credit_notes_wallet_id_fkey;
ALTER TABLE customers DROP CONSTRAINT customers_test_clock_id_fkey;
ALTER TABLE emails DROP CONSTRAINT emails_customer_id_fkey;
ALTER TABLE guest_sessions DROP CONSTRAINT guest_sessions_created_by_key_id_fkey;
ALTER TABLE invoices DROP CONSTRAINT invoices_customer_id_fkey;
ALTER TABLE invoices DROP CONSTRAINT invoices_subscription_id_fkey;
ALTER TABLE license_activations DROP CONSTRAINT license_activations_license_key_id_fkey;
ALTER TABLE license_keys DROP CONSTRAINT license_keys_customer_id_fkey;
ALTER TABLE license_keys DROP CONSTRAINT license_keys_subscription_id_fkey;
ALTER TABLE payment_methods DROP CONSTRAINT payment_methods_customer_id_fkey;
ALTER TABLE payments DROP CONSTRAINT payments_customer_id_fkey;
ALTER TABLE payments DROP CONSTRAINT payments_invoice_id_fkey;
ALTER TABLE payments DROP CONSTRAINT payments_payment_method_id_fkey;
ALTER TABLE payments DROP CONSTRAINT payments_wallet_id_fkey;
ALTER TABLE portal_sessions DROP CONSTRAINT portal_sessions_created_by_key_id_fkey;
ALTER TABLE portal_sessions DROP CONSTRAINT portal_sessions_customer_id_fkey;
ALTER TABLE promotion_codes DROP CONSTRAINT promotion_codes_coupon_id_fkey;
ALTER TABLE promotion_codes DROP CONSTRAINT promotion_codes_customer_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT refunds_invoice_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT refunds_payment_id_fkey;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_customer_id_fkey;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_pending_plan_id_fkey;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_plan_id_fkey;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_test_clock_id_fkey;
ALTER TABLE usage_rollups DROP CONSTRAINT usage_rollups_customer_id_fkey;
ALTER TABLE wallet_lot_checks DROP CONSTRAINT wallet_lot_checks_wallet_id_fkey;
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_wallet_id_fkey;
ALTER TABLE wallets DROP CONSTRAINT wallets_customer_id_fkey;
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_delivery_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_endpoint_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_id_fkey;

-- Primary keys.
ALTER TABLE alert_triggers DROP CONSTRAINT alert_triggers_pkey, ADD PRIMARY KEY (tenant_id, alert_id, period);
ALTER TABLE alerts DROP CONSTRAINT alerts_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE billing_runs DROP CONSTRAINT billing_runs_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE coupons DROP CONSTRAINT coupons_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE credit_lots DROP CONSTRAINT credit_lots_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE credit_notes DROP CONSTRAINT credit_notes_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE customers DROP CONSTRAINT customers_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE emails DROP CONSTRAINT emails_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE features DROP CONSTRAINT features_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE guest_sessions DROP CONSTRAINT guest_sessions_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE invoices DROP CONSTRAINT invoices_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE license_activations DROP CONSTRAINT license_activations_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE license_keys DROP CONSTRAINT license_keys_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE payment_methods DROP CONSTRAINT payment_methods_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE payments DROP CONSTRAINT payments_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE plans DROP CONSTRAINT plans_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE portal_sessions DROP CONSTRAINT portal_sessions_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE promotion_codes DROP CONSTRAINT promotion_codes_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE refunds DROP CONSTRAINT refunds_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE tax_rates DROP CONSTRAINT tax_rates_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE test_clocks DROP CONSTRAINT test_clocks_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE wallet_lot_checks DROP CONSTRAINT wallet_lot_checks_pkey, ADD PRIMARY KEY (tenant_id, wallet_id);
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE wallets DROP CONSTRAINT wallets_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_pkey, ADD PRIMARY KEY (tenant_id, id);

-- Unique keys lead with tenant_id.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_prefix_key;
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (tenant_id, prefix);
ALTER TABLE guest_sessions DROP CONSTRAINT guest_sessions_login_code_hash_key;
CREATE UNIQUE INDEX guest_sessions_login_code_hash_key ON guest_sessions (tenant_id, login_code_hash);
DROP INDEX invoices_billing_period;
CREATE UNIQUE INDEX invoices_billing_period ON invoices (tenant_id, subscription_id, billing_period_start);
ALTER TABLE license_keys DROP CONSTRAINT license_keys_key_digest_key;
CREATE UNIQUE INDEX license_keys_key_digest_key ON license_keys (tenant_id, key_digest);
DROP INDEX payment_methods_one_default;
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (tenant_id, customer_id) WHERE is_default;
DROP INDEX payments_one_pending;
CREATE UNIQUE INDEX payments_one_pending ON payments (tenant_id, invoice_id) WHERE (status = 'pending'::text);
ALTER TABLE portal_sessions DROP CONSTRAINT portal_sessions_login_code_hash_key;
CREATE UNIQUE INDEX portal_sessions_login_code_hash_key ON portal_sessions (tenant_id, login_code_hash);
DROP INDEX wallet_transactions_seq;
CREATE UNIQUE INDEX wallet_transactions_seq ON wallet_transactions (tenant_id, wallet_id, seq);

-- The (tenant_id, id) lookup indexes are now the primary keys themselves.
DROP INDEX alerts_tenant;
DROP INDEX api_keys_tenant_id;
DROP INDEX audit_events_tenant;
DROP INDEX billing_runs_tenant;
DROP INDEX coupons_tenant;
DROP INDEX credit_notes_tenant;
DROP INDEX customers_tenant_id;
DROP INDEX emails_tenant;
DROP INDEX invoices_tenant;
DROP INDEX license_keys_tenant;
DROP INDEX payments_tenant;
DROP INDEX promotion_codes_tenant;
DROP INDEX tax_rates_tenant;
DROP INDEX test_clocks_tenant;
DROP INDEX wallets_tenant;
DROP INDEX webhook_endpoints_tenant;
DROP INDEX webhook_events_tenant;

-- Foreign keys between tenant tables carry the tenant.
ALTER TABLE alert_triggers ADD CONSTRAINT alert_triggers_alert_id_fkey FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts (tenant_id, id);
ALTER TABLE alerts ADD CONSTRAINT alerts_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE billing_runs ADD CONSTRAINT billing_runs_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE billing_runs ADD CONSTRAINT billing_runs_invoice_id_fkey FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id);
ALTER TABLE billing_runs ADD CONSTRAINT billing_runs_subscription_id_fkey FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id);
ALTER TABLE credit_lots ADD CONSTRAINT credit_lots_wallet_id_fkey FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_invoice_id_fkey FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_wallet_id_fkey FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id);
ALTER TABLE customers ADD CONSTRAINT customers_test_clock_id_fkey FOREIGN KEY (tenant_id, test_clock_id) REFERENCES test_clocks (tenant_id, id);
ALTER TABLE emails ADD CONSTRAINT emails_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE guest_sessions ADD CONSTRAINT guest_sessions_created_by_key_id_fkey FOREIGN KEY (tenant_id, created_by_key_id) REFERENCES api_keys (tenant_id, id);
ALTER TABLE invoices ADD CONSTRAINT invoices_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE invoices ADD CONSTRAINT invoices_subscription_id_fkey FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id);
ALTER TABLE license_activations ADD CONSTRAINT license_activations_license_key_id_fkey FOREIGN KEY (tenant_id, license_key_id) REFERENCES license_keys (tenant_id, id);
ALTER TABLE license_keys ADD CONSTRAINT license_keys_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE license_keys ADD CONSTRAINT license_keys_subscription_id_fkey FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id);
ALTER TABLE payment_methods ADD CONSTRAINT payment_methods_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE payments ADD CONSTRAINT payments_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE payments ADD CONSTRAINT payments_invoice_id_fkey FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id);
ALTER TABLE payments ADD CONSTRAINT payments_payment_method_id_fkey FOREIGN KEY (tenant_id, payment_method_id) REFERENCES payment_methods (tenant_id, id);
ALTER TABLE payments ADD CONSTRAINT payments_wallet_id_fkey FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id);
ALTER TABLE portal_sessions ADD CONSTRAINT portal_sessions_created_by_key_id_fkey FOREIGN KEY (tenant_id, created_by_key_id) REFERENCES api_keys (tenant_id, id);
ALTER TABLE portal_sessions ADD CONSTRAINT portal_sessions_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE promotion_codes ADD CONSTRAINT promotion_codes_coupon_id_fkey FOREIGN KEY (tenant_id, coupon_id) REFERENCES coupons (tenant_id, id);
ALTER TABLE promotion_codes ADD CONSTRAINT promotion_codes_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE refunds ADD CONSTRAINT refunds_invoice_id_fkey FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id);
ALTER TABLE refunds ADD CONSTRAINT refunds_payment_id_fkey FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_pending_plan_id_fkey FOREIGN KEY (tenant_id, pending_plan_id) REFERENCES plans (tenant_id, id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_plan_id_fkey FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_test_clock_id_fkey FOREIGN KEY (tenant_id, test_clock_id) REFERENCES test_clocks (tenant_id, id);
ALTER TABLE usage_rollups ADD CONSTRAINT usage_rollups_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE wallet_lot_checks ADD CONSTRAINT wallet_lot_checks_wallet_id_fkey FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id);
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_wallet_id_fkey FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id);
ALTER TABLE wallets ADD CONSTRAINT wallets_customer_id_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE webhook_attempts ADD CONSTRAINT webhook_attempts_delivery_id_fkey FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_id_fkey FOREIGN KEY (tenant_id, event_id) REFERENCES webhook_events (tenant_id, id);

-- Workers claim per account, so that their row locks stay on one shard: each claim reads an
-- index that leads with tenant_id. The global due-time indexes stay for the lock-free read that
-- finds which accounts have work.
CREATE INDEX subscriptions_account_due ON subscriptions (tenant_id, due_at, id)
    WHERE due_at IS NOT NULL AND test_clock_id IS NULL;
DROP INDEX subscriptions_clock_due;
CREATE INDEX subscriptions_clock_due ON subscriptions (tenant_id, test_clock_id, due_at, id)
    WHERE test_clock_id IS NOT NULL;
CREATE INDEX emails_account_due ON emails (tenant_id, next_attempt_at) WHERE status = 'queued';
CREATE INDEX webhook_deliveries_account_due ON webhook_deliveries (tenant_id, next_attempt_at)
    WHERE status = 'pending';
DROP INDEX webhook_events_undispatched;
CREATE INDEX webhook_events_undispatched ON webhook_events (tenant_id, id) WHERE NOT dispatched;
