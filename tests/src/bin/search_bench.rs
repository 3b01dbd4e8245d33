//! Search benchmark:
//!
//!   cargo run --release -p tests --bin search-bench -- [sqlite|postgres] [customers]
//!
//! Loads `customers` customers (default 100,000; in one SQL statement, so the search indexes are
//! kept by the same triggers as in service) and as many finalized invoices, then times `q`
//! searches over HTTP with one client (latency) and with 32 (throughput): a string one customer
//! has (part of an email), a string 1 in 10 have, and part of an invoice number.

use std::sync::Arc;

use serde_json::Value;
use tests::load::phase;
use tests::{Backend, Method, TestServer};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let server = Arc::new(TestServer::start(backend).expect("set TEST_DATABASE_URL for postgres"));
    let r = server
        .admin(Method::POST, "/v1/customers")
        .json(&serde_json::json!({"name": "template"}))
        .send()
        .await
        .unwrap();
    let template: Value = r.json().await.unwrap();
    let tenant = server.query_texts(&format!(
        "SELECT tenant_id AS v FROM customers WHERE id = '{}'",
        template["id"].as_str().unwrap()
    ))[0]
        .clone();
    let started = std::time::Instant::now();
    // Ids are valid ULIDs ("01" and 24 digits); every tenth customer is a "Gold" one.
    let (series, pad, now) = match backend {
        Backend::Postgres => (
            format!("generate_series(1, {n}) g(n)"),
            "lpad(n::text, 24, '0')",
            "now()",
        ),
        Backend::Sqlite => (
            format!("(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s) g"),
            "printf('%024d', n)",
            "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'",
        ),
    };
    server.execute_sql(&format!(
        "INSERT INTO customers (id, tenant_id, external_id, name, email, timezone, metadata, status, created_at, updated_at)
           SELECT 'cus_01' || {pad}, '{tenant}', 'ext-' || n,
                  CASE WHEN n % 10 = 0 THEN 'Gold Member ' || n ELSE 'Customer ' || n END,
                  'user' || n || '@mail' || (n % 97) || '.test', 'UTC', '{{}}', 'active', {now}, {now}
           FROM {series};
         INSERT INTO invoices (id, tenant_id, customer_id, number, status, payment_status, currency, lines,
             subtotal, total, total_minor, amount_paid, issued_at, created_at, updated_at)
           SELECT 'inv_01' || {pad}, '{tenant}', 'cus_01' || {pad}, 'INV-202601-' || {pad},
                  'finalized', 'unpaid', 'USD', '[]', 10, 10, 1000, 0, {now}, {now}, {now}
           FROM {series};"
    ));
    if backend == Backend::Postgres {
        server.execute_sql("ANALYZE customers; ANALYZE invoices;");
    }
    println!(
        "backend={backend:?} customers={n} invoices={n} loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let probe = n / 2 + 7;
    let searches = [
        (
            "one customer (part of an email)",
            format!("/v1/customers?q=user{probe}%40mail"),
        ),
        (
            "1 in 10 customers (\"gold member\")",
            "/v1/customers?q=gold%20member".to_owned(),
        ),
        (
            "one invoice (part of its number)",
            format!("/v1/invoices?q={:024}", probe),
        ),
    ];
    for (name, path) in &searches {
        let r = server.admin(Method::GET, path).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        assert!(
            !body["data"].as_array().unwrap().is_empty(),
            "{path}: {body}"
        );
        for (clients, requests) in [(1, 300), (32, 3000)] {
            let path = path.clone();
            phase(
                &format!("{name}, {clients} client(s)"),
                &server,
                requests,
                clients,
                move |s, _| {
                    let path = path.clone();
                    async move {
                        let r = s.admin(Method::GET, &path).send().await.unwrap();
                        assert_eq!(r.status(), 200);
                        r.bytes().await.unwrap();
                    }
                },
            )
            .await;
        }
    }
}
