//! Billing benchmark:
//!
//!   TEST_DATABASE_URL=postgres://… cargo run --release -p tests --bin billing-bench -- [subscriptions] [workers]
//!
//! Loads `subscriptions` (default 100,000) wallet-paid monthly subscriptions, all due at the same
//! instant, each with a metered charge and a month of usage in its rollups, in bulk SQL on
//! PostgreSQL; then drains them with `workers` (default 2) billing workers at once, as that many
//! replicas would, and reports renewals per second and the wall time to drain. Each renewal
//! prices the usage from the rollups, finalizes a numbered invoice, pays it from the wallet and
//! moves the subscription on; a worker commits a batch of them at a time.

use std::time::Instant;

use serde_json::{json, Value};
use tests::{Backend, Method, TestServer};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let workers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2);
    let server = TestServer::start_with(Backend::Postgres, |c| c.db_pool_size = 16)
        .expect("set TEST_DATABASE_URL");
    let post = |path: &str, body: Value| {
        let rb = server.admin(Method::POST, path).json(&body);
        async move {
            let r = rb.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            r.json::<Value>().await.unwrap()
        }
    };
    post(
        "/v1/features",
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count", "unit_price": "0", "currency": "USD"}),
    )
    .await;
    let plan = post(
        "/v1/plans",
        json!({"code": "bench", "name": "Bench", "currency": "USD", "interval": "month", "amount": "10.00",
               "charges": [{"feature": "api_calls", "included_quantity": "100", "unit_price": "0.01"}]}),
    )
    .await;
    let template = post("/v1/customers", json!({"name": "template"})).await;
    let tenant = server.query_texts(&format!(
        "SELECT tenant_id AS v FROM customers WHERE id = '{}'",
        template["id"].as_str().unwrap()
    ))[0]
        .clone();
    let plan_id = plan["id"].as_str().unwrap();
    let started = Instant::now();
    // Ids are valid ULIDs: "01" and 24 digits.
    server.execute_sql(&format!(
        "INSERT INTO customers (id, tenant_id, name, timezone, metadata, status, created_at, updated_at)
           SELECT 'cus_01' || lpad(g::text, 24, '0'), '{tenant}', 'bench ' || g, 'UTC', '{{}}', 'active', now(), now()
           FROM generate_series(1, {n}) g;
         INSERT INTO wallets (id, tenant_id, customer_id, name, currency, conversion_rate, status, balance, ledger_seq, created_at, updated_at)
           SELECT 'wal_01' || lpad(g::text, 24, '0'), '{tenant}', 'cus_01' || lpad(g::text, 24, '0'), 'Credits', 'USD', 1, 'active', 1000, 0, now(), now()
           FROM generate_series(1, {n}) g;
         INSERT INTO credit_lots (id, tenant_id, wallet_id, kind, priority, granted, available, created_at)
           SELECT 'lot_01' || lpad(g::text, 24, '0'), '{tenant}', 'wal_01' || lpad(g::text, 24, '0'), 'purchased', 0, 1000, 1000, now()
           FROM generate_series(1, {n}) g;
         INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, billing_anchor, collection, anchor_at,
             billing_interval, interval_count, started_at, current_period_start, current_period_end, cancel_at_period_end,
             created_at, updated_at, period_index, due_at, dunning_attempts, pending_lines)
           SELECT 'sub_01' || lpad(g::text, 24, '0'), '{tenant}', 'cus_01' || lpad(g::text, 24, '0'), '{plan_id}', 'active',
             'anniversary', 'wallet', date_trunc('hour', now()) - interval '1 month', 'month', 1,
             date_trunc('hour', now()) - interval '1 month', date_trunc('hour', now()) - interval '1 month',
             date_trunc('hour', now()), false, now(), now(), 0, date_trunc('hour', now()), 0, '[]'
           FROM generate_series(1, {n}) g;
         -- Each subscription's first invoice, paid: the history a real database has (and the
         -- statistics the planner needs; an empty, analyzed invoices table plans seq scans).
         INSERT INTO invoices (id, tenant_id, customer_id, number, status, payment_status, currency, lines,
             subtotal, total, total_minor, amount_paid, due_at, issued_at, created_at, updated_at,
             subscription_id, billing_period_start)
           SELECT 'inv_01' || lpad(g::text, 24, '0'), '{tenant}', 'cus_01' || lpad(g::text, 24, '0'),
             'INV-000000-' || lpad(g::text, 6, '0'), 'finalized', 'paid', 'USD', '[]', 10, 10, 1000, 10,
             date_trunc('hour', now()) - interval '1 month', date_trunc('hour', now()) - interval '1 month',
             now(), now(), 'sub_01' || lpad(g::text, 24, '0'), date_trunc('hour', now()) - interval '1 month'
           FROM generate_series(1, {n}) g;
         INSERT INTO usage_rollups (tenant_id, customer_id, feature_key, hour, events, quantity_sum, quantity_max)
           SELECT '{tenant}', 'cus_01' || lpad(g::text, 24, '0'), 'api_calls', date_trunc('hour', now()) - interval '10 days', 350, 350, 1
           FROM generate_series(1, {n}) g;
         ANALYZE;"
    ));
    println!(
        "loaded {n} due subscriptions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let now = domain::clock::now();
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..workers {
        let billing = server.state.billing.clone();
        handles.push(std::thread::spawn(move || {
            billing.run_due(now).expect("drain")
        }));
    }
    let mut steps = 0;
    for h in handles {
        let d = h.join().unwrap();
        assert_eq!(d.failures, 0);
        steps += d.steps;
    }
    let secs = started.elapsed().as_secs_f64();
    let invoices = server.query_texts(
        "SELECT COUNT(*)::text AS v FROM invoices WHERE subscription_id IS NOT NULL AND payment_status = 'paid'",
    )[0]
        .parse::<u64>()
        .unwrap();
    assert_eq!(invoices, 2 * n, "every subscription renewed and paid once");
    assert_eq!(steps as u64, n);
    let total = server.query_texts(
        "SELECT SUM(total)::text AS v FROM invoices WHERE subscription_id IS NOT NULL AND number NOT LIKE 'INV-000000-%'",
    )[0]
    .clone();
    println!(
        "workers={workers} renewals={n} wall={secs:.1} s rate={:.0} renewals/s (each 10.00 fee + 2.50 usage; billed {total})",
        n as f64 / secs
    );
}
