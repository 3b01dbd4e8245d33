//! Debit benchmark over HTTP:
//!
//!   cargo run --release -p tests --bin wallet-bench -- [postgres|sqlite] [debits] [concurrency]
//!
//! Phase 1: every client debits the same hot wallet (all changes serialise on its lock).
//! Phase 2: debits spread over 1,000 wallets (locks rarely contend).
//! Phase 3: one client debits a wallet holding 10,000 live lots (half of them expiring), each
//! debit drawing from one or two lots: the latency of a debit that must not read them all.

use std::sync::Arc;

use serde_json::json;
use tests::load::phase;
use tests::{Backend, Method, TestServer};

const WALLETS: usize = 1000;
const LOTS: usize = 10_000;

/// One debit over HTTP; panics unless it is taken.
async fn debit(s: &TestServer, wallet: &str, credits: &str) {
    let r = s
        .admin(Method::POST, &format!("/v1/wallets/{wallet}/debit"))
        .json(&json!({ "credits": credits }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.bytes().await.unwrap();
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("sqlite") => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let debits: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(32);
    let server = Arc::new(TestServer::start(backend).expect("set TEST_DATABASE_URL for postgres"));
    println!("backend={backend:?} debits/phase={debits} concurrency={concurrency}");

    let mut wallets = Vec::with_capacity(WALLETS);
    for i in 0..WALLETS {
        let c = server
            .admin(Method::POST, "/v1/customers")
            .json(&json!({"name": format!("W{i}")}))
            .send()
            .await
            .unwrap();
        let cid = c.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let w = server
            .admin(Method::POST, "/v1/wallets")
            .json(&json!({"customer_id": cid, "currency": "USD", "conversion_rate": "0.01"}))
            .send()
            .await
            .unwrap();
        let wid = w.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A few lots per wallet, so debits walk the consumption order.
        for (credits, kind) in [
            ("1000000", "purchased"),
            ("5000", "promotional"),
            ("250000", "purchased"),
        ] {
            let r = server
                .admin(Method::POST, &format!("/v1/wallets/{wid}/top_up"))
                .json(&json!({"credits": credits, "kind": kind}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }
        wallets.push(wid);
    }
    let wallets = Arc::new(wallets);

    let hot = wallets[0].clone();
    phase(
        "debit one hot wallet",
        &server,
        debits,
        concurrency,
        move |s, _| {
            let hot = hot.clone();
            async move { debit(&s, &hot, "1.25").await }
        },
    )
    .await;

    let spread = wallets.clone();
    phase(
        "debit across 1,000 wallets",
        &server,
        debits,
        concurrency,
        move |s, i| {
            let w = spread[(i * 7919) % spread.len()].clone();
            async move { debit(&s, &w, "1.25").await }
        },
    )
    .await;

    let many = wallets[1].clone();
    let later = (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339();
    phase("(top up 10,000 lots)", &server, LOTS, concurrency, {
        let (many, later) = (many.clone(), later.clone());
        move |s, i| {
            let (many, later) = (many.clone(), later.clone());
            async move {
                let mut body = json!({"credits": "3", "priority": i % 4});
                if i % 2 == 0 {
                    body["expires_at"] = json!(later);
                }
                let r = s
                    .admin(Method::POST, &format!("/v1/wallets/{many}/top_up"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        }
    })
    .await;
    // Statistics, as a running database has them (autovacuum) and as `pgbench -i` takes them:
    // a table analyzed while it held no lots makes PostgreSQL read every lot of the wallet and
    // sort them instead of walking the consumption-order index.
    server.execute_sql("ANALYZE credit_lots");
    phase(
        "debit a wallet with 10,000 live lots",
        &server,
        1000,
        1,
        move |s, _| {
            let many = many.clone();
            async move { debit(&s, &many, "2").await }
        },
    )
    .await;
}
