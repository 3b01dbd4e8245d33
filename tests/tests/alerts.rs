//! Alerts customers set on their usage, spend and credit balance, over HTTP on both backends:
//! set in the portal under `alerts_manage` (and by the merchant), refused with a clear problem
//! when malformed, invisible to another customer, and fired once per crossing per period by the
//! transaction that crosses them (racing events included), as webhook `alert.triggered` with its
//! e-mail.

use chrono::{Datelike, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use tests::fixtures::{created, customer, feature, portal_session, token, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    customers_manage_their_own_alerts,
    usage_alert_fires_once_per_period_under_racing_events,
    spend_alert_fires_when_the_month_reaches_it,
    credit_balance_alert_fires_at_each_fall_below,
);

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

/// The `alert.triggered` events' payloads, oldest first.
async fn triggered(s: &TestServer) -> Vec<Value> {
    let mut all: Vec<Value> = get(s, "/v1/webhook_events?type=alert.triggered&limit=100").await
        ["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["data"].clone())
        .collect();
    all.reverse();
    all
}

async fn session_token(s: &TestServer, c: &str, manage: bool) -> String {
    token(
        &portal_session(
            s,
            json!({"customer_id": c, "invalidate_existing": false,
                   "permissions": {"alerts_manage": {"enabled": manage}}}),
        )
        .await,
    )
}

async fn portal_post(s: &TestServer, t: &str, path: &str, body: Value) -> Reply {
    send(s.portal(Method::POST, path, t).json(&body)).await
}

async fn calls_feature(s: &TestServer) {
    let r = feature(
        s,
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count",
               "unit_price": "0.01", "currency": "USD"}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
}

async fn customers_manage_their_own_alerts(s: TestServer) {
    calls_feature(&s).await;
    let ada = customer(&s, json!({"name": "Ada", "email": "ada@example.com"})).await;
    let bob = customer(&s, json!({"name": "Bob"})).await;
    let t = session_token(&s, &ada, true).await;
    let r = portal_post(
        &s,
        &t,
        "/v1/portal/alerts",
        json!({"type": "usage", "feature": "api_calls", "threshold": "1000"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (
            &r.body["type"],
            &r.body["feature"],
            &r.body["threshold"],
            &r.body["created_by"]
        ),
        (
            &json!("usage"),
            &json!("api_calls"),
            &json!("1000"),
            &json!("customer")
        )
    );
    let alert = r.body["id"].as_str().unwrap().to_owned();
    assert!(alert.starts_with("alrt_"), "{alert}");

    // Bad input: a problem naming the field, and nothing stored.
    for (body, field) in [
        (
            json!({"type": "usage", "feature": "api_calls", "threshold": "0"}),
            "threshold",
        ),
        (
            json!({"type": "usage", "feature": "api_calls", "threshold": "-5"}),
            "threshold",
        ),
        (
            json!({"type": "usage", "feature": "api_calls", "threshold": "lots"}),
            "threshold",
        ),
        (
            json!({"type": "usage", "feature": "ghost", "threshold": "1"}),
            "feature",
        ),
        (json!({"type": "usage", "threshold": "1"}), "feature"),
        (json!({"type": "spend", "threshold": "1"}), "currency"),
        (
            json!({"type": "spend", "currency": "XXQ", "threshold": "1"}),
            "currency",
        ),
        (
            json!({"type": "credit_balance", "feature": "api_calls", "threshold": "1"}),
            "feature",
        ),
        (json!({"type": "weather", "threshold": "1"}), "type"),
    ] {
        let r = portal_post(&s, &t, "/v1/portal/alerts", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body}: {}", r.body);
    }
    // Without the permission, and in an admin preview: refused.
    let ro = session_token(&s, &ada, false).await;
    let r = portal_post(
        &s,
        &ro,
        "/v1/portal/alerts",
        json!({"type": "credit_balance", "threshold": "10"}),
    )
    .await;
    r.assert_problem(403, "action_not_allowed");
    let r = send(s.portal(Method::DELETE, &format!("/v1/portal/alerts/{alert}"), &ro)).await;
    r.assert_problem(403, "action_not_allowed");
    // Reading needs no permission.
    let list = send(s.portal(Method::GET, "/v1/portal/alerts", &ro)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        list.body
    );

    // Another customer neither sees nor removes it.
    let tb = session_token(&s, &bob, true).await;
    let theirs = send(s.portal(Method::GET, "/v1/portal/alerts", &tb)).await;
    assert_eq!(theirs.body["data"], json!([]));
    send(s.portal(Method::DELETE, &format!("/v1/portal/alerts/{alert}"), &tb))
        .await
        .assert_problem(404, "alert_not_found");

    // The merchant sees the customer's alerts, sets one, and removes one.
    let mine = get(&s, &format!("/v1/customers/{ada}/alerts")).await;
    assert_eq!(mine["data"][0]["id"], json!(alert));
    let r = post(
        &s,
        &format!("/v1/customers/{ada}/alerts"),
        json!({"type": "spend", "currency": "usd", "threshold": "250.50"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (&r.body["currency"], &r.body["created_by"]),
        (&json!("USD"), &json!("merchant"))
    );
    let spend = r.body["id"].as_str().unwrap().to_owned();
    send(s.admin(
        Method::DELETE,
        &format!("/v1/customers/{bob}/alerts/{spend}"),
    ))
    .await
    .assert_problem(404, "alert_not_found");
    let gone = send(s.admin(
        Method::DELETE,
        &format!("/v1/customers/{ada}/alerts/{spend}"),
    ))
    .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    send(s.admin(
        Method::GET,
        "/v1/customers/cus_00000000000000000000000000/alerts",
    ))
    .await
    .assert_problem(404, "customer_not_found");
    // The customer removes theirs; it is gone for the merchant too.
    let r = send(s.portal(Method::DELETE, &format!("/v1/portal/alerts/{alert}"), &t)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        get(&s, &format!("/v1/customers/{ada}/alerts")).await["data"],
        json!([])
    );
    // Both of the customer's writes are in the audit log.
    let audit = get(&s, &format!("/v1/audit_events?customer_id={ada}")).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("alert."))
        .collect();
    assert_eq!(actions, ["alert.deleted", "alert.created"], "{audit}");
}

/// 10 calls to reach the threshold, sent as 25 racing requests of which 5 repeat an event
/// id: the alert fires once, from the transaction whose event made the 10th call, and not for
/// the calls after it. Last month's calls are another period: it fires there once more.
async fn usage_alert_fires_once_per_period_under_racing_events(s: TestServer) {
    calls_feature(&s).await;
    let c = customer(&s, json!({"name": "Racer", "email": "racer@example.com"})).await;
    let r = post(
        &s,
        &format!("/v1/customers/{c}/alerts"),
        json!({"type": "usage", "feature": "api_calls", "threshold": "10"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let alert = r.body["id"].as_str().unwrap().to_owned();
    let calls = (0..25).map(|i| {
        let (s, c) = (&s, &c);
        async move {
            let r = post(s, "/v1/events",
                json!({"event_id": format!("call-{}", i % 20), "customer_id": c, "feature": "api_calls"})).await;
            assert!(r.status.is_success(), "{}", r.body);
        }
    });
    futures_util::future::join_all(calls).await;
    let fired = triggered(&s).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (
            &fired[0]["alert_id"],
            &fired[0]["customer_id"],
            &fired[0]["value"],
            &fired[0]["threshold"]
        ),
        (&json!(alert), &json!(c), &json!("10"), &json!("10"))
    );
    // Last month is another period.
    let now = Utc::now();
    let last_month = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .unwrap()
        - Duration::hours(1);
    let batch: Vec<Value> = (0..12)
        .map(|i| {
            json!({"event_id": format!("old-{i}"), "customer_id": c,
        "feature": "api_calls", "timestamp": last_month.to_rfc3339()})
        })
        .collect();
    let r = post(&s, "/v1/events/batch", json!({"events": batch})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fired = triggered(&s).await;
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert_eq!(fired[1]["value"], json!("12"));
    assert_ne!(fired[0]["period"], fired[1]["period"]);
    // The alert says when it last fired, and each firing brought the customer an e-mail.
    assert!(
        get(&s, &format!("/v1/customers/{c}/alerts")).await["data"][0]["triggered_at"].is_string()
    );
    let mails = get(
        &s,
        &format!("/v1/emails?kind=alert_triggered&customer_id={c}"),
    )
    .await;
    assert_eq!(mails["data"].as_array().unwrap().len(), 2, "{mails}");
    assert_eq!(mails["data"][0]["to"], json!("racer@example.com"));
}

async fn invoice(s: &TestServer, c: &str, amount: &str) {
    let r = created(
        s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "USD",
        "lines": [{"description": "Services", "quantity": "1", "unit_amount": amount}]}),
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let f = post(s, &format!("/v1/invoices/{id}/finalize"), json!({})).await;
    assert_eq!(f.status, 200, "{}", f.body);
}

/// 60, then 50 (the month reaches 110 ≥ 100: fires), then 10 (already past: nothing). A EUR
/// invoice does not count toward a USD alert.
async fn spend_alert_fires_when_the_month_reaches_it(s: TestServer) {
    let c = customer(&s, json!({"name": "Spender"})).await;
    let r = post(
        &s,
        &format!("/v1/customers/{c}/alerts"),
        json!({"type": "spend", "currency": "USD", "threshold": "100"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    invoice(&s, &c, "60").await;
    let r = created(
        &s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "EUR",
        "lines": [{"description": "Other", "quantity": "1", "unit_amount": "500"}]}),
    )
    .await;
    let eur = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        post(&s, &format!("/v1/invoices/{eur}/finalize"), json!({}))
            .await
            .status,
        200
    );
    assert!(triggered(&s).await.is_empty());
    invoice(&s, &c, "50").await;
    invoice(&s, &c, "10").await;
    let fired = triggered(&s).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (&fired[0]["type"], &fired[0]["value"], &fired[0]["currency"]),
        (&json!("spend"), &json!("110"), &json!("USD"))
    );
}

/// 100 credits, an alert below 50: debits of 30 (70), 30 (40: fires), 10 (30); a top-up to 130
/// and a debit of 100 (30: fires again); a top-up to 130 and the wallet closed (nothing).
/// Another customer's wallet is not watched.
async fn credit_balance_alert_fires_at_each_fall_below(s: TestServer) {
    let c = customer(&s, json!({"name": "Saver"})).await;
    let w = wallet(&s, &c, "USD", "1").await;
    let other = customer(&s, json!({"name": "Other"})).await;
    let ow = wallet(&s, &other, "USD", "1").await;
    for wal in [&w, &ow] {
        let r = post(
            &s,
            &format!("/v1/wallets/{wal}/top_up"),
            json!({"credits": "100"}),
        )
        .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let r = post(
        &s,
        &format!("/v1/customers/{c}/alerts"),
        json!({"type": "credit_balance", "threshold": "50"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let debit = |wal: String, credits: &'static str| {
        let s = &s;
        async move {
            let r = post(
                s,
                &format!("/v1/wallets/{wal}/debit"),
                json!({"credits": credits}),
            )
            .await;
            assert!(r.status.is_success(), "{}", r.body);
        }
    };
    debit(w.clone(), "30").await;
    debit(ow.clone(), "90").await;
    assert!(triggered(&s).await.is_empty());
    debit(w.clone(), "30").await;
    debit(w.clone(), "10").await;
    let r = post(
        &s,
        &format!("/v1/wallets/{w}/top_up"),
        json!({"credits": "100"}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    debit(w.clone(), "100").await;
    // Closing the wallet (its balance voided) is not a fall below the threshold.
    let r = post(
        &s,
        &format!("/v1/wallets/{w}/top_up"),
        json!({"credits": "100"}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let closed = post(&s, &format!("/v1/wallets/{w}/close"), json!({})).await;
    assert!(closed.status.is_success(), "{}", closed.body);
    let fired = triggered(&s).await;
    let values: Vec<&Value> = fired.iter().map(|f| &f["value"]).collect();
    assert_eq!(values, [&json!("40"), &json!("30")], "{fired:?}");
    assert!(fired
        .iter()
        .all(|f| f["wallet_id"] == json!(w) && f["type"] == json!("credit_balance")));
}
