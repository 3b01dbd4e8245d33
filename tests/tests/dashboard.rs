//! The customer dashboard (`GET /v1/portal/overview`, `GET /v1/customers/{id}/overview`) is
//! computed from one read of its read model; it must say exactly what the views it sums up say.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use serde_json::{json, Value};
use tests::fixtures::{created, customer, id, portal_session, posted as post, token, wallet};
use tests::{send, Backend, Method, TestServer};

/// The dashboard, read from its read model in one statement, says what the views it sums up
/// say: the wallet list (accrued usage on the wallet billing pays from, the newer of two in the
/// plan's currency), what is owed per currency (an overdue invoice among them), the usage report
/// of the last 7 days in the customer's time zone, the running subscriptions with their plans'
/// names (a pending change named too) and not the ended ones.
async fn the_dashboard_agrees_with_the_views(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    post(
        &s,
        "/v1/features",
        json!({"key": "api_calls", "name": "API calls", "unit": "calls",
        "aggregation": "count", "unit_price": "0.01", "currency": "USD"}),
    )
    .await;
    post(
        &s,
        "/v1/plans",
        json!({"code": "metered", "name": "Metered", "currency": "USD",
        "interval": "month", "amount": "0",
        "charges": [{"feature": "api_calls", "included_quantity": "2", "unit_price": "0.5"}]}),
    )
    .await;
    post(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "EUR",
        "interval": "month", "amount": "9"}),
    )
    .await;
    post(
        &s,
        "/v1/plans",
        json!({"code": "max", "name": "Max", "currency": "EUR",
        "interval": "month", "amount": "19"}),
    )
    .await;
    let cus = customer(
        &s,
        json!({"name": "Ada", "external_id": "ada", "timezone": "Asia/Tokyo"}),
    )
    .await;
    let older = wallet(&s, &cus, "USD", "0.01").await;
    let newer = wallet(&s, &cus, "USD", "0.01").await;
    wallet(&s, &cus, "EUR", "1").await;
    for w in [&older, &newer] {
        post(
            &s,
            &format!("/v1/wallets/{w}/top_up"),
            json!({"credits": "1000"}),
        )
        .await;
    }
    post(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "metered",
        "collection": "send_invoice", "trial_days": 0}),
    )
    .await;
    let pro = post(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "pro",
        "collection": "send_invoice", "trial_days": 0}),
    )
    .await;
    let pro = pro.body["id"].as_str().unwrap().to_owned();
    post(
        &s,
        &format!("/v1/subscriptions/{pro}/change"),
        json!({"plan": "max", "at": "period_end"}),
    )
    .await;
    let ended = post(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "pro",
        "collection": "send_invoice", "trial_days": 0}),
    )
    .await;
    let ended = ended.body["id"].as_str().unwrap().to_owned();
    post(
        &s,
        &format!("/v1/subscriptions/{ended}/cancel"),
        json!({"at": "immediately"}),
    )
    .await;
    let events: Vec<Value> = (0..5)
        .map(|i| json!({"event_id": format!("call-{i}"), "external_customer_id": "ada", "feature": "api_calls"}))
        .collect();
    post(&s, "/v1/events/batch", json!({"events": events})).await;
    for (currency, due) in [
        ("USD", "2020-01-01T00:00:00Z"),
        ("EUR", "2099-01-01T00:00:00Z"),
    ] {
        let inv = created(&s, "/v1/invoices", json!({"customer_id": cus, "currency": currency,
            "due_at": due, "lines": [{"description": "Setup", "quantity": "1", "unit_amount": "12.50"}]}))
        .await;
        post(
            &s,
            &format!("/v1/invoices/{}/finalize", id(&inv)),
            json!({}),
        )
        .await;
    }
    let t = token(&portal_session(&s, json!({"customer_id": cus})).await);

    let dash = send(s.portal(Method::GET, "/v1/portal/overview", &t)).await;
    assert_eq!(dash.status, 200, "{backend:?}: {}", dash.body);
    let admin = send(s.admin(Method::GET, &format!("/v1/customers/{cus}/overview"))).await;
    // The same, but for the usage window's ends (each request's own "now").
    let without_window = |mut v: Value| {
        v["usage_7d"]["from"] = Value::Null;
        v["usage_7d"]["to"] = Value::Null;
        v
    };
    assert_eq!(
        without_window(admin.body),
        without_window(dash.body.clone()),
        "{backend:?}: the admin's dashboard is the customer's"
    );
    let d = &dash.body;

    let wallets = send(s.admin(
        Method::GET,
        &format!("/v1/wallets?customer_id={cus}&limit=100"),
    ))
    .await;
    assert_eq!(d["wallets"], wallets.body["data"], "{backend:?}: wallets");
    let ongoing = |w: &str| {
        let found = d["wallets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == w);
        let found = found.unwrap();
        (found["balance"].clone(), found["ongoing_balance"].clone())
    };
    // 3 calls past the included 2, at 0.50: 1.50 USD, 150 credits, on the newer USD wallet.
    assert_eq!(
        ongoing(&newer),
        (json!("1000"), json!("850")),
        "{backend:?}: {d}"
    );
    assert_eq!(
        ongoing(&older),
        (json!("1000"), json!("1000")),
        "{backend:?}: {d}"
    );

    let summary = send(s.portal(Method::GET, "/v1/portal/invoices/summary", &t)).await;
    assert_eq!(
        d["outstanding"], summary.body["data"],
        "{backend:?}: outstanding"
    );
    assert_eq!(
        d["outstanding"].as_array().unwrap().len(),
        2,
        "{backend:?}: {}",
        d["outstanding"]
    );

    let usage = send(s.portal(
        Method::GET,
        "/v1/portal/usage?window=7d&granularity=day",
        &t,
    ))
    .await;
    for part in ["granularity", "series", "breakdown"] {
        assert_eq!(
            d["usage_7d"][part], usage.body[part],
            "{backend:?}: usage {part}"
        );
    }

    let subs = send(s.portal(Method::GET, "/v1/portal/subscriptions", &t)).await;
    let running: Vec<&Value> = subs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"] != ended.as_str())
        .collect();
    assert_eq!(
        d["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        running,
        "{backend:?}: subscriptions"
    );
    assert_eq!(running.len(), 2);
    assert!(
        running.iter().any(|s| s["pending_plan_name"] == "Max"),
        "{backend:?}: {running:?}"
    );

    // Another account's customer is not found, whatever the parts.
    let theirs = send(
        s.request(Method::GET, &format!("/v1/customers/{cus}/overview"))
            .header("x-api-key", s.other_tenant_key()),
    )
    .await;
    theirs.assert_problem(404, "customer_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_agrees_with_the_views_sqlite() {
    the_dashboard_agrees_with_the_views(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn the_dashboard_agrees_with_the_views_postgres() {
    the_dashboard_agrees_with_the_views(Backend::Postgres).await;
}
