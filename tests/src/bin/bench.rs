//! Load benchmark of the admin API over HTTP:
//!
//!   cargo run --release -p tests --bin bench -- [sqlite|postgres] [requests] [concurrency]
//!
//! Starts the real server (release build, SQLite temp file or a fresh schema in
//! TEST_DATABASE_URL), then measures customer creation (with Idempotency-Key), reads by id,
//! and a searched list page, with `concurrency` clients sharing `requests` requests per phase.
//! Prints throughput and latency percentiles per phase.

use std::sync::Arc;

use serde_json::json;
use tests::load::phase;
use tests::{Backend, Method, TestServer};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let requests: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(32);
    let server = Arc::new(TestServer::start(backend).expect("set TEST_DATABASE_URL for postgres"));
    println!("backend={backend:?} requests/phase={requests} concurrency={concurrency}");

    let ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(requests)));
    let ids_for_create = ids.clone();
    phase("create customer", &server, requests, concurrency, move |s, i| {
        let ids = ids_for_create.clone();
        async move {
            let r = s
                .admin(Method::POST, "/v1/customers")
                .header("Idempotency-Key", format!("bench-{i}"))
                .json(&json!({"name": format!("Customer {i}"), "email": format!("c{i}@bench.test"), "external_id": format!("bench-{i}")}))
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 201);
            let body: serde_json::Value = r.json().await.unwrap();
            ids.lock().unwrap().push(body["id"].as_str().unwrap().to_owned());
        }
    })
    .await;

    let ids = Arc::new(ids.lock().unwrap().clone());
    phase(
        "get customer by id",
        &server,
        requests,
        concurrency,
        move |s, i| {
            let id = ids[i % ids.len()].clone();
            async move {
                let r = s
                    .admin(Method::GET, &format!("/v1/customers/{id}"))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
            }
        },
    )
    .await;

    phase(
        "list customers, q search, limit 20",
        &server,
        requests / 4,
        concurrency,
        |s, i| async move {
            let r = s
                .admin(
                    Method::GET,
                    &format!("/v1/customers?q=c{}@&limit=20", i % 1000),
                )
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
        },
    )
    .await;
}
