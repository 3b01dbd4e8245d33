//! License keys over HTTP on both backends: one key per subscription of a plan that issues them
//! (following the subscription to its end), keys issued by hand, the public validate / activate
//! / deactivate routes keyed by the license itself (one `license_invalid` answer with a reason,
//! an activation limit exact under 32 racing activations, per-key rate limits), the customer's
//! view in the portal, and the `license_key.*` webhooks — none of which carries the key.

use serde_json::{json, Value};
use tests::fixtures::{created, customer, id, portal_session, token};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    plans_issue_one_key_per_subscription_that_ends_with_it,
    software_validates_activates_and_deactivates_with_the_key,
    activation_limit_holds_under_32_racing_activations,
    customers_see_their_keys_and_free_activations,
);
on_both_backends!(start = strict_limits; license_checks_are_rate_limited_per_key);

fn strict_limits(backend: tests::Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| c.limits.license_per_key_per_minute = 3)
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn public(s: &TestServer, action: &str, body: Value) -> Reply {
    send(
        s.request(Method::POST, &format!("/v1/licenses/{action}"))
            .json(&body),
    )
    .await
}

/// A refused key: 422 `license_invalid` naming the field, with the reason.
fn assert_refused(r: &Reply, field: &str, reason: &str) {
    r.assert_problem(422, "license_invalid");
    assert_eq!(r.fields(), [field], "{}", r.body);
    assert_eq!(r.body["reason"], reason, "{}", r.body);
}

/// Every `license_key.*` event's type and payload, oldest first.
async fn key_events(s: &TestServer) -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = get(s, "/v1/webhook_events?limit=100").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("license_key."))
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["payload"]["data"].clone(),
            )
        })
        .collect();
    all.reverse();
    all
}

async fn keyed_plan(s: &TestServer, code: &str, license_keys: Value) -> String {
    id(&created(
        s,
        "/v1/plans",
        json!({"code": code, "name": code, "currency": "USD", "interval": "month",
               "amount": "20", "license_keys": license_keys}),
    )
    .await)
}

async fn hand_key(s: &TestServer, body: Value) -> Value {
    created(s, "/v1/license_keys", body).await.body
}

async fn plans_issue_one_key_per_subscription_that_ends_with_it(s: TestServer) {
    // A plan's license terms are checked, each field named, and nothing is stored.
    for (terms, fields) in [
        (
            json!({"enabled": true, "expires": "sometimes"}),
            vec!["license_keys.expires"],
        ),
        (
            json!({"enabled": true, "activation_limit": 0, "prefix": "lk"}),
            vec!["license_keys.prefix", "license_keys.activation_limit"],
        ),
    ] {
        let bad = send(s.admin(Method::POST, "/v1/plans").json(&json!({
            "code": "bad", "name": "Bad", "currency": "USD", "interval": "month",
            "amount": "1", "license_keys": terms
        })))
        .await;
        bad.assert_problem(422, "validation_failed");
        assert_eq!(bad.fields(), fields);
    }
    assert_eq!(get(&s, "/v1/plans").await["data"], json!([]));
    let pro = keyed_plan(
        &s,
        "pro",
        json!({"enabled": true, "activation_limit": 2, "prefix": "ACME"}),
    )
    .await;
    let plain = keyed_plan(&s, "plain", Value::Null).await;
    let read = get(&s, &format!("/v1/plans/{pro}")).await;
    assert_eq!(
        read["license_keys"],
        json!({"enabled": true, "activation_limit": 2, "expires": "with_subscription", "prefix": "ACME"})
    );
    let ada = customer(&s, json!({"name": "Ada"})).await;

    // One subscription, retried with its Idempotency-Key: one key.
    let mut sub = String::new();
    for _ in 0..2 {
        let r = send(
            s.admin(Method::POST, "/v1/subscriptions")
                .header("Idempotency-Key", "ada-pro")
                .json(&json!({"customer_id": ada, "plan": pro})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        sub = id(&r);
    }
    let other = created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": ada, "plan": plain}),
    )
    .await;
    let keys = get(&s, &format!("/v1/license_keys?customer_id={ada}")).await["data"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    let key = &keys[0];
    assert_eq!(key["subscription_id"], sub.as_str());
    assert_eq!(
        get(
            &s,
            &format!("/v1/license_keys?subscription_id={}", id(&other))
        )
        .await["data"],
        json!([]),
        "a plan without license keys issues none"
    );
    assert_eq!(
        (
            &key["status"],
            &key["activation_limit"],
            &key["expires_with_subscription"],
            &key["expires_at"]
        ),
        (&json!("active"), &json!(2), &json!(true), &Value::Null)
    );
    let secret = key["key"].as_str().unwrap().to_owned();
    let groups: Vec<&str> = secret.split('-').collect();
    assert_eq!(groups[0], "ACME", "{secret}");
    assert_eq!(
        groups[1..].concat().len(),
        26,
        "128 bits in base32: {secret}"
    );
    let kid = key["id"].as_str().unwrap().to_owned();
    assert!(kid.starts_with("lk_"), "{kid}");

    // Stored sealed and found by digest: the database never holds the key.
    let stored = s.query_texts("SELECT sealed_key || ' ' || key_digest AS v FROM license_keys");
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].to_uppercase().contains(&groups[1..].concat()),
        "{stored:?}"
    );
    let ok = public(&s, "validate", json!({"key": secret.to_lowercase()})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["license_key"]["id"], kid.as_str());
    assert_eq!(ok.body["valid"], true);
    assert!(
        ok.body.get("customer_id").is_none() && ok.body["license_key"].get("customer_id").is_none(),
        "the holder learns nothing of the customer: {}",
        ok.body
    );

    // The key follows its subscription: ended at once, the key has expired.
    let ended = send(
        s.admin(Method::POST, &format!("/v1/subscriptions/{sub}/cancel"))
            .json(&json!({"at": "immediately"})),
    )
    .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    let after = get(&s, &format!("/v1/license_keys/{kid}")).await;
    assert_eq!(after["status"], "expired", "{after}");
    assert!(after["expires_at"].is_string(), "{after}");
    assert_refused(
        &public(&s, "validate", json!({"key": secret})).await,
        "key",
        "expired",
    );
    // A key that never expires outlives its subscription.
    let forever = keyed_plan(&s, "forever", json!({"enabled": true, "expires": "never"})).await;
    let sub2 = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": ada, "plan": forever}),
    )
    .await);
    send(
        s.admin(Method::POST, &format!("/v1/subscriptions/{sub2}/cancel"))
            .json(&json!({"at": "immediately"})),
    )
    .await;
    let kept = get(&s, &format!("/v1/license_keys?subscription_id={sub2}")).await;
    assert_eq!(kept["data"][0]["status"], "active", "{kept}");
    assert!(kept["data"][0]["key"].as_str().unwrap().starts_with("LK-"));

    // A plan may start issuing keys (for subscriptions started afterwards), and a change moved
    // onto such a plan at once gets its key then.
    let patched = send(
        s.admin(Method::PATCH, &format!("/v1/plans/{plain}"))
            .json(&json!({"license_keys": {"enabled": true, "expires": "never"}})),
    )
    .await;
    assert_eq!(
        patched.body["license_keys"]["expires"], "never",
        "{}",
        patched.body
    );
    let moved = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": ada, "plan": plain}),
    )
    .await);
    let changed = send(
        s.admin(
            Method::POST,
            &format!("/v1/subscriptions/{}/change", id(&other)),
        )
        .json(&json!({"plan": pro, "at": "immediately"})),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    for sub in [id(&other), moved.clone()] {
        let keys = get(&s, &format!("/v1/license_keys?subscription_id={sub}")).await;
        assert_eq!(keys["data"].as_array().unwrap().len(), 1, "{sub}: {keys}");
    }
    let stopped = send(
        s.admin(Method::PATCH, &format!("/v1/plans/{plain}"))
            .json(&json!({"license_keys": null})),
    )
    .await;
    assert_eq!(
        stopped.body["license_keys"],
        Value::Null,
        "{}",
        stopped.body
    );

    let events = key_events(&s).await;
    let created_for: Vec<&Value> = events
        .iter()
        .filter(|(t, _)| t == "license_key.created")
        .map(|(_, d)| &d["subscription_id"])
        .collect();
    assert_eq!(
        created_for,
        [&json!(sub), &json!(sub2), &json!(moved), &json!(id(&other))]
    );
    assert!(
        events.iter().all(|(_, d)| d.get("key").is_none()),
        "{events:?}"
    );
}

async fn software_validates_activates_and_deactivates_with_the_key(s: TestServer) {
    let ada = customer(&s, json!({"name": "Ada"})).await;
    let key = hand_key(&s, json!({"customer_id": ada, "activation_limit": 1})).await;
    let (kid, secret) = (
        key["id"].as_str().unwrap().to_owned(),
        key["key"].as_str().unwrap().to_owned(),
    );
    assert!(secret.starts_with("LK-"), "{secret}");
    assert_eq!(key["subscription_id"], Value::Null);

    // Bad input to the merchant's route: nothing stored.
    for (body, status, code) in [
        (
            json!({"customer_id": ada, "activation_limit": 0}),
            422,
            "validation_failed",
        ),
        (
            json!({"customer_id": ada, "expires_at": "2001-01-01T00:00:00Z"}),
            422,
            "validation_failed",
        ),
        (
            json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a"}),
            404,
            "customer_not_found",
        ),
    ] {
        send(s.admin(Method::POST, "/v1/license_keys").json(&body))
            .await
            .assert_problem(status, code);
    }
    let bad_filter = send(s.admin(Method::GET, "/v1/license_keys?customer_id=nope")).await;
    bad_filter.assert_problem(422, "validation_failed");
    assert_eq!(bad_filter.fields(), ["customer_id"]);
    assert_eq!(
        get(&s, "/v1/license_keys").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let theirs = send(
        s.request(Method::GET, &format!("/v1/license_keys/{kid}"))
            .header("x-api-key", s.other_tenant_key()),
    )
    .await;
    theirs.assert_problem(404, "license_key_not_found");

    // Unknown keys, however malformed, get one answer.
    for unknown in [
        "LK-NOT-A-KEY",
        "",
        &"A".repeat(500),
        &secret.replace('-', ""),
    ] {
        assert_refused(
            &public(&s, "validate", json!({"key": unknown})).await,
            "key",
            "unknown",
        );
    }
    // Labels are 1-200 characters.
    for label in ["   ".to_owned(), "x".repeat(201)] {
        let r = public(&s, "activate", json!({"key": secret, "label": label})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), ["label"]);
    }
    let first = public(
        &s,
        "activate",
        json!({"key": secret, "label": "Ada's laptop"}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let act = first.body["activation"]["id"].as_str().unwrap().to_owned();
    assert!(act.starts_with("act_"), "{act}");
    assert_eq!(first.body["license_key"]["activation_count"], 1);
    public(&s, "activate", json!({"key": secret, "label": "Desktop"}))
        .await
        .assert_problem(409, "activation_limit_reached");
    let live = public(&s, "validate", json!({"key": secret, "activation_id": act})).await;
    assert_eq!(live.status, 200, "{}", live.body);
    assert_eq!(live.body["activation"]["label"], "Ada's laptop");
    let gone = public(
        &s,
        "deactivate",
        json!({"key": secret, "activation_id": act}),
    )
    .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    for action in ["deactivate", "validate"] {
        assert_refused(
            &public(&s, action, json!({"key": secret, "activation_id": act})).await,
            "activation_id",
            "activation_unknown",
        );
    }
    let again = public(&s, "activate", json!({"key": secret, "label": "Desktop"})).await;
    assert_eq!(
        again.status, 201,
        "the freed activation is free: {}",
        again.body
    );

    // Disabled: refused until enabled (disabling twice sends one event).
    for _ in 0..2 {
        let d = send(s.admin(Method::POST, &format!("/v1/license_keys/{kid}/disable"))).await;
        assert_eq!(d.body["status"], "disabled", "{}", d.body);
    }
    for (action, body) in [
        ("validate", json!({"key": secret})),
        ("activate", json!({"key": secret, "label": "Desktop"})),
    ] {
        assert_refused(&public(&s, action, body).await, "key", "disabled");
    }
    let e = send(s.admin(Method::POST, &format!("/v1/license_keys/{kid}/enable"))).await;
    assert_eq!(e.body["status"], "active", "{}", e.body);
    assert_eq!(
        public(&s, "validate", json!({"key": secret})).await.status,
        200
    );
    // Past its expiry (set behind the server's back): expired.
    s.execute_sql(&format!(
        "UPDATE license_keys SET expires_at = '2020-01-01T00:00:00Z' WHERE id = '{kid}'"
    ));
    assert_refused(
        &public(&s, "validate", json!({"key": secret})).await,
        "key",
        "expired",
    );

    let events = key_events(&s).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "license_key.created",
            "license_key.activated",
            "license_key.deactivated",
            "license_key.activated",
            "license_key.disabled"
        ]
    );
    assert_eq!(events[1].1["activation"]["id"], act.as_str());
    assert_eq!(events[2].1["activation"]["id"], act.as_str());
    let all_payloads = get(&s, "/v1/webhook_events?limit=100").await.to_string();
    assert!(
        !all_payloads.contains(&secret),
        "no webhook carries the key"
    );
}

async fn activation_limit_holds_under_32_racing_activations(s: TestServer) {
    let ada = customer(&s, json!({"name": "Ada"})).await;
    let key = hand_key(&s, json!({"customer_id": ada, "activation_limit": 5})).await;
    let secret = key["key"].as_str().unwrap().to_owned();
    let s = std::sync::Arc::new(s);
    let racing: Vec<_> = (0..32)
        .map(|i| {
            let (s, secret) = (s.clone(), secret.clone());
            tokio::spawn(async move {
                public(
                    &s,
                    "activate",
                    json!({"key": secret, "label": format!("machine {i}")}),
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for r in racing {
        let r = r.await.unwrap();
        if r.status != 201 {
            r.assert_problem(409, "activation_limit_reached");
        }
        statuses.push(r.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    let read = get(
        &s,
        &format!("/v1/license_keys/{}", key["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(read["activation_count"], 5);
    assert_eq!(read["activations"].as_array().unwrap().len(), 5);
    assert_eq!(
        s.query_texts("SELECT CAST(COUNT(*) AS TEXT) AS v FROM license_activations"),
        ["5"]
    );
}

async fn customers_see_their_keys_and_free_activations(s: TestServer) {
    let ada = customer(&s, json!({"name": "Ada"})).await;
    let bob = customer(&s, json!({"name": "Bob"})).await;
    let mine = hand_key(&s, json!({"customer_id": ada})).await;
    let bobs = hand_key(&s, json!({"customer_id": bob})).await;
    let secret = mine["key"].as_str().unwrap();
    let act = public(&s, "activate", json!({"key": secret, "label": "Laptop"})).await;
    let act = act.body["activation"]["id"].as_str().unwrap().to_owned();
    let session = |manage: bool, licenses: bool| {
        let s = &s;
        let ada = ada.clone();
        async move {
            token(
                &portal_session(
                    s,
                    json!({"customer_id": ada, "invalidate_existing": false,
                           "sections": {"licenses": {"enabled": licenses}},
                           "permissions": {"license_manage": {"enabled": manage}}}),
                )
                .await,
            )
        }
    };
    let viewer = session(false, true).await;
    let listed = send(s.portal(Method::GET, "/v1/portal/license_keys", &viewer)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        1,
        "only Ada's"
    );
    assert_eq!(listed.body["data"][0]["key"], secret);
    assert_eq!(listed.body["data"][0]["activations"][0]["id"], act.as_str());
    let kid = mine["id"].as_str().unwrap();
    let path = |k: &str, a: &str| format!("/v1/portal/license_keys/{k}/activations/{a}/deactivate");
    send(s.portal(Method::POST, &path(kid, &act), &viewer))
        .await
        .assert_problem(403, "action_not_allowed");
    let hidden = session(true, false).await;
    send(s.portal(Method::GET, "/v1/portal/license_keys", &hidden))
        .await
        .assert_problem(403, "section_disabled");
    let manager = session(true, true).await;
    send(s.portal(
        Method::POST,
        &path(bobs["id"].as_str().unwrap(), &act),
        &manager,
    ))
    .await
    .assert_problem(404, "license_key_not_found");
    send(s.portal(
        Method::POST,
        &path(kid, "act_01jd3x6v9f5m2q8r7t4w0y1z3a"),
        &manager,
    ))
    .await
    .assert_problem(404, "activation_not_found");
    let freed = send(s.portal(Method::POST, &path(kid, &act), &manager)).await;
    assert_eq!(freed.status, 204, "{}", freed.body);
    send(s.portal(Method::POST, &path(kid, &act), &manager))
        .await
        .assert_problem(404, "activation_not_found");
    let after = send(s.portal(Method::GET, "/v1/portal/license_keys", &viewer)).await;
    assert_eq!(after.body["data"][0]["activation_count"], 0);
    assert!(after.body["data"][0]["activations"][0]["deactivated_at"].is_string());
    let audit = get(&s, "/v1/audit_events?limit=100").await.to_string();
    assert!(
        audit.contains("license_key.activation_deactivated"),
        "{audit}"
    );
}

async fn license_checks_are_rate_limited_per_key(s: TestServer) {
    let ada = customer(&s, json!({"name": "Ada"})).await;
    let key = hand_key(&s, json!({"customer_id": ada})).await;
    let other = hand_key(&s, json!({"customer_id": ada})).await;
    for _ in 0..3 {
        assert_eq!(
            public(&s, "validate", json!({"key": key["key"]}))
                .await
                .status,
            200
        );
    }
    let limited = public(&s, "validate", json!({"key": key["key"]})).await;
    limited.assert_problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(
        public(&s, "validate", json!({"key": other["key"]}))
            .await
            .status,
        200,
        "another key is not held back"
    );
}
