//! `/metrics` beyond HTTP, on both backends: usage events by what became of them, portal
//! sessions created / exchanged / refused / revoked, and each worker queue's backlog with the
//! age of its oldest item (for billing: the billing lag), read as Prometheus text.

use serde_json::json;
use tests::fixtures::{customer, feature, portal_session};
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(work_and_backlogs_are_measured);

async fn work_and_backlogs_are_measured(s: TestServer) {
    let events = |status: &str| format!("usage_events_total{{status=\"{status}\"}}");
    for status in ["accepted", "duplicate", "rejected"] {
        assert_eq!(s.metric(&events(status)).await, Some(0.0), "{status}");
    }
    let r = feature(
        &s,
        json!({"key": "calls", "name": "Calls", "unit": "calls", "aggregation": "count",
               "unit_price": "0.01", "currency": "USD"}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let c = customer(&s, json!({"name": "Ada", "external_id": "ada"})).await;
    let batch = json!({"events": [
        {"event_id": "e1", "external_customer_id": "ada", "feature": "calls"},
        {"event_id": "e2", "external_customer_id": "ada", "feature": "calls"},
        {"event_id": "e3", "external_customer_id": "ada", "feature": "nothing"},
    ]});
    for _ in 0..2 {
        let r = send(s.admin(Method::POST, "/v1/events/batch").json(&batch)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(s.metric(&events("accepted")).await, Some(2.0));
    assert_eq!(s.metric(&events("duplicate")).await, Some(2.0));
    assert_eq!(s.metric(&events("rejected")).await, Some(2.0));

    // A session created, its code exchanged, a forged token refused, a logout.
    let sessions = |event: &str| format!("portal_sessions_total{{event=\"{event}\"}}");
    let created = portal_session(&s, json!({"customer_id": c})).await;
    let code = created.body["url"]
        .as_str()
        .unwrap()
        .split("code=")
        .nth(1)
        .unwrap()
        .to_owned();
    let exchanged = send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({ "code": code })),
    )
    .await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    let token = exchanged.body["token"].as_str().unwrap();
    send(s.portal(Method::GET, "/v1/portal/session", "v4.local.forged"))
        .await
        .assert_problem(401, "invalid_token");
    let out = send(s.portal(Method::DELETE, "/v1/portal/session", token)).await;
    assert_eq!(out.status, 204);
    for (event, n) in [
        ("created", 1.0),
        ("exchanged", 1.0),
        ("refused", 1.0),
        ("revoked", 1.0),
    ] {
        assert_eq!(s.metric(&sessions(event)).await, Some(n), "{event}");
    }

    // Backlogs: the webhook events written with these changes wait for fan-out (no worker
    // here); a subscription made due an hour ago is the billing lag.
    let pending = |queue: &str| format!("backlog_pending{{queue=\"{queue}\"}}");
    let oldest = |queue: &str| format!("backlog_oldest_seconds{{queue=\"{queue}\"}}");
    assert!(s.metric(&pending("webhook_events")).await.unwrap() >= 2.0);
    assert!(s.metric(&oldest("webhook_events")).await.unwrap() >= 0.0);
    assert_eq!(s.metric(&pending("billing")).await, Some(0.0));
    assert_eq!(s.metric(&oldest("billing")).await, Some(0.0));
    let plan = send(s.admin(Method::POST, "/v1/plans").json(&json!({
        "code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "amount": "5"
    })))
    .await;
    assert_eq!(plan.status, 201, "{}", plan.body);
    let sub = send(
        s.admin(Method::POST, "/v1/subscriptions")
            .json(&json!({"customer_id": c, "plan": "basic"})),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    s.execute_sql(&format!(
        "UPDATE subscriptions SET due_at = '{an_hour_ago}' WHERE id = '{}'",
        sub.body["id"].as_str().unwrap()
    ));
    assert_eq!(s.metric(&pending("billing")).await, Some(1.0));
    let lag = s.metric(&oldest("billing")).await.unwrap();
    assert!((3600.0..3700.0).contains(&lag), "billing lag {lag}");
    assert_eq!(s.metric(&pending("emails")).await, Some(0.0));
}
