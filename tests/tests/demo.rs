//! `portal-api serve --demo` seeds one customer with data on every portal screen, idempotently,
//! and hands out a working login URL and session token.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(demo_data_is_seeded_once_and_opens_the_portal);

async fn seed(s: &TestServer) -> api::demo::DemoLogin {
    let state = s.state.clone();
    tokio::task::spawn_blocking(move || api::demo::seed(&state))
        .await
        .unwrap()
        .expect("demo seeds")
}

async fn usage_events(s: &TestServer, token: &str) -> Vec<(String, i64, String)> {
    let usage = send(s.portal(Method::GET, "/v1/portal/usage?window=30d", token)).await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    usage.body["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["feature"].as_str().unwrap().to_owned(),
                b["events"].as_i64().unwrap(),
                b["total_cost"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn demo_data_is_seeded_once_and_opens_the_portal(s: TestServer) {
    let first = seed(&s).await;
    let before = usage_events(&s, &first.token).await;
    assert_eq!(before.len(), 2, "two features: {before:?}");
    assert!(
        before.iter().all(|(_, events, _)| *events >= 60),
        "{before:?}"
    );

    let second = seed(&s).await;
    assert_eq!(first.customer_id, second.customer_id, "one demo customer");
    // A new session each start; the previous demo session ended.
    send(s.portal(Method::GET, "/v1/portal/session", &first.token))
        .await
        .assert_problem(401, "session_revoked");
    let token = second.token.clone();
    assert_eq!(
        usage_events(&s, &token).await,
        before,
        "no event counted twice"
    );

    let customers = send(s.admin(Method::GET, "/v1/customers?q=demo-acme")).await;
    assert_eq!(customers.body["data"].as_array().unwrap().len(), 1);

    // The login URL's code opens the portal.
    let code = second.url.split("code=").nth(1).expect("code in url");
    let exchanged = send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({ "code": code })),
    )
    .await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    assert_eq!(
        exchanged.body["session"]["customer_id"],
        second.customer_id.as_str()
    );

    let wallets = send(s.portal(Method::GET, "/v1/portal/wallets", &token)).await;
    let wallets = wallets.body["data"].as_array().unwrap().clone();
    assert_eq!(wallets.len(), 1, "one wallet after two seedings");
    // 20,000 + 2,500 − 1,200 − 7,400 (the paid invoice) − 4,900 (Pro's first month) credits.
    assert_eq!(wallets[0]["balance"], "9000");
    assert_eq!(wallets[0]["credits_expiring_next_30_days"], "2500");

    let invoices = send(s.portal(Method::GET, "/v1/portal/invoices", &token)).await;
    let invoices: Vec<Value> = invoices.body["data"].as_array().unwrap().clone();
    assert_eq!(
        invoices.len(),
        4,
        "three invoices and Pro's first month after two seedings"
    );
    // Consistent dates: no bill is due before it was issued, and the history is in the past.
    for i in &invoices {
        let (issued, due) = (
            i["issued_at"].as_str().unwrap(),
            i["due_at"].as_str().unwrap(),
        );
        assert!(issued <= due, "issued {issued}, due {due}: {i}");
    }
    let issued: BTreeSet<&str> = invoices
        .iter()
        .map(|i| &i["issued_at"].as_str().unwrap()[..10])
        .collect();
    assert!(issued.len() >= 3, "issued on different days: {issued:?}");
    let states: BTreeSet<String> = invoices
        .iter()
        .map(|i| i["payment_status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        states,
        ["paid", "partially_paid", "unpaid"]
            .map(str::to_owned)
            .into()
    );
    assert!(invoices.iter().any(|i| i["overdue"] == true));

    let overview = send(s.portal(Method::GET, "/v1/portal/overview", &token)).await;
    assert_eq!(overview.status, 200);
    assert_eq!(overview.body["outstanding"][0]["currency"], "USD");
    assert_eq!(overview.body["outstanding"][0]["overdue"], "85.50");

    let payments = send(s.portal(Method::GET, "/v1/portal/payments", &token)).await;
    assert_eq!(payments.body["data"].as_array().unwrap().len(), 3);

    // A named merchant with its colours.
    let branding = send(s.portal(Method::GET, "/v1/portal/branding", &token)).await;
    assert_eq!(
        branding.body["name"], "Northwind Cloud",
        "{}",
        branding.body
    );
    assert_eq!(branding.body["primary_color"], "#3730a3");
    // A subscription with plans to change to, a saved card, and a session that allows every
    // action.
    let subs = send(s.portal(Method::GET, "/v1/portal/subscriptions", &token)).await;
    let subs = subs.body["data"].as_array().unwrap().clone();
    assert_eq!(subs.len(), 1, "one subscription after two seedings");
    assert_eq!(subs[0]["plan_name"], "Pro");
    assert_eq!(subs[0]["status"], "active");
    let plans = send(s.portal(Method::GET, "/v1/portal/plans", &token)).await;
    let names: BTreeSet<&str> = plans.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Pro", "Scale", "Starter"].into());
    let cards = send(s.portal(Method::GET, "/v1/portal/payment_methods", &token)).await;
    let cards = cards.body["data"].as_array().unwrap().clone();
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(cards[0]["is_default"], true);
    let session = send(s.portal(Method::GET, "/v1/portal/session", &token)).await;
    let p = &session.body["permissions"];
    for allowed in [
        &p["invoice_pay"]["enabled"],
        &p["subscription_cancel"]["enabled"],
        &p["plan_change"]["enabled"],
        &p["payment_method_manage"]["enabled"],
        &p["alerts_manage"]["enabled"],
    ] {
        assert_eq!(allowed, &json!(true), "{p}");
    }
    assert_eq!(
        p["profile_update"]["allowed_fields"]
            .as_array()
            .unwrap()
            .len(),
        8,
        "{p}"
    );
    // The customer can pay the overdue bill from their credits.
    let overdue = invoices.iter().find(|i| i["overdue"] == true).unwrap();
    let paid = send(
        s.portal(
            Method::POST,
            &format!(
                "/v1/portal/invoices/{}/pay",
                overdue["id"].as_str().unwrap()
            ),
            &token,
        )
        .json(&json!({"source": "wallet"})),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
}
