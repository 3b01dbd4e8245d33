//! The merchant's hot path over HTTP: `POST /v1/entitlements/check` with `consume: true`
//! checks and records in one transaction. 64 racing consumers for the last 10 units get exactly
//! 10 allowed; a repeated `event_id` counts once; a hard limit refuses and stores nothing; a
//! soft limit allows and says so. And the period counters the check reads agree with the
//! rollups after random ingestion with repeated ids and out-of-order events, and a rebuild
//! from the rollups mends a damaged counter.

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::fixtures::{created, customer, feature};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    racing_consumers_never_pass_a_hard_limit,
    a_consume_counts_once_and_refuses_without_storing,
    counters_agree_with_the_rollups,
    the_migration_counts_existing_usage_in,
    a_check_takes_the_most_generous_grant,
);

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

async fn check(s: &TestServer, body: Value) -> Reply {
    post(s, "/v1/entitlements/check", body).await
}

/// A customer subscribed to a plan granting `api_calls` (count, hard `limit`) and `tokens`
/// (sum of `n`, soft limit 100).
async fn entitled(s: &TestServer, limit: &str) -> String {
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
    created(
        s,
        "/v1/plans",
        json!({"code": "metered", "name": "Metered", "currency": "USD", "interval": "month",
               "amount": "0", "entitlements": [{"feature": "api_calls", "limit": limit},
                                               {"feature": "tokens", "limit": "100", "soft": true}]}),
    )
    .await;
    let c = customer(s, json!({"name": "Consumer"})).await;
    let r = post(
        s,
        "/v1/subscriptions",
        json!({"customer_id": c, "plan": "metered"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    c
}

async fn used(s: &TestServer, c: &str, feature: &str) -> String {
    let list = send(s.admin(Method::GET, &format!("/v1/customers/{c}/entitlements"))).await;
    list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["feature"] == feature)
        .unwrap()["used"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn events_of(s: &TestServer, c: &str) -> usize {
    let r = send(s.admin(
        Method::GET,
        &format!("/v1/events?customer_id={c}&limit=100"),
    ))
    .await;
    r.body["data"].as_array().unwrap().len()
}

async fn racing_consumers_never_pass_a_hard_limit(s: TestServer) {
    let c = entitled(&s, "50").await;
    // 40 of 50 used: 10 left.
    let events: Vec<Value> = (0..40)
        .map(|i| json!({"event_id": format!("pre-{i}"), "customer_id": c, "feature": "api_calls"}))
        .collect();
    let r = post(&s, "/v1/events/batch", json!({"events": events})).await;
    assert_eq!(r.body["accepted"], 40, "{}", r.body);
    assert_eq!(used(&s, &c, "api_calls").await, "40");
    let replies = join_all((0..64).map(|i| {
        check(
            &s,
            json!({"customer_id": c, "feature": "api_calls", "consume": true,
                   "event_id": format!("race-{i}")}),
        )
    }))
    .await;
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let allowed: Vec<&Value> = replies
        .iter()
        .map(|r| &r.body)
        .filter(|b| b["allowed"] == true)
        .collect();
    assert_eq!(allowed.len(), 10, "exactly the last 10 units");
    for b in &allowed {
        assert_eq!(b["event_status"], "accepted", "{b}");
    }
    for r in replies.iter().filter(|r| r.body["allowed"] == false) {
        assert_eq!(r.body["reason"], "limit_reached", "{}", r.body);
        assert!(r.body["event_status"].is_null());
    }
    assert_eq!(used(&s, &c, "api_calls").await, "50");
    assert_eq!(
        events_of(&s, &c).await,
        50,
        "acknowledged consumes = recorded events"
    );
    assert_eq!(
        s.metric(r#"usage_events_total{status="accepted"}"#).await,
        Some(50.0),
        "the 40 ingested and the 10 consumed events are counted alike"
    );
}

async fn a_consume_counts_once_and_refuses_without_storing(s: TestServer) {
    let c = entitled(&s, "3").await;
    let consume = |event: &str| json!({"customer_id": c, "feature": "api_calls", "consume": true, "event_id": event});
    let first = check(&s, consume("a")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (
            first.body["allowed"].clone(),
            first.body["reason"].clone(),
            first.body["used"].clone()
        ),
        (json!(true), json!("within_limit"), json!("1"))
    );
    assert_eq!(first.body["event_status"], "accepted");
    assert_eq!(first.body["remaining"], "2");
    // The same event again: answered, counted once.
    let again = check(&s, consume("a")).await;
    assert_eq!(again.body["allowed"], true);
    assert_eq!(again.body["event_status"], "duplicate");
    assert_eq!(again.body["used"], "1");
    for e in ["b", "c"] {
        assert_eq!(check(&s, consume(e)).await.body["allowed"], true);
    }
    // The last unit's retry is not refused by its own first attempt.
    assert_eq!(
        check(&s, consume("c")).await.body["event_status"],
        "duplicate"
    );
    let refused = check(&s, consume("d")).await;
    assert_eq!(refused.body["allowed"], false);
    assert_eq!(refused.body["reason"], "limit_reached");
    assert_eq!(refused.body["used"], "3");
    assert_eq!(
        events_of(&s, &c).await,
        3,
        "a refused consume stores nothing"
    );
    // The first refusal of the period is reported, once.
    assert_eq!(
        check(&s, consume("e")).await.body["reason"],
        "limit_reached"
    );
    let reached = send(s.admin(
        Method::GET,
        "/v1/webhook_events?type=entitlement.limit_reached",
    ))
    .await;
    let reached = reached.body["data"].as_array().unwrap().clone();
    assert_eq!(reached.len(), 1, "{reached:?}");
    let data = &reached[0]["payload"]["data"];
    assert_eq!(
        (
            data["feature"].clone(),
            data["limit"].clone(),
            data["used"].clone()
        ),
        (json!("api_calls"), json!("3"), json!("3"))
    );
    // A plain check says why too.
    let plain = check(&s, json!({"customer_id": c, "feature": "api_calls"})).await;
    assert_eq!(plain.body["reason"], "limit_reached");
    assert!(plain.body["event_status"].is_null());

    // A soft limit allows and says so; a sum feature records `quantity` as its value.
    let big = check(
        &s,
        json!({"customer_id": c, "feature": "tokens", "consume": true, "event_id": "t1", "quantity": "150"}),
    )
    .await;
    assert_eq!(big.body["allowed"], true, "{}", big.body);
    assert_eq!(big.body["reason"], "soft_limit_exceeded");
    assert_eq!(big.body["used"], "150");
    assert_eq!(used(&s, &c, "tokens").await, "150");
    // The same id again answers the same and counts once; a different consume reusing the id
    // is a conflict, and stores nothing.
    let again = check(
        &s,
        json!({"customer_id": c, "feature": "tokens", "consume": true, "event_id": "t1", "quantity": "150"}),
    )
    .await;
    assert_eq!(
        (
            &again.body["event_status"],
            &again.body["reason"],
            &again.body["used"]
        ),
        (
            &json!("duplicate"),
            &json!("soft_limit_exceeded"),
            &json!("150")
        )
    );
    for reused in [
        json!({"customer_id": c, "feature": "tokens", "consume": true, "event_id": "t1", "quantity": "151"}),
        json!({"customer_id": c, "feature": "api_calls", "consume": true, "event_id": "t1"}),
        json!({"customer_id": c, "feature": "tokens", "consume": true, "event_id": "t1", "quantity": "150",
            "properties": {"model": "large"}}),
    ] {
        check(&s, reused)
            .await
            .assert_problem(409, "event_id_reused");
    }
    assert_eq!(used(&s, &c, "tokens").await, "150");

    // No entitlement: refused, nothing stored.
    let other = customer(&s, json!({"name": "Not subscribed"})).await;
    let none = check(
        &s,
        json!({"customer_id": other, "feature": "api_calls", "consume": true, "event_id": "x"}),
    )
    .await;
    assert_eq!(none.body["allowed"], false);
    assert_eq!(none.body["reason"], "no_entitlement");
    assert_eq!(events_of(&s, &other).await, 0);

    // Bad input: named, nothing stored.
    for (body, field) in [
        (
            json!({"customer_id": c, "feature": "tokens", "consume": true}),
            "event_id",
        ),
        (
            json!({"customer_id": c, "feature": "tokens", "consume": true, "event_id": "q", "quantity": "0"}),
            "quantity",
        ),
        (
            json!({"customer_id": c, "feature": "tokens", "consume": true, "event_id": "q", "quantity": "x"}),
            "quantity",
        ),
        (
            json!({"customer_id": c, "feature": "api_calls", "consume": true, "event_id": "q", "quantity": "2"}),
            "quantity",
        ),
        (
            json!({"customer_id": c, "feature": "tokens", "event_id": "q"}),
            "consume",
        ),
        (
            json!({"customer_id": c, "feature": "tokens", "consume": true, "event_id": "q",
                "timestamp": "2001-01-01T00:00:00Z"}),
            "timestamp",
        ),
    ] {
        let r = check(&s, body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{body}: {}", r.body);
    }
    check(
        &s,
        json!({"customer_id": c, "feature": "nope", "consume": true, "event_id": "q"}),
    )
    .await
    .assert_problem(404, "feature_not_found");
    check(&s, json!({"customer_id": c, "feature": "nope"}))
        .await
        .assert_problem(404, "feature_not_found");
    send(
        s.request(Method::POST, "/v1/entitlements/check")
            .header("x-api-key", s.other_tenant_key())
            .json(&json!({"customer_id": c, "feature": "api_calls", "consume": true, "event_id": "q"})),
    )
    .await
    .assert_problem(404, "customer_not_found");
    assert_eq!(events_of(&s, &c).await, 4);
}

/// Random ingestion (batches with repeated ids, events out of order): the entitlement's
/// `used` (one counter row) equals the sum of the accepted events and the rollups' total, and a
/// rebuild from the rollups finds nothing to mend until a counter is damaged.
async fn counters_agree_with_the_rollups(s: TestServer) {
    let c = entitled(&s, "1000000").await;
    let now = chrono::Utc::now();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut accepted = std::collections::HashMap::new();
    for batch in 0..8 {
        let mut events = Vec::new();
        for _ in 0..40 {
            let id = format!("e-{}", next() % 150);
            let n = next() % 50 + 1;
            // Out of order, within this period (never before the subscription started: the
            // hour before it belongs to no period of it), at most 5 minutes ahead as allowed.
            let at = now + chrono::Duration::seconds((next() % 120) as i64);
            events.push(
                json!({"event_id": id, "customer_id": c, "feature": "tokens",
                               "timestamp": at.to_rfc3339(), "properties": {"n": n}}),
            );
        }
        let r = post(&s, "/v1/events/batch", json!({"events": events.clone()})).await;
        assert_eq!(r.status, 200, "batch {batch}: {}", r.body);
        for (e, outcome) in events.iter().zip(r.body["results"].as_array().unwrap()) {
            if outcome["status"] == "accepted" {
                let id = e["event_id"].as_str().unwrap().to_owned();
                assert!(accepted
                    .insert(id, e["properties"]["n"].as_u64().unwrap())
                    .is_none());
            }
        }
    }
    let sum: u64 = accepted.values().sum();
    assert_eq!(used(&s, &c, "tokens").await, sum.to_string());
    let report = send(s.admin(
        Method::GET,
        &format!(
            "/v1/customers/{c}/usage?from={}&to={}&granularity=hour",
            (now - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:00:00Z"),
            (now + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:00:00Z")
        ),
    ))
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let total = report.body["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature"] == "tokens")
        .map(|f| f["total_usage"].clone());
    assert_eq!(total, Some(json!(sum.to_string())), "{}", report.body);

    // A rebuild from the rollups finds nothing to mend; a counter damaged behind the
    // server's back is found, reported and mended.
    use domain::ports::UsageRepo;
    assert_eq!(s.state.store.rebuild_counters().unwrap(), vec![]);
    s.execute_sql(
        "UPDATE usage_counters SET quantity_sum = 1, events = 1 WHERE feature_key = 'tokens'",
    );
    assert_eq!(used(&s, &c, "tokens").await, "1");
    let drifts = s.state.store.rebuild_counters().unwrap();
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    assert_eq!(drifts[0].rebuilt.1.to_string(), sum.to_string());
    assert_eq!(used(&s, &c, "tokens").await, sum.to_string());
}

/// A database from before the counters: the migration that makes them counts the usage
/// already recorded into each running subscription's current period.
async fn the_migration_counts_existing_usage_in(s: TestServer) {
    let c = entitled(&s, "100").await;
    let events: Vec<Value> = (0..7)
        .map(|i| json!({"event_id": format!("old-{i}"), "customer_id": c, "feature": "api_calls"}))
        .collect();
    post(&s, "/v1/events/batch", json!({"events": events})).await;
    assert_eq!(used(&s, &c, "api_calls").await, "7");
    // Back to the schema before the counters, with the usage still in the rollups.
    s.execute_sql("DROP TABLE usage_counters");
    s.execute_sql("DELETE FROM __diesel_schema_migrations WHERE version = '20261212000031'");
    let applied = s.state.store.migrate().unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(used(&s, &c, "api_calls").await, "7");
    let r = check(
        &s,
        json!({"customer_id": c, "feature": "api_calls", "quantity": "93"}),
    )
    .await;
    assert_eq!(r.body["allowed"], true, "{}", r.body);
    let r = check(
        &s,
        json!({"customer_id": c, "feature": "api_calls", "quantity": "94"}),
    )
    .await;
    assert_eq!(r.body["allowed"], false, "{}", r.body);
}

/// Two running subscriptions grant `api_calls`: the check takes the larger limit (no limit would
/// beat both); an archived feature is not found.
async fn a_check_takes_the_most_generous_grant(s: TestServer) {
    let c = entitled(&s, "3").await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "bigger", "name": "Bigger", "currency": "USD", "interval": "month",
               "amount": "0", "entitlements": [{"feature": "api_calls", "limit": "5"}]}),
    )
    .await;
    let r = post(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": c, "plan": "bigger"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let four = check(
        &s,
        json!({"customer_id": c, "feature": "api_calls", "quantity": "4"}),
    )
    .await;
    assert_eq!(
        (
            &four.body["allowed"],
            &four.body["limit"],
            &four.body["remaining"]
        ),
        (&json!(true), &json!("5"), &json!("5")),
        "{}",
        four.body
    );
    let six = check(
        &s,
        json!({"customer_id": c, "feature": "api_calls", "quantity": "6"}),
    )
    .await;
    assert_eq!(six.body["reason"], "limit_reached");
    let features = send(s.admin(Method::GET, "/v1/features?limit=100")).await;
    let tokens = features.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "tokens")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let archived = send(
        s.admin(Method::PATCH, &format!("/v1/features/{tokens}"))
            .json(&json!({"archived": true})),
    )
    .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    check(&s, json!({"customer_id": c, "feature": "tokens"}))
        .await
        .assert_problem(404, "feature_not_found");
}
