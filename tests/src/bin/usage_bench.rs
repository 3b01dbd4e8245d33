//! Usage benchmark:
//!
//!   cargo run --release -p tests --bin usage-bench -- [postgres|sqlite] [events] [clients] [stored]
//!
//! 1. Ingestion: `events` events (default 100,000) in batches of 1,000 over HTTP from `clients`
//!    concurrent clients (default 4), one customer per client; reports events/s.
//! 2. Analytics (PostgreSQL): `stored` further raw events (default 10,000,000) for one customer
//!    over the last 30 days are bulk-loaded in SQL and its rollups rebuilt from them (as
//!    ingestion would have left them); then 500 requests of the 30-day usage report over HTTP,
//!    sequentially, reporting p50/p99.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tests::load::phase;
use tests::{Backend, Method, TestServer};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("sqlite") => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let events: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let clients: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(4);
    let stored: u64 = args
        .get(4)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let server = Arc::new(
        TestServer::start_with(backend, |c| c.max_body_bytes = 1_048_576)
            .expect("set TEST_DATABASE_URL for postgres"),
    );
    println!("backend={backend:?} events={events} clients={clients}");
    for (key, agg, prop) in [
        ("api_calls", "count", None),
        ("bytes", "sum", Some("mb")),
        ("seats", "max", Some("n")),
    ] {
        let r = server
            .admin(Method::POST, "/v1/features")
            .json(&json!({"key": key, "name": key, "unit": "u", "aggregation": agg, "value_property": prop, "unit_price": "0.001", "currency": "USD"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let mut customers = Vec::new();
    for i in 0..clients.max(1) {
        let r = server
            .admin(Method::POST, "/v1/customers")
            .json(&json!({"name": format!("bench {i}")}))
            .send()
            .await
            .unwrap();
        customers.push(
            r.json::<serde_json::Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let customers = Arc::new(customers);

    let batches = events.div_ceil(1000);
    let started = Instant::now();
    phase("ingest batches of 1,000 events", &server, batches, clients, move |s, b| {
        let customers = customers.clone();
        async move {
            let customer = &customers[b % customers.len()];
            let now = chrono::Utc::now();
            let batch: Vec<_> = (0..1000)
                .map(|i| {
                    let n = b * 1000 + i;
                    let at = now - chrono::Duration::seconds((n % (29 * 86_400)) as i64);
                    match n % 3 {
                        0 => json!({"event_id": format!("e{n}"), "customer_id": customer, "feature": "api_calls", "timestamp": at}),
                        1 => json!({"event_id": format!("e{n}"), "customer_id": customer, "feature": "bytes", "timestamp": at, "properties": {"mb": (n % 97) as f64 / 4.0}}),
                        _ => json!({"event_id": format!("e{n}"), "customer_id": customer, "feature": "seats", "timestamp": at, "properties": {"n": n % 50}}),
                    }
                })
                .collect();
            let r = s.admin(Method::POST, "/v1/events/batch").json(&json!({"events": batch})).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["accepted"], 1000);
        }
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ingestion: {} events in {secs:.1} s = {:.0} events/s",
        batches * 1000,
        (batches * 1000) as f64 / secs
    );

    if backend != Backend::Postgres || stored == 0 {
        return;
    }
    let heavy = {
        let r = server
            .admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "heavy"}))
            .send()
            .await
            .unwrap();
        r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let tenant = server.state.api_keys.tenant_ids().unwrap()[0].clone();
    let t = Instant::now();
    server.execute_sql(&format!(
        "INSERT INTO usage_events (id, tenant_id, event_id, customer_id, feature_key, timestamp, properties, quantity, received_at) \
         SELECT 'evt_bulk' || g, '{tenant}', 'bulk-' || g, '{heavy}', \
                (ARRAY['api_calls', 'bytes', 'seats'])[1 + g % 3], \
                now() - (g % 2592000) * interval '1 second', '{{}}', \
                CASE g % 3 WHEN 0 THEN 1 ELSE (g % 97) / 4.0 END, now() \
         FROM generate_series(1, {stored}) g; \
         INSERT INTO usage_rollups (tenant_id, customer_id, feature_key, hour, events, quantity_sum, quantity_max) \
         SELECT tenant_id, customer_id, feature_key, date_trunc('hour', timestamp), count(*), sum(quantity), max(quantity) \
         FROM usage_events WHERE customer_id = '{heavy}' GROUP BY 1, 2, 3, 4; ANALYZE;"
    ));
    println!(
        "loaded {stored} raw events for one customer and rebuilt its rollups in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let mut lat = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let r = server
            .admin(
                Method::GET,
                &format!("/v1/customers/{heavy}/usage?window=30d"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    let ms = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    println!("30-day usage report, {stored} events stored: p50 {:.2} ms, p99 {:.2} ms (500 sequential requests)", ms(0.5), ms(0.99));
}
