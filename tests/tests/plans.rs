//! The plan catalogue over HTTP: create with metered charges, tiers and entitlements; what may
//! and may not change; archive; bad input that stores nothing; the portal's catalogue.

use serde_json::{json, Value};
use tests::fixtures::{created, customer_named, feature, id, portal_session, token, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    plan_lifecycle,
    bad_plans_store_nothing,
    portal_catalogue_shows_public_active_plans_in_the_customer_currency,
    contact_sales_plans_are_sold_by_the_merchant,
);

async fn features(s: &TestServer) {
    feature(
        s,
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count", "unit_price": "0.002", "currency": "USD"}),
    )
    .await;
    feature(
        s,
        json!({"key": "seats", "name": "Seats", "unit": "seats", "aggregation": "max", "value_property": "n", "unit_price": "5", "currency": "USD"}),
    )
    .await;
}

fn pro(code: &str) -> Value {
    json!({
        "code": code,
        "name": "Pro",
        "description": "For growing teams",
        "currency": "USD",
        "interval": "month",
        "amount": "49",
        "trial_days": 14,
        "charges": [
            {"feature": "api_calls", "included_quantity": "10000",
             "tiers": [{"up_to": "100000", "unit_price": "0.002"}, {"up_to": null, "unit_price": "0.0015"}]},
            {"feature": "seats", "unit_price": "8.50"}
        ],
        "entitlements": [
            {"feature": "api_calls", "limit": "200000", "soft": true},
            {"feature": "seats", "limit": "25"}
        ]
    })
}

async fn get(s: &TestServer, path: &str) -> Reply {
    send(s.admin(Method::GET, path)).await
}

async fn plan_lifecycle(s: TestServer) {
    features(&s).await;
    let first = created(&s, "/v1/plans", pro("pro-monthly")).await;
    let p = &first.body;
    let pid = id(&first);
    assert!(pid.starts_with("plan_"), "{pid}");
    assert_eq!(p["code"], "pro-monthly");
    assert_eq!(p["currency"], "USD");
    assert_eq!(p["interval"], "month");
    assert_eq!(p["interval_count"], 1);
    // The fixed fee shows in the currency's minor units; prices stay exact as sent.
    assert_eq!(p["amount"], "49.00");
    assert_eq!(p["trial_days"], 14);
    assert_eq!(p["status"], "active");
    assert_eq!(p["visibility"], "public");
    assert_eq!(p["charges"][0]["included_quantity"], "10000");
    assert_eq!(p["charges"][0]["unit_price"], Value::Null);
    assert_eq!(p["charges"][0]["tiers"][0]["up_to"], "100000");
    assert_eq!(p["charges"][0]["tiers"][1]["up_to"], Value::Null);
    assert_eq!(p["charges"][0]["tiers"][1]["unit_price"], "0.0015");
    assert_eq!(p["charges"][1]["unit_price"], "8.5");
    assert_eq!(p["charges"][1]["included_quantity"], "0");
    assert_eq!(p["entitlements"][0]["limit"], "200000");
    assert_eq!(p["entitlements"][0]["soft"], true);
    assert_eq!(p["entitlements"][1]["soft"], false);

    let fetched = get(&s, &format!("/v1/plans/{pid}")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(
        fetched.body, first.body,
        "what is read back is what was created"
    );

    // Presentation may change; what it charges may not.
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/plans/{pid}"))
            .json(&json!({"name": "Pro (2027)", "description": null, "visibility": "private", "trial_days": 30})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Pro (2027)");
    assert_eq!(r.body["description"], Value::Null);
    assert_eq!(r.body["visibility"], "private");
    assert_eq!(r.body["trial_days"], 30);
    for frozen in [
        json!({"amount": "59"}),
        json!({"currency": "EUR"}),
        json!({"charges": []}),
        json!({"interval": "year"}),
    ] {
        let r = send(
            s.admin(Method::PATCH, &format!("/v1/plans/{pid}"))
                .json(&frozen),
        )
        .await;
        assert!(
            r.status.is_client_error(),
            "{frozen} must be refused: {}",
            r.body
        );
    }
    let after = get(&s, &format!("/v1/plans/{pid}")).await.body;
    assert_eq!(after["amount"], "49.00");
    assert_eq!(after["charges"], first.body["charges"]);

    // A second plan; the list is newest first and filters.
    let basic = created(
        &s,
        "/v1/plans",
        json!({"code": "basic-yearly", "name": "Basic", "currency": "JPY", "interval": "year", "amount": "12000"}),
    )
    .await;
    assert_eq!(basic.body["amount"], "12000");
    let all = get(&s, "/v1/plans").await.body;
    let codes: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["basic-yearly", "pro-monthly"]);
    let private = get(&s, "/v1/plans?visibility=private").await.body;
    assert_eq!(private["data"].as_array().unwrap().len(), 1);

    // Archive: once or twice, same answer; archived plans stay readable.
    for _ in 0..2 {
        let r = send(s.admin(Method::POST, &format!("/v1/plans/{pid}/archive"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "archived");
    }
    let archived = get(&s, "/v1/plans?status=archived").await.body;
    assert_eq!(archived["data"][0]["id"], pid.as_str());
    let active = get(&s, "/v1/plans?status=active").await.body;
    assert_eq!(active["data"].as_array().unwrap().len(), 1);

    // Not found: unknown, malformed, another kind of id, another account's.
    for bad in [
        "plan_01jd3x6v9f5m2q8r7t4w0y1z3a",
        "plan_nope",
        &basic.body["id"].as_str().unwrap().replace("plan_", "cus_"),
    ] {
        get(&s, &format!("/v1/plans/{bad}"))
            .await
            .assert_problem(404, "plan_not_found");
    }
    let other = s.other_tenant_key();
    send(
        s.request(Method::GET, &format!("/v1/plans/{pid}"))
            .header("x-api-key", other.clone()),
    )
    .await
    .assert_problem(404, "plan_not_found");
    let theirs = send(
        s.request(Method::GET, "/v1/plans")
            .header("x-api-key", other),
    )
    .await;
    assert_eq!(theirs.body["data"], json!([]));
}

async fn bad_plans_store_nothing(s: TestServer) {
    features(&s).await;
    created(&s, "/v1/plans", pro("pro")).await;
    let post = |body: Value| send(s.admin(Method::POST, "/v1/plans").json(&body));

    // The code is the account's: a second plan with it is a conflict.
    post(pro("pro"))
        .await
        .assert_problem(409, "plan_code_taken");

    let with = |patch: Value| {
        let mut body = pro("pro-2");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(json!({"interval_count": 0})), "interval_count"),
        (with(json!({"interval": "fortnight"})), "interval"),
        (
            with(json!({"interval": "year", "interval_count": 11})),
            "interval_count",
        ),
        (with(json!({"amount": "-1"})), "amount"),
        (with(json!({"currency": "JPY", "amount": "10.5"})), "amount"),
        (with(json!({"currency": "XYZ"})), "currency"),
        (with(json!({"code": "Pro Plan"})), "code"),
        (with(json!({"name": " "})), "name"),
        (with(json!({"trial_days": 731})), "trial_days"),
        (with(json!({"visibility": "secret"})), "visibility"),
        (
            with(json!({"charges": [{"feature": "nope", "unit_price": "1"}]})),
            "charges[0].feature",
        ),
        (
            with(json!({"charges": [{"feature": "api_calls", "unit_price": "-0.1"}]})),
            "charges[0].unit_price",
        ),
        (
            with(json!({"charges": [{"feature": "api_calls"}]})),
            "charges[0].unit_price",
        ),
        (
            with(
                json!({"charges": [{"feature": "api_calls", "unit_price": "1", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
            ),
            "charges[0].tiers",
        ),
        (
            with(json!({"charges": [{"feature": "api_calls", "tiers": [
                {"up_to": "100", "unit_price": "1"}, {"up_to": "50", "unit_price": "1"}, {"up_to": null, "unit_price": "1"}]}]})),
            "charges[0].tiers[1].up_to",
        ),
        (
            with(json!({"charges": [{"feature": "api_calls", "tiers": [
                {"up_to": "100", "unit_price": "1"}, {"up_to": "100", "unit_price": "1"}, {"up_to": null, "unit_price": "1"}]}]})),
            "charges[0].tiers[1].up_to",
        ),
        (
            with(
                json!({"charges": [{"feature": "api_calls", "tiers": [{"up_to": "100", "unit_price": "1"}]}]}),
            ),
            "charges[0].tiers[0].up_to",
        ),
        (
            with(
                json!({"charges": [{"feature": "api_calls", "tiers": [{"up_to": "1e3", "unit_price": "1"}, {"up_to": null, "unit_price": "1"}]}]}),
            ),
            "charges[0].tiers[0].up_to",
        ),
        (
            with(
                json!({"charges": [{"feature": "api_calls", "unit_price": "1"}, {"feature": "api_calls", "unit_price": "2"}]}),
            ),
            "charges[1].feature",
        ),
        (
            with(json!({"entitlements": [{"feature": "seats", "limit": "-5"}]})),
            "entitlements[0].limit",
        ),
        (
            with(json!({"entitlements": [{"feature": "ghost"}]})),
            "entitlements[0].feature",
        ),
    ];
    for (body, field) in cases {
        let r = post(body.clone()).await;
        r.assert_problem(422, "validation_failed");
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{body}: expected {field}, got {fields:?}"
        );
    }
    // Errors are reported together, not one per attempt.
    let r = post(with(
        json!({"amount": "-1", "interval_count": 0, "trial_days": 9999}),
    ))
    .await;
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 3, "{}", r.body);

    let all = get(&s, "/v1/plans").await.body;
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        1,
        "nothing else was stored"
    );
}

async fn portal_catalogue_shows_public_active_plans_in_the_customer_currency(s: TestServer) {
    features(&s).await;
    let usd = id(&created(&s, "/v1/plans", pro("pro")).await);
    let mut private = pro("enterprise");
    private["visibility"] = json!("private");
    created(&s, "/v1/plans", private).await;
    let mut euro = pro("pro-eur");
    euro["currency"] = json!("EUR");
    let eur = id(&created(&s, "/v1/plans", euro).await);
    let mut old = pro("legacy");
    old["name"] = json!("Legacy");
    let legacy = id(&created(&s, "/v1/plans", old).await);
    send(s.admin(Method::POST, &format!("/v1/plans/{legacy}/archive"))).await;

    let catalogue = |t: String| {
        let s = &s;
        async move {
            let r = send(s.portal(Method::GET, "/v1/portal/plans", &t)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let mut ids: Vec<String> = r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    // No wallet yet: every public, active plan.
    let alice = customer_named(&s, "alice").await;
    let t = token(&portal_session(&s, json!({"customer_id": alice})).await);
    let mut expected = vec![usd.clone(), eur.clone()];
    expected.sort();
    assert_eq!(catalogue(t.clone()).await, expected);
    // A USD wallet: the USD plans only.
    wallet(&s, &alice, "USD", "1").await;
    assert_eq!(catalogue(t).await, vec![usd.clone()]);

    // The section can be switched off.
    let off = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "sections": {"subscriptions": {"enabled": false}}}),
        )
        .await,
    );
    send(s.portal(Method::GET, "/v1/portal/plans", &off))
        .await
        .assert_problem(403, "section_disabled");
}

/// A "Contact us" plan: its https contact URL is checked (a problem naming `contact_url`, nothing
/// stored), the portal's catalogue shows it with the URL, a customer cannot change to it from the
/// portal (409 `plan_contact_sales`, the preview too), and the merchant can still subscribe them.
async fn contact_sales_plans_are_sold_by_the_merchant(s: TestServer) {
    let plan = |code: &str, extra: Value| {
        let mut body = json!({"code": code, "name": code, "currency": "USD", "interval": "month", "amount": "10"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, field) in [
        (json!({"purchase": "contact_sales"}), "contact_url"),
        (
            json!({"purchase": "contact_sales", "contact_url": "http://sales.example.com"}),
            "contact_url",
        ),
        (
            json!({"purchase": "contact_sales", "contact_url": "https://"}),
            "contact_url",
        ),
        (
            json!({"contact_url": "https://sales.example.com"}),
            "contact_url",
        ),
        (
            json!({"purchase": "haggle", "contact_url": "https://sales.example.com"}),
            "purchase",
        ),
    ] {
        let r = send(
            s.admin(Method::POST, "/v1/plans")
                .json(&plan("bad", extra.clone())),
        )
        .await;
        assert_eq!(r.status, 422, "{extra}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{extra}: {}", r.body);
    }
    let listed = send(s.admin(Method::GET, "/v1/plans")).await;
    assert_eq!(listed.body["data"], json!([]), "nothing stored");

    let starter = created(&s, "/v1/plans", plan("starter", json!({}))).await;
    assert_eq!(
        (&starter.body["purchase"], &starter.body["contact_url"]),
        (&json!("self_serve"), &Value::Null)
    );
    let enterprise = created(&s, "/v1/plans", plan("enterprise", json!({
        "amount": "0", "purchase": "contact_sales", "contact_url": "https://sales.example.com/enterprise"}))).await;
    assert_eq!(enterprise.body["purchase"], "contact_sales");
    let c = customer_named(&s, "buyer").await;
    let sub = created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": c, "plan": "starter"}),
    )
    .await;
    let sub = id(&sub);
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": c,
        "permissions": {"plan_change": {"enabled": true}}}),
        )
        .await,
    );
    let catalogue = send(s.portal(Method::GET, "/v1/portal/plans", &t)).await;
    let shown = catalogue.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "enterprise")
        .cloned()
        .expect("in the catalogue");
    assert_eq!(
        (&shown["purchase"], &shown["contact_url"]),
        (
            &json!("contact_sales"),
            &json!("https://sales.example.com/enterprise")
        )
    );
    for path in ["change", "change/preview"] {
        send(
            s.portal(
                Method::POST,
                &format!("/v1/portal/subscriptions/{sub}/{path}"),
                &t,
            )
            .json(&json!({"plan": "enterprise"})),
        )
        .await
        .assert_problem(409, "plan_contact_sales");
    }
    // The merchant moves the customer to it, and can open it to self-service later.
    let moved = send(
        s.admin(Method::POST, &format!("/v1/subscriptions/{sub}/change"))
            .json(&json!({"plan": "enterprise"})),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let e = id(&enterprise);
    // A downgrade (10 to 0): at the period's end.
    assert_eq!(moved.body["pending_plan_id"], json!(e), "{}", moved.body);
    send(
        s.admin(Method::PATCH, &format!("/v1/plans/{e}"))
            .json(&json!({"contact_url": "http://x.example"})),
    )
    .await
    .assert_problem(422, "validation_failed");
    let opened = send(
        s.admin(Method::PATCH, &format!("/v1/plans/{e}"))
            .json(&json!({"purchase": "self_serve"})),
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(
        (&opened.body["purchase"], &opened.body["contact_url"]),
        (&json!("self_serve"), &Value::Null)
    );
}
