//! Subscriptions over HTTP: subscribe (trial, anchors, time zones, wallet collection), cancel at
//! period end or at once, uncancel, bad input that stores nothing, and the portal with its
//! permissions and audit.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tests::fixtures::{created, customer, feature, id, portal_session, token, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    subscribe_and_cancel,
    bad_subscriptions_store_nothing,
    portal_subscriptions_follow_the_session_permissions,
    entitlements_count_this_period,
    an_archived_customer_moves_no_money,
    the_portal_names_a_private_or_archived_plan,
    archiving_and_subscribing_never_cross,
);

async fn plan(s: &TestServer, code: &str, extra: Value) -> String {
    let mut body =
        json!({"code": code, "name": code, "currency": "USD", "interval": "month", "amount": "20"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    id(&created(s, "/v1/plans", body).await)
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

async fn subscribe(s: &TestServer, body: Value) -> Reply {
    send(s.admin(Method::POST, "/v1/subscriptions").json(&body)).await
}

async fn subscribe_and_cancel(s: TestServer) {
    let berlin = customer(
        &s,
        json!({"name": "Berlin GmbH", "external_id": "ber", "timezone": "Europe/Berlin"}),
    )
    .await;
    plan(&s, "monthly", json!({})).await;
    let trial_plan = plan(&s, "trial", json!({"trial_days": 14})).await;

    // Calendar anchor: the first period ends at local midnight on the 1st of next month.
    let r = subscribe(
        &s,
        json!({"external_customer_id": "ber", "plan": "monthly", "billing_anchor": "calendar"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sub = r.body.clone();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["customer_id"], berlin.as_str());
    assert_eq!(sub["interval"], "month");
    let end = at(&sub["current_period_end"]).with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(end.format("%d %H:%M").to_string(), "01 00:00", "{sub}");
    assert_eq!(sub["next_billing_at"], sub["current_period_end"]);
    assert!(at(&sub["current_period_start"]) <= Utc::now());

    // A trial: the first period is the trial.
    let t = subscribe(&s, json!({"customer_id": berlin, "plan": trial_plan})).await;
    assert_eq!(t.status, 201, "{}", t.body);
    assert_eq!(t.body["status"], "trialing");
    let trial = at(&t.body["trial_end"]) - at(&t.body["current_period_start"]);
    assert!(
        (trial.num_hours() - 14 * 24).abs() <= 1,
        "14 days, give or take a DST hour: {trial}"
    );
    // The request may start without the trial.
    let no_trial = subscribe(
        &s,
        json!({"customer_id": berlin, "plan": "trial", "trial_days": 0}),
    )
    .await;
    assert_eq!(no_trial.body["status"], "active", "{}", no_trial.body);

    // Cancel at period end, take it back, cancel immediately; then nothing more.
    let sid = sub["id"].as_str().unwrap().to_owned();
    let path = |verb: &str| format!("/v1/subscriptions/{sid}/{verb}");
    // Pause and resume first: no billing date while paused; twice is the same as once.
    for _ in 0..2 {
        let p = send(s.admin(Method::POST, &path("pause"))).await;
        assert_eq!(p.body["status"], "paused", "{}", p.body);
        assert_eq!(p.body["next_billing_at"], Value::Null);
    }
    let r = send(s.admin(Method::POST, &path("resume"))).await;
    assert_eq!(r.body["status"], "active", "{}", r.body);
    assert_eq!(r.body["next_billing_at"], sub["current_period_end"]);
    let tid = t.body["id"].as_str().unwrap();
    send(s.admin(Method::POST, &format!("/v1/subscriptions/{tid}/pause"))).await;
    let back = send(s.admin(Method::POST, &format!("/v1/subscriptions/{tid}/resume"))).await;
    assert_eq!(
        back.body["status"], "trialing",
        "still in its trial: {}",
        back.body
    );
    let c = send(s.admin(Method::POST, &path("cancel")).json(
        &json!({"reason": "too_expensive", "comment": "Too dear for a team of two.\nMaybe later."}),
    ))
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["cancel_at_period_end"], true);
    assert_eq!(c.body["status"], "active");
    assert_eq!(c.body["next_billing_at"], Value::Null);
    assert_eq!(c.body["cancellation_reason"], "too_expensive");
    assert_eq!(
        c.body["cancellation_comment"],
        "Too dear for a team of two.\nMaybe later."
    );
    // The feedback travels with the subscription's event.
    let events = send(s.admin(
        Method::GET,
        "/v1/webhook_events?type=subscription.changed&limit=100",
    ))
    .await;
    assert!(
        events.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["payload"]["data"]["cancellation_reason"] == "too_expensive"),
        "{}",
        events.body
    );
    // Taken back, the feedback goes with it.
    let u = send(s.admin(Method::POST, &path("uncancel"))).await;
    assert_eq!(u.body["cancel_at_period_end"], false, "{}", u.body);
    assert_eq!(u.body["canceled_at"], Value::Null);
    assert_eq!(u.body["cancellation_reason"], Value::Null);
    assert_eq!(u.body["cancellation_comment"], Value::Null);
    let now = send(
        s.admin(Method::POST, &path("cancel"))
            .json(&json!({"at": "immediately", "reason": "switched_service"})),
    )
    .await;
    assert_eq!(now.body["status"], "canceled", "{}", now.body);
    assert_eq!(now.body["cancellation_reason"], "switched_service");
    assert!(now.body["ended_at"].is_string());
    for verb in ["cancel", "uncancel", "pause", "resume"] {
        send(s.admin(Method::POST, &path(verb)).json(&json!({})))
            .await
            .assert_problem(409, "subscription_ended");
    }

    // Lists filter by customer and status; reads are the account's only.
    let list = send(s.admin(
        Method::GET,
        &format!("/v1/subscriptions?customer_id={berlin}&status=canceled"),
    ))
    .await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        list.body
    );
    let got = send(s.admin(Method::GET, &format!("/v1/subscriptions/{sid}"))).await;
    assert_eq!(got.body["status"], "canceled");
    // The admin dashboard lists the two running ones, not the canceled one.
    let dash = send(s.admin(Method::GET, &format!("/v1/customers/{berlin}/overview"))).await;
    let running: Vec<&str> = dash.body["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(running, ["active", "trialing"], "{}", dash.body);
    send(
        s.request(Method::GET, &format!("/v1/subscriptions/{sid}"))
            .header("x-api-key", s.other_tenant_key()),
    )
    .await
    .assert_problem(404, "subscription_not_found");
    send(s.admin(Method::GET, "/v1/subscriptions/sub_nope"))
        .await
        .assert_problem(404, "subscription_not_found");
}

async fn bad_subscriptions_store_nothing(s: TestServer) {
    let c = customer(&s, json!({"name": "Acme", "external_id": "acme"})).await;
    feature(
        &s,
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count", "unit_price": "0.002", "currency": "USD"}),
    )
    .await;
    plan(&s, "usd", json!({})).await;
    let old = plan(&s, "old", json!({})).await;
    send(s.admin(Method::POST, &format!("/v1/plans/{old}/archive"))).await;

    subscribe(&s, json!({"customer_id": c, "plan": "nope"}))
        .await
        .assert_problem(404, "plan_not_found");
    subscribe(
        &s,
        json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "plan": "usd"}),
    )
    .await
    .assert_problem(404, "customer_not_found");
    subscribe(&s, json!({"customer_id": c, "plan": "old"}))
        .await
        .assert_problem(409, "plan_archived");
    // Paying from the wallet needs a wallet in the plan's currency.
    wallet(&s, &c, "EUR", "1").await;
    subscribe(
        &s,
        json!({"customer_id": c, "plan": "usd", "collection": "wallet"}),
    )
    .await
    .assert_problem(422, "currency_mismatch");
    for (body, field) in [
        (
            json!({"customer_id": c, "plan": "usd", "collection": "card"}),
            "collection",
        ),
        (
            json!({"customer_id": c, "plan": "usd", "billing_anchor": "fortnight"}),
            "billing_anchor",
        ),
        (
            json!({"customer_id": c, "plan": "usd", "trial_days": 9999}),
            "trial_days",
        ),
        (json!({"plan": "usd"}), "customer_id"),
    ] {
        let r = subscribe(&s, body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.body);
    }
    let all = send(s.admin(Method::GET, "/v1/subscriptions")).await;
    assert_eq!(all.body["data"], json!([]), "nothing was stored");

    // With a funded USD wallet, wallet collection works (the first fee is paid from it at
    // once); a bad cancel mode changes nothing.
    let w = wallet(&s, &c, "USD", "1").await;
    let funded = send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .json(&json!({"credits": "100"})),
    )
    .await;
    assert!(funded.status.is_success(), "{}", funded.body);
    let ok = subscribe(
        &s,
        json!({"customer_id": c, "plan": "usd", "collection": "wallet"}),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.body["collection"], "wallet");
    let sid = ok.body["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"at": "tomorrow"}), "at"),
        (json!({"reason": "bored"}), "reason"),
        (
            json!({"reason": "other", "comment": "x".repeat(1001)}),
            "comment",
        ),
        (json!({"comment": " "}), "comment"),
    ] {
        let r = send(
            s.admin(Method::POST, &format!("/v1/subscriptions/{sid}/cancel"))
                .json(&body),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{body}: {}", r.body);
    }
    let same = send(s.admin(Method::GET, &format!("/v1/subscriptions/{sid}"))).await;
    assert_eq!(same.body["cancel_at_period_end"], false);
    assert_eq!(same.body["status"], "active");
    assert_eq!(same.body["cancellation_reason"], Value::Null);
}

async fn portal_subscriptions_follow_the_session_permissions(s: TestServer) {
    let alice = customer(&s, json!({"name": "Alice", "external_id": "alice"})).await;
    let bob = customer(&s, json!({"name": "Bob", "external_id": "bob"})).await;
    plan(&s, "monthly", json!({})).await;
    let mine = subscribe(&s, json!({"customer_id": alice, "plan": "monthly"}))
        .await
        .body;
    let theirs = subscribe(&s, json!({"customer_id": bob, "plan": "monthly"}))
        .await
        .body;
    let (mine, theirs) = (mine["id"].as_str().unwrap(), theirs["id"].as_str().unwrap());

    // Read-only by default: the customer sees its own subscriptions, not Bob's.
    let ro = token(&portal_session(&s, json!({"customer_id": alice})).await);
    let list = send(s.portal(Method::GET, "/v1/portal/subscriptions", &ro)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["data"][0]["id"], mine);
    send(s.portal(
        Method::GET,
        &format!("/v1/portal/subscriptions/{theirs}"),
        &ro,
    ))
    .await
    .assert_problem(404, "subscription_not_found");
    let cancel = |t: &str, id: &str, body: Value| {
        s.portal(
            Method::POST,
            &format!("/v1/portal/subscriptions/{id}/cancel"),
            t,
        )
        .json(&body)
    };
    send(cancel(&ro, mine, json!({})))
        .await
        .assert_problem(403, "action_not_allowed");

    // Allowed at period end only.
    let may = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "permissions": {"subscription_cancel": {"enabled": true, "mode": "at_period_end"}}}),
        )
        .await,
    );
    send(cancel(&may, mine, json!({"at": "immediately"})))
        .await
        .assert_problem(403, "action_not_allowed");
    send(cancel(&may, theirs, json!({})))
        .await
        .assert_problem(404, "subscription_not_found");
    let c = send(cancel(
        &may,
        mine,
        json!({"reason": "missing_features", "comment": "Needs SSO"}),
    ))
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["cancel_at_period_end"], true);
    // The merchant sees why.
    let seen = send(s.admin(Method::GET, &format!("/v1/subscriptions/{mine}"))).await;
    assert_eq!(seen.body["cancellation_reason"], "missing_features");
    assert_eq!(seen.body["cancellation_comment"], "Needs SSO");
    let u = send(s.portal(
        Method::POST,
        &format!("/v1/portal/subscriptions/{mine}/uncancel"),
        &may,
    ))
    .await;
    assert_eq!(u.body["cancel_at_period_end"], false, "{}", u.body);
    // The dashboard shows the running subscription with its next billing date.
    let overview = send(s.portal(Method::GET, "/v1/portal/overview", &may)).await;
    assert_eq!(
        overview.body["subscriptions"][0]["id"], mine,
        "{}",
        overview.body
    );
    assert!(overview.body["subscriptions"][0]["next_billing_at"].is_string());
    assert_eq!(overview.body["subscriptions"].as_array().unwrap().len(), 1);
    // Bob's subscription was never touched.
    let bobs = send(s.admin(Method::GET, &format!("/v1/subscriptions/{theirs}"))).await;
    assert_eq!(bobs.body["cancel_at_period_end"], false);

    // Both writes are in the audit log, attributed to the session.
    let audit = send(s.admin(
        Method::GET,
        &format!("/v1/audit_events?customer_id={alice}"),
    ))
    .await;
    let actions: Vec<&str> = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"subscription.canceled"), "{actions:?}");
    assert!(actions.contains(&"subscription.uncanceled"), "{actions:?}");

    // An admin preview never writes, whatever its permissions.
    let preview = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "mode": "admin_preview", "permissions": {"subscription_cancel": {"enabled": true, "mode": "immediately"}}}),
        )
        .await,
    );
    send(cancel(&preview, mine, json!({})))
        .await
        .assert_problem(403, "read_only_session");
    // The section can be switched off.
    let off = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "sections": {"subscriptions": {"enabled": false}}}),
        )
        .await,
    );
    send(s.portal(Method::GET, "/v1/portal/subscriptions", &off))
        .await
        .assert_problem(403, "section_disabled");
    let dashboard = send(s.portal(Method::GET, "/v1/portal/overview", &off)).await;
    assert_eq!(
        dashboard.body["subscriptions"],
        Value::Null,
        "{}",
        dashboard.body
    );
}

async fn entitlements_count_this_period(s: TestServer) {
    let c = customer(&s, json!({"name": "Acme", "external_id": "acme"})).await;
    let idle = customer(&s, json!({"name": "Idle", "external_id": "idle"})).await;
    feature(
        &s,
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count", "unit_price": "0.002", "currency": "USD"}),
    )
    .await;
    feature(
        &s,
        json!({"key": "seats", "name": "Seats", "unit": "seats", "aggregation": "max", "value_property": "n", "unit_price": "5", "currency": "USD"}),
    )
    .await;
    plan(
        &s,
        "team",
        json!({"entitlements": [{"feature": "api_calls", "limit": "100"}, {"feature": "seats", "limit": "5", "soft": true}]}),
    )
    .await;
    let sub = subscribe(&s, json!({"customer_id": c, "plan": "team"}))
        .await
        .body;
    let mut events: Vec<Value> = (0..30)
        .map(|i| json!({"event_id": format!("call-{i}"), "customer_id": c, "feature": "api_calls"}))
        .collect();
    events.push(json!({"event_id": "seats-1", "customer_id": c, "feature": "seats", "properties": {"n": 3}}));
    events.push(json!({"event_id": "seats-2", "customer_id": c, "feature": "seats", "properties": {"n": 7}}));
    let r = send(
        s.admin(Method::POST, "/v1/events/batch")
            .json(&json!({"events": events})),
    )
    .await;
    assert_eq!(r.body["accepted"], 32, "{}", r.body);

    let list = send(s.admin(Method::GET, &format!("/v1/customers/{c}/entitlements"))).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let by = |f: &str| {
        list.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["feature"] == f)
            .unwrap_or_else(|| panic!("no {f} in {}", list.body))
            .clone()
    };
    let calls = by("api_calls");
    assert_eq!(calls["used"], "30");
    assert_eq!(calls["limit"], "100");
    assert_eq!(calls["remaining"], "70");
    assert_eq!(calls["usage_percent"], "30.00");
    assert_eq!(calls["soft"], false);
    assert_eq!(calls["resets_at"], sub["current_period_end"]);
    assert_eq!(calls["source"]["subscription_id"], sub["id"]);
    assert_eq!(calls["source"]["plan_id"], sub["plan_id"]);
    let seats = by("seats");
    assert_eq!(seats["used"], "7", "max features count their peak");
    assert_eq!(seats["remaining"], "0");
    assert_eq!(seats["usage_percent"], "140.00");

    let check = |feature: &str, quantity: &str, who: &str| {
        s.admin(Method::POST, "/v1/entitlements/check")
            .json(&json!({"customer_id": who, "feature": feature, "quantity": quantity}))
    };
    let yes = send(check("api_calls", "70", &c)).await;
    assert_eq!(yes.body["allowed"], true, "{}", yes.body);
    assert_eq!(yes.body["remaining"], "70");
    assert_eq!(
        send(check("api_calls", "71", &c)).await.body["allowed"],
        false
    );
    assert_eq!(
        send(check("seats", "10", &c)).await.body["allowed"],
        true,
        "soft limits report, never refuse"
    );
    send(check("storage", "1", &c))
        .await
        .assert_problem(404, "feature_not_found");
    assert_eq!(
        send(check("api_calls", "1", &idle)).await.body["allowed"],
        false
    );
    send(check("api_calls", "1", "cus_01jd3x6v9f5m2q8r7t4w0y1z3a"))
        .await
        .assert_problem(404, "customer_not_found");
    send(check("api_calls", "-1", &c))
        .await
        .assert_problem(422, "validation_failed");
    let none = send(s.admin(Method::GET, &format!("/v1/customers/{idle}/entitlements"))).await;
    assert_eq!(none.body["data"], json!([]));

    // The portal shows the same numbers to the customer, and only the customer's.
    let t = token(&portal_session(&s, json!({"customer_id": c})).await);
    let mine = send(s.portal(Method::GET, "/v1/portal/entitlements", &t)).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["data"], list.body["data"]);
    let theirs = token(&portal_session(&s, json!({"customer_id": idle})).await);
    let other = send(s.portal(Method::GET, "/v1/portal/entitlements", &theirs)).await;
    assert_eq!(other.body["data"], json!([]));

    // Canceled immediately: nothing is granted any more.
    let sid = sub["id"].as_str().unwrap();
    send(
        s.admin(Method::POST, &format!("/v1/subscriptions/{sid}/cancel"))
            .json(&json!({"at": "immediately"})),
    )
    .await;
    assert_eq!(
        send(check("api_calls", "1", &c)).await.body["allowed"],
        false
    );
}

/// Archiving: refused while a subscription runs; once archived, no subscription, invoice,
/// top-up, debit or payment (409 `customer_archived`, nothing stored); refunds still possible.
async fn an_archived_customer_moves_no_money(s: TestServer) {
    plan(&s, "monthly", json!({})).await;
    let c = customer(&s, json!({"name": "Leaving Ltd"})).await;
    let w = wallet(&s, &c, "USD", "1").await;
    let topped = send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .json(&json!({"credits": "100"})),
    )
    .await;
    assert_eq!(topped.status, 201, "{}", topped.body);
    let sub = subscribe(
        &s,
        json!({"customer_id": c, "plan": "monthly", "collection": "wallet"}),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let sub = id(&sub);
    // An open bill and a draft, made before archiving; the first period was paid from the
    // wallet (a payment to refund later).
    let lines = json!([{"description": "Setup", "quantity": "1", "unit_amount": "5.00"}]);
    let open = id(&created(
        &s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "USD", "lines": lines}),
    )
    .await);
    let r = send(s.admin(Method::POST, &format!("/v1/invoices/{open}/finalize"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let draft = id(&created(
        &s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "USD", "lines": lines}),
    )
    .await);
    let paid = send(s.admin(Method::GET, &format!("/v1/payments?customer_id={c}"))).await;
    let first_payment = paid.body["data"][0]["id"].as_str().unwrap().to_owned();

    let before = s.query_texts(&s.stored_state_query());
    let r = send(s.admin(Method::POST, &format!("/v1/customers/{c}/archive"))).await;
    r.assert_problem(409, "customer_has_subscriptions");
    assert!(
        r.body["detail"].as_str().unwrap().contains(&sub),
        "{}",
        r.body
    );
    assert_eq!(s.query_texts(&s.stored_state_query()), before);
    let r = send(
        s.admin(Method::POST, &format!("/v1/subscriptions/{sub}/cancel"))
            .json(&json!({"at": "immediately"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(s.admin(Method::POST, &format!("/v1/customers/{c}/archive"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "archived");

    let before = s.query_texts(&s.stored_state_query());
    let balance = send(s.admin(Method::GET, &format!("/v1/wallets/{w}")))
        .await
        .body["balance"]
        .clone();
    for (path, body) in [
        (format!("/v1/wallets/{w}/top_up"), json!({"credits": "10"})),
        (format!("/v1/wallets/{w}/debit"), json!({"credits": "1"})),
        (
            format!("/v1/invoices/{open}/payments"),
            json!({"amount": "5.00", "method": "wallet", "wallet_id": w}),
        ),
        (
            format!("/v1/invoices/{open}/payments"),
            json!({"amount": "5.00", "method": "external"}),
        ),
        (format!("/v1/invoices/{draft}/finalize"), json!({})),
        (
            "/v1/subscriptions".to_owned(),
            json!({"customer_id": c, "plan": "monthly"}),
        ),
        (
            "/v1/invoices".to_owned(),
            json!({"customer_id": c, "currency": "USD", "lines": lines}),
        ),
    ] {
        let r = send(s.admin(Method::POST, &path).json(&body)).await;
        r.assert_problem(409, "customer_archived");
    }
    assert_eq!(s.query_texts(&s.stored_state_query()), before);
    let after = send(s.admin(Method::GET, &format!("/v1/wallets/{w}"))).await;
    assert_eq!(after.body["balance"], balance);
    // Money owed back is still owed: a refund goes through.
    let r = send(
        s.admin(
            Method::POST,
            &format!("/v1/payments/{first_payment}/refunds"),
        )
        .json(&json!({"amount": "1.00"})),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
}

/// Archive and subscribe racing for the same customers: each ends either archived with no
/// running subscription, or active with its subscription, never archived with one.
async fn archiving_and_subscribing_never_cross(s: TestServer) {
    plan(&s, "monthly", json!({})).await;
    let mut customers = Vec::new();
    for i in 0..12 {
        customers.push(customer(&s, json!({"name": format!("Racer {i}")})).await);
    }
    let races = customers.iter().map(|c| {
        let s = &s;
        async move {
            let archive = send(s.admin(Method::POST, &format!("/v1/customers/{c}/archive")));
            let sub = subscribe(s, json!({"customer_id": c, "plan": "monthly"}));
            let (a, b) = tokio::join!(archive, sub);
            (a.status.as_u16(), b.status.as_u16())
        }
    });
    let outcomes = futures_util::future::join_all(races).await;
    for (c, (archive, sub)) in customers.iter().zip(outcomes) {
        let status = send(s.admin(Method::GET, &format!("/v1/customers/{c}")))
            .await
            .body["status"]
            .clone();
        let running = send(s.admin(
            Method::GET,
            &format!("/v1/subscriptions?customer_id={c}&status=active"),
        ))
        .await;
        let running = running.body["data"].as_array().unwrap().len();
        match (archive, sub) {
            (200, 409) => assert_eq!((status.as_str(), running), (Some("archived"), 0)),
            (409, 201) => assert_eq!((status.as_str(), running), (Some("active"), 1)),
            other => panic!("{c}: archive and subscribe answered {other:?}"),
        }
    }
}

/// A customer on a private or archived plan (a grandfathered price) sees its name; the
/// catalogue still shows neither plan, and a plan in another currency is refused in words.
async fn the_portal_names_a_private_or_archived_plan(s: TestServer) {
    let c = customer(&s, json!({"name": "Grandfathered"})).await;
    let old = plan(&s, "legacy", json!({"name": "Legacy 2025"})).await;
    let private = plan(
        &s,
        "vip",
        json!({"name": "VIP deal", "visibility": "private"}),
    )
    .await;
    plan(&s, "euro", json!({"name": "Euro plan", "currency": "EUR"})).await;
    let on_old = id(&subscribe(&s, json!({"customer_id": c, "plan": "legacy"})).await);
    let on_private = id(&subscribe(&s, json!({"customer_id": c, "plan": private})).await);
    let r = send(s.admin(Method::POST, &format!("/v1/plans/{old}/archive"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": c, "permissions": {"plan_change": {"enabled": true}}}),
        )
        .await,
    );
    let list = send(s.portal(Method::GET, "/v1/portal/subscriptions", &t)).await;
    let named: Vec<(String, String, String)> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["plan_name"].as_str().unwrap().to_owned(),
                v["currency"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        named.contains(&(on_old.clone(), "Legacy 2025".into(), "USD".into())),
        "{named:?}"
    );
    assert!(
        named.contains(&(on_private.clone(), "VIP deal".into(), "USD".into())),
        "{named:?}"
    );
    let one = send(s.portal(
        Method::GET,
        &format!("/v1/portal/subscriptions/{on_old}"),
        &t,
    ))
    .await;
    assert_eq!(one.body["plan_code"], "legacy", "{}", one.body);
    let overview = send(s.portal(Method::GET, "/v1/portal/overview", &t)).await;
    let names: Vec<&str> = overview.body["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["plan_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Legacy 2025") && names.contains(&"VIP deal"),
        "{names:?}"
    );
    let catalogue = send(s.portal(Method::GET, "/v1/portal/plans", &t)).await;
    let codes: Vec<&str> = catalogue.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.contains(&"legacy") && !codes.contains(&"vip"),
        "{codes:?}"
    );
    let r = send(
        s.portal(
            Method::POST,
            &format!("/v1/portal/subscriptions/{on_old}/change"),
            &t,
        )
        .json(&json!({"plan": "euro"})),
    )
    .await;
    r.assert_problem(422, "currency_mismatch");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("choose a plan in USD"),
        "{}",
        r.body
    );
}
