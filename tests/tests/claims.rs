//! The workers' row locks stay in one account (one shard when the database is distributed by
//! `tenant_id`), shown by the statement log: the real server runs its billing, webhook and e-mail
//! workers for two accounts, and every statement its connections send is recorded (diesel's
//! connection instrumentation, SQL with its bound values). Each claim names one account; the
//! only statements that look across accounts are the lock-free reads finding which have work.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::receiver::Receiver;
use tests::smtp::SmtpSink;
use tests::{send, Backend, Method, Reply, TestServer};

async fn post(s: &TestServer, key: &str, path: &str, body: Value) -> Reply {
    let r = send(
        s.request(Method::POST, path)
            .header("x-api-key", key)
            .json(&body),
    )
    .await;
    assert!(
        r.status.is_success(),
        "POST {path}: {} {}",
        r.status,
        r.body
    );
    r
}

/// One account's work for every worker: a customer with an address, a webhook endpoint, a
/// subscription made due, a finalized invoice (an e-mail and a webhook event).
async fn account_with_work(s: &TestServer, key: &str, rx: &Receiver) {
    post(s, key, "/v1/webhook_endpoints", json!({"url": rx.url})).await;
    let c = post(
        s,
        key,
        "/v1/customers",
        json!({"name": "Ada", "email": "ada@example.test"}),
    )
    .await;
    let c = c.body["id"].as_str().unwrap().to_owned();
    post(
        s,
        key,
        "/v1/plans",
        json!({"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "amount": "5"}),
    )
    .await;
    let sub = post(
        s,
        key,
        "/v1/subscriptions",
        json!({"customer_id": c, "plan": "basic", "collection": "send_invoice"}),
    )
    .await;
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    s.execute_sql(&format!(
        "UPDATE subscriptions SET due_at = '{an_hour_ago}' WHERE id = '{}'",
        sub.body["id"].as_str().unwrap()
    ));
    let inv = post(
        s,
        key,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "USD",
               "lines": [{"description": "Setup", "quantity": "1", "unit_amount": "10"}]}),
    )
    .await;
    let inv = inv.body["id"].as_str().unwrap();
    post(s, key, &format!("/v1/invoices/{inv}/finalize"), json!({})).await;
}

/// The claims of one queue: statements with its due predicate that are not a discovery read.
fn claims<'a>(log: &'a [String], table: &str, due: &str) -> Vec<&'a String> {
    log.iter()
        .filter(|q| q.contains(&format!("FROM \"{table}\"")) && q.contains(due))
        .filter(|q| !q.contains("GROUP BY"))
        .collect()
}

async fn workers_lock_one_account_at_a_time(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    tests::statements::clear();
    let Some(s) = TestServer::start_with(backend, move |c| {
        c.smtp_url = Some(url);
        c.mail_from = Some("billing@northwind.test".into());
        c.mail_poll_ms = 100;
        c.webhooks_poll_ms = 50;
        c.billing_interval_secs = 1;
    }) else {
        return;
    };
    let (rx_a, rx_b) = (Receiver::start(), Receiver::start());
    let other = s.other_tenant_key();
    account_with_work(&s, &s.key, &rx_a).await;
    account_with_work(&s, &other, &rx_b).await;
    let tenants = s.query_texts("SELECT id AS v FROM tenants ORDER BY id");
    assert_eq!(tenants.len(), 2);

    // Every worker has served both accounts: both receivers heard, both e-mails went, and both
    // subscriptions were stepped by the billing worker (no longer due an hour ago).
    let half_an_hour_ago = (chrono::Utc::now() - chrono::Duration::minutes(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let start = Instant::now();
    loop {
        let billed = s.query_texts(&format!(
            "SELECT id AS v FROM subscriptions WHERE due_at IS NULL OR due_at > '{half_an_hour_ago}'"
        ));
        if !rx_a.received().is_empty()
            && !rx_b.received().is_empty()
            && sink.messages().len() >= 2
            && billed.len() == 2
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "workers did not finish: {} {} {} {}",
            rx_a.received().len(),
            rx_b.received().len(),
            sink.messages().len(),
            billed.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = tests::statements::snapshot();

    let queues = [
        ("subscriptions", "\"subscriptions\".\"due_at\" <="),
        ("emails", "status = 'queued'"),
        ("webhook_deliveries", "status = 'pending'"),
        ("webhook_events", "NOT (\"webhook_events\".\"dispatched\")"),
    ];
    for (table, due) in queues {
        let found = claims(&log, table, due);
        for tenant in &tenants {
            assert!(
                found.iter().any(|q| q.contains(tenant.as_str())),
                "{backend:?}: no claim of {table} for {tenant}"
            );
        }
        for q in &found {
            assert!(
                q.contains(&format!("\"{table}\".\"tenant_id\" = ")),
                "{backend:?}: a claim of {table} that names no account: {q}"
            );
        }
        // The discovery reads take no locks.
        let discovery = log
            .iter()
            .filter(|q| q.contains(&format!("FROM \"{table}\"")) && q.contains("GROUP BY"));
        for q in discovery {
            assert!(!q.contains("FOR UPDATE"), "{backend:?}: {q}");
        }
    }
    // On PostgreSQL every row lock the server took, by any worker or request, named its account.
    let locks: Vec<&String> = log.iter().filter(|q| q.contains("FOR UPDATE")).collect();
    if backend == Backend::Postgres {
        assert!(
            locks.iter().any(|q| q.contains("SKIP LOCKED")),
            "claims were seen"
        );
    }
    for q in locks {
        assert!(
            q.contains("\"tenant_id\" = "),
            "{backend:?}: a row lock across accounts: {q}"
        );
    }
}

/// Both backends in one test, one after the other: the statement log is the process's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_claim_per_account() {
    tests::statements::record();
    workers_lock_one_account_at_a_time(Backend::Sqlite).await;
    workers_lock_one_account_at_a_time(Backend::Postgres).await;
}
