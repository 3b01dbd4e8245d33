//! Webhook benchmark:
//!
//!   cargo run --release -p tests --bin webhook-bench -- [sqlite|postgres] [events] [clients]
//!
//! Starts the real server (release build; the webhook worker with its default settings) and a
//! receiver on loopback, then measures two things:
//!
//! 1. Lag: `clients` clients create `events` customers over HTTP; each `customer.created`
//!    event is timed from its `timestamp` (taken in the creating transaction, just before the
//!    commit) to its arrival at the receiver. Prints p50, p99 and the maximum.
//! 2. Throughput: `events` events written to the outbox at once (one SQL statement), then
//!    timed until the receiver has them all: deliveries per second, signing and the HTTP round
//!    trip included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use tests::receiver::Receiver;
use tests::{Backend, Method, TestServer};

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let events: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let clients: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(8);
    use api::config::{DEFAULT_WEBHOOKS_CONCURRENCY, DEFAULT_WEBHOOKS_POLL_MS};
    let server = Arc::new(
        TestServer::start_with(backend, |c| {
            c.webhooks_poll_ms = DEFAULT_WEBHOOKS_POLL_MS;
            c.webhooks_concurrency = DEFAULT_WEBHOOKS_CONCURRENCY;
            c.db_pool_size = 16;
        })
        .expect("set TEST_DATABASE_URL for postgres"),
    );
    println!(
        "backend={backend:?} events={events} clients={clients} poll={}ms sends_at_once={}",
        DEFAULT_WEBHOOKS_POLL_MS, DEFAULT_WEBHOOKS_CONCURRENCY
    );
    let rx = Receiver::start();
    let r = server
        .admin(Method::POST, "/v1/webhook_endpoints")
        .json(&json!({"url": rx.url}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // 1. Lag, from the change's commit to the receiver.
    let mut tasks = Vec::new();
    for c in 0..clients {
        let s = server.clone();
        tasks.push(tokio::spawn(async move {
            for i in (c..events).step_by(clients) {
                let r = s
                    .admin(Method::POST, "/v1/customers")
                    .json(&json!({"name": format!("Customer {i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        }));
    }
    let started = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    let created = started.elapsed();
    let got = rx.wait_for(events, Duration::from_secs(600)).await;
    let mut lags: Vec<i64> = got
        .iter()
        .map(|r| {
            let t: DateTime<Utc> = r.json()["timestamp"].as_str().unwrap().parse().unwrap();
            (r.at - t).num_microseconds().unwrap()
        })
        .collect();
    lags.sort_unstable();
    println!(
        "lag (commit -> receiver) over {events} events created at {:.0}/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        events as f64 / created.as_secs_f64(),
        percentile(&lags, 0.50) as f64 / 1000.0,
        percentile(&lags, 0.99) as f64 / 1000.0,
        *lags.last().unwrap() as f64 / 1000.0
    );

    // 2. Throughput: a backlog of `events` in the outbox, drained.
    let tenant = server.query_texts("SELECT tenant_id AS v FROM webhook_endpoints")[0].clone();
    let payload = r#"'{"id":"msg_bench","type":"customer.created","timestamp":"2026-01-01T00:00:00Z","data":{}}'"#;
    let before = rx.received().len();
    let started = Instant::now();
    server.execute_sql(&match backend {
        Backend::Postgres => format!(
            "INSERT INTO webhook_events (id, tenant_id, type, payload, created_at, dispatched)
               SELECT 'msg_01' || lpad(g::text, 24, '0'), '{tenant}', 'customer.created', {payload}, now(), false
               FROM generate_series(1, {events}) g"
        ),
        Backend::Sqlite => format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {events})
             INSERT INTO webhook_events (id, tenant_id, type, payload, created_at, dispatched)
               SELECT 'msg_01' || printf('%024d', n), '{tenant}', 'customer.created', {payload},
                      strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z', false
               FROM g"
        ),
    });
    rx.wait_for(before + events, Duration::from_secs(1200))
        .await;
    let took = started.elapsed();
    println!(
        "throughput: {events} queued events delivered in {:.2} s = {:.0} deliveries/s",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
}
