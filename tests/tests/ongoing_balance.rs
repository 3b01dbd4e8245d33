//! A wallet's `ongoing_balance` over HTTP: the balance less the usage accrued this period and
//! not yet invoiced, priced by the plan (included quantity, flat and graduated prices) at the
//! wallet's rate, exact as of the last accepted event — in the admin API, the portal's wallets
//! and its overview, with no job between the event and the figure.

use serde_json::{json, Value};
use tests::fixtures::{created, customer, feature, portal_session, token, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    ongoing_balance_counts_usage_not_yet_invoiced,
    usage_crossing_the_threshold_alerts_once,
);

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn ongoing(s: &TestServer, w: &str) -> (String, String, String) {
    let b = get(s, &format!("/v1/wallets/{w}")).await;
    let text = |k: &str| {
        b[k].as_str()
            .unwrap_or_else(|| panic!("{k} in {b}"))
            .to_owned()
    };
    (
        text("balance"),
        text("ongoing_balance"),
        text("ongoing_balance_value"),
    )
}

async fn event(s: &TestServer, c: &str, id: &str, feature: &str, properties: Value) {
    let r = post(
        s,
        "/v1/events",
        json!({"event_id": id, "customer_id": c, "feature": feature, "properties": properties}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
}

/// The account's features and a metered plan; a customer with a USD wallet (1 credit = 0.01)
/// and a EUR wallet, 1,000 credits each, subscribed to the plan, paying from the wallet.
/// Returns (customer, USD wallet, EUR wallet, subscription).
async fn metered(s: &TestServer) -> (String, String, String, String) {
    feature(
        s,
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count",
               "unit_price": "0.01", "currency": "USD"}),
    )
    .await;
    feature(
        s,
        json!({"key": "tokens", "name": "Tokens", "unit": "tokens", "aggregation": "sum",
               "value_property": "n", "unit_price": "0.001", "currency": "USD"}),
    )
    .await;
    // 10 calls included, then 0.50 each; tokens 0.01 each up to 100, then 0.001.
    created(
        s,
        "/v1/plans",
        json!({"code": "metered", "name": "Metered", "currency": "USD", "interval": "month",
               "amount": "0",
               "charges": [{"feature": "api_calls", "included_quantity": "10", "unit_price": "0.5"},
                           {"feature": "tokens", "tiers": [{"up_to": "100", "unit_price": "0.01"},
                                                           {"up_to": null, "unit_price": "0.001"}]}],
               "entitlements": [{"feature": "api_calls", "limit": "1000"}]}),
    )
    .await;
    let c = customer(s, json!({"name": "Metered customer"})).await;
    // One credit is worth 0.01 USD; the euro wallet pays nothing of a USD plan.
    let usd = wallet(s, &c, "USD", "0.01").await;
    let eur = wallet(s, &c, "EUR", "1").await;
    for w in [&usd, &eur] {
        let r = post(
            s,
            &format!("/v1/wallets/{w}/top_up"),
            json!({"credits": "1000"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let sub = post(
        s,
        "/v1/subscriptions",
        json!({"customer_id": c, "plan": "metered", "collection": "wallet", "trial_days": 0}),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let sub = sub.body["id"].as_str().unwrap().to_owned();
    (c, usd, eur, sub)
}

async fn ongoing_balance_counts_usage_not_yet_invoiced(s: TestServer) {
    let (c, usd, eur, sub) = metered(&s).await;
    let none = ("1000".to_owned(), "1000".to_owned(), "10.00".to_owned());
    assert_eq!(ongoing(&s, &usd).await, none, "nothing used yet");

    // 14 calls (4 past the included 10) = 2.00; 150 tokens = 1.00 + 0.05: 3.05 USD = 305 credits.
    for i in 0..14 {
        event(&s, &c, &format!("call-{i}"), "api_calls", json!({})).await;
    }
    event(&s, &c, "call-3", "api_calls", json!({})).await; // a duplicate counts once
    event(&s, &c, "tok-1", "tokens", json!({"n": "150"})).await;
    let after = ("1000".to_owned(), "695".to_owned(), "6.95".to_owned());
    assert_eq!(ongoing(&s, &usd).await, after, "the period so far, priced");
    assert_eq!(
        ongoing(&s, &eur).await,
        ("1000".to_owned(), "1000".to_owned(), "1000.00".to_owned()),
        "a wallet in another currency accrues nothing"
    );

    // An atomic consume counts at once: one more call, 0.50 = 50 credits.
    let consumed = post(
        &s,
        "/v1/entitlements/check",
        json!({"customer_id": c, "feature": "api_calls", "consume": true, "event_id": "call-14"}),
    )
    .await;
    assert_eq!(
        consumed.body["event_status"], "accepted",
        "{}",
        consumed.body
    );
    assert_eq!(ongoing(&s, &usd).await.1, "645");

    // The admin list, the portal's wallets and its overview say the same.
    let listed = get(&s, &format!("/v1/wallets?customer_id={c}")).await;
    let of = |list: &Value, w: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == w)
            .unwrap()["ongoing_balance"]
            .clone()
    };
    assert_eq!(of(&listed["data"], &usd), "645");
    let t = token(&portal_session(&s, json!({"customer_id": c})).await);
    let mine = send(s.portal(Method::GET, "/v1/portal/wallets", &t)).await;
    assert_eq!(of(&mine.body["data"], &usd), "645", "{}", mine.body);
    assert_eq!(of(&mine.body["data"], &eur), "1000");
    let one = send(s.portal(Method::GET, &format!("/v1/portal/wallets/{usd}"), &t)).await;
    assert_eq!(one.body["ongoing_balance_value"], "6.45", "{}", one.body);
    let overview = send(s.portal(Method::GET, "/v1/portal/overview", &t)).await;
    assert_eq!(
        of(&overview.body["wallets"], &usd),
        "645",
        "{}",
        overview.body
    );

    // Paused: nothing is billed for the period, so nothing accrues.
    let paused = post(&s, &format!("/v1/subscriptions/{sub}/pause"), json!({})).await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(ongoing(&s, &usd).await.1, "1000");
}

/// 30 calls at once against a threshold of 900 credits: each call past the 10 included takes 50,
/// so the 13th takes the ongoing balance from 900 to 850. Exactly one `wallet.low_balance`
/// (trigger `usage`), sent by the transaction of that event, whatever the interleaving; none for
/// the calls after it, nor for the duplicates.
async fn usage_crossing_the_threshold_alerts_once(s: TestServer) {
    let (c, usd, _, _) = metered(&s).await;
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{usd}"))
            .json(&json!({"low_balance_threshold": "900"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let calls = (0..30).map(|i| {
        let (s, c) = (&s, &c);
        async move { event(s, c, &format!("call-{}", i % 25), "api_calls", json!({})).await }
    });
    futures_util::future::join_all(calls).await;
    // 25 distinct calls: 15 past the included 10, 750 credits.
    assert_eq!(ongoing(&s, &usd).await.1, "250");
    let alerts = get(&s, "/v1/webhook_events?type=wallet.low_balance").await;
    let alerts = alerts["data"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let data = &alerts[0]["payload"]["data"];
    assert_eq!(
        (
            &data["trigger"],
            &data["ongoing_balance"],
            &data["balance"],
            &data["wallet_id"]
        ),
        (&json!("usage"), &json!("850"), &json!("1000"), &json!(usd))
    );
}
