//! How many statements each portal read sends to the database, counted by the statement log
//! (diesel's connection instrumentation sees every statement a server connection sends,
//! `BEGIN` and `COMMIT` included): the session check rides with the page's own read, so a
//! portal read costs at most two round trips and the dashboard at most three. A change that adds
//! a query to one of these paths fails here rather than in a benchmark.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use serde_json::{json, Value};
use tests::fixtures::{created, customer, id, portal_session, posted as post, token, wallet};
use tests::{send, Backend, Method, Reply, TestServer};

/// The statements the server sent while answering `path` for `token` (the test servers run no
/// background workers, so every statement in the window is the request's).
async fn statements(s: &TestServer, path: &str, token: &str) -> (Reply, Vec<String>) {
    tests::statements::clear();
    let reply = send(s.portal(Method::GET, path, token)).await;
    (reply, tests::statements::take())
}

/// A customer with what the dashboard shows: a wallet with top-ups and debits, a subscription,
/// usage, finalized invoices.
async fn seeded(s: &TestServer) -> (String, String, String) {
    let cus = customer(s, json!({"name": "Ada", "external_id": "ada"})).await;
    let wal = wallet(s, &cus, "USD", "0.01").await;
    for i in 0..3 {
        let top_up = json!({"credits": "1000", "reference": format!("order-{i}")});
        post(s, &format!("/v1/wallets/{wal}/top_up"), top_up).await;
        let debit = json!({"credits": "25", "reason": "usage"});
        post(s, &format!("/v1/wallets/{wal}/debit"), debit).await;
    }
    post(
        s,
        "/v1/features",
        json!({"key": "api_calls", "name": "API calls", "unit": "calls",
        "aggregation": "count", "unit_price": "0.0002", "currency": "USD"}),
    )
    .await;
    post(s, "/v1/plans", json!({"code": "pro", "name": "Pro", "currency": "USD",
        "interval": "month", "amount": "49", "entitlements": [{"feature": "api_calls", "limit": "1000"}]}))
    .await;
    post(
        s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "pro", "trial_days": 0,
        "collection": "send_invoice"}),
    )
    .await;
    let events: Vec<Value> = (0..5)
        .map(|i| json!({"event_id": format!("ev-{i}"), "external_customer_id": "ada", "feature": "api_calls"}))
        .collect();
    post(s, "/v1/events/batch", json!({"events": events})).await;
    let mut invoice = String::new();
    for i in 0..3 {
        let inv = created(
            s,
            "/v1/invoices",
            json!({"customer_id": cus, "currency": "USD",
            "memo": format!("Month {i}"),
            "lines": [{"description": "Pro plan", "quantity": "1", "unit_amount": "49"}]}),
        )
        .await;
        invoice = id(&inv);
        post(s, &format!("/v1/invoices/{invoice}/finalize"), json!({})).await;
    }
    (cus, wal, invoice)
}

async fn portal_reads_are_one_or_two_round_trips(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (cus, wal, invoice) = seeded(&s).await;
    // An idle timeout, used well within the first half of its window: no write on use.
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": cus, "idle_timeout_seconds": 1800}),
        )
        .await,
    );
    // (path, most statements): the session check and the page's read; the dashboard reads its
    // read model in two. A wallet's own view also reads what its accrued usage is priced from
    // (the read model's first statement) and sums the credits about to expire, per wallet; a
    // page of subscriptions reads their plans at once.
    let reads = [
        ("/v1/portal/session".to_owned(), 1),
        ("/v1/portal/invoices?limit=20".to_owned(), 2),
        (format!("/v1/portal/invoices/{invoice}"), 2),
        (format!("/v1/portal/wallets/{wal}/transactions?limit=20"), 2),
        ("/v1/portal/overview".to_owned(), 3),
        (format!("/v1/portal/wallets/{wal}"), 4),
        ("/v1/portal/wallets".to_owned(), 4),
        ("/v1/portal/subscriptions".to_owned(), 3),
    ];
    let mut over = Vec::new();
    for (path, most) in &reads {
        let (reply, log) = statements(&s, path, &t).await;
        assert_eq!(reply.status, 200, "{backend:?} {path}: {}", reply.body);
        assert!(
            !log.is_empty(),
            "{backend:?} {path}: the session row is read"
        );
        eprintln!("{backend:?} {path}: {} statements", log.len());
        if log.len() > *most {
            over.push(format!(
                "{path}: {} statements, at most {most} expected:\n  {}",
                log.len(),
                log.join("\n  ")
            ));
        }
    }
    assert!(over.is_empty(), "{backend:?}:\n{}", over.join("\n"));

    // Another customer's invoice is still a 404, and a revoked session is refused at once.
    let other = customer(&s, json!({"name": "Bob"})).await;
    let theirs = token(&portal_session(&s, json!({"customer_id": other})).await);
    let (r, _) = statements(&s, &format!("/v1/portal/invoices/{invoice}"), &theirs).await;
    r.assert_problem(404, "invoice_not_found");
    let sid = send(s.portal(Method::GET, "/v1/portal/session", &t))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = send(s.admin(Method::DELETE, &format!("/v1/portal_sessions/{sid}"))).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    for (path, _) in &reads {
        let (r, _) = statements(&s, path, &t).await;
        r.assert_problem(401, "session_revoked");
    }
}

/// Both backends in one test, one after the other: the statement log is the process's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_reads_count_their_statements() {
    tests::statements::record();
    portal_reads_are_one_or_two_round_trips(Backend::Sqlite).await;
    portal_reads_are_one_or_two_round_trips(Backend::Postgres).await;
}
