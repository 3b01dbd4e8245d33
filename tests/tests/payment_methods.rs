//! Saved payment methods over HTTP: the merchant records them (never card data), one default
//! per customer (the database refuses a second), expired cards read as expired, the portal
//! lists, sets the default and removes them only with `payment_method_manage`, another
//! customer's method is a 404, and bad input changes nothing.

use serde_json::{json, Value};
use tests::fixtures::{created, customer, portal_session, token};
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    one_default_per_customer_and_detached_methods_stay_on_record,
    the_portal_manages_methods_only_when_permitted,
    the_portal_hands_customers_over_to_the_merchant_setup_page,
    bad_payment_method_input_changes_nothing,
);

fn card(reference: &str, last4: &str) -> Value {
    json!({"type": "card", "provider": "stripe", "provider_reference": reference,
           "brand": "visa", "last4": last4, "exp_month": 12, "exp_year": 2099,
           "holder_name": "Ada Lovelace"})
}

async fn add(s: &TestServer, customer: &str, body: Value) -> Value {
    created(
        s,
        &format!("/v1/customers/{customer}/payment_methods"),
        body,
    )
    .await
    .body
}

async fn methods(s: &TestServer, customer: &str, query: &str) -> Vec<Value> {
    let r = send(s.admin(
        Method::GET,
        &format!("/v1/customers/{customer}/payment_methods{query}"),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"].as_array().unwrap().clone()
}

fn defaults(list: &[Value]) -> Vec<String> {
    list.iter()
        .filter(|m| m["is_default"] == true)
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn one_default_per_customer_and_detached_methods_stay_on_record(s: TestServer) {
    let c = customer(&s, json!({"name": "Ada"})).await;
    // The first method is the default without asking.
    let first = add(&s, &c, card("pm_first", "4242")).await;
    assert_eq!(first["is_default"], true);
    assert_eq!(first["status"], "active");
    assert_eq!(first["type"], "card");
    let sepa = add(
        &s,
        &c,
        json!({"type": "sepa_debit", "provider": "gocardless", "provider_reference": "MD000123",
               "bank_name": "Banque Populaire", "last4": "3201"}),
    )
    .await;
    assert_eq!(sepa["is_default"], false);
    // A new default replaces the old one in the same transaction.
    let third = add(&s, &c, {
        let mut b = card("pm_third", "1881");
        b["is_default"] = json!(true);
        b
    })
    .await;
    let all = methods(&s, &c, "").await;
    assert_eq!(all.len(), 3);
    assert_eq!(defaults(&all), [third["id"].as_str().unwrap()]);

    let base = format!("/v1/customers/{c}/payment_methods");
    let r = send(s.admin(Method::POST, &format!("{base}/{}/default", id_of(&sepa)))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(defaults(&methods(&s, &c, "").await), [id_of(&sepa)]);

    // The database itself keeps one default per customer.
    let second_default = format!(
        "UPDATE payment_methods SET is_default = TRUE WHERE id = '{}'",
        id_of(&first)
    );
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.execute_sql(&second_default)
    }));
    assert!(refused.is_err(), "a second default was stored");

    // An expired card that is a customer's first method is recorded, but not as the default.
    let late = customer(&s, json!({"name": "Late"})).await;
    let mut expired = card("pm_expired", "0004");
    expired["exp_year"] = json!(2020);
    let first_expired = add(&s, &late, expired.clone()).await;
    assert_eq!(first_expired["status"], "expired");
    assert_eq!(first_expired["is_default"], false);
    expired["is_default"] = json!(true);
    let r = send(
        s.admin(
            Method::POST,
            &format!("/v1/customers/{late}/payment_methods"),
        )
        .json(&expired),
    )
    .await;
    r.assert_problem(409, "payment_method_unusable");

    // A card past its expiry month reads as expired and cannot become the default.
    let old = add(&s, &c, {
        let mut b = card("pm_old", "0005");
        b["exp_year"] = json!(2020);
        b["exp_month"] = json!(1);
        b
    })
    .await;
    assert_eq!(old["status"], "expired");
    let r = send(s.admin(Method::POST, &format!("{base}/{}/default", id_of(&old)))).await;
    r.assert_problem(409, "payment_method_unusable");
    // A card updater's new expiry brings it back.
    let r = send(
        s.admin(Method::PATCH, &format!("{base}/{}", id_of(&old)))
            .json(&json!({"exp_month": 3, "exp_year": 2031})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["exp_year"], 2031);

    // Detaching the default leaves none; the method stays on record, listed when asked.
    let r = send(s.admin(Method::DELETE, &format!("{base}/{}", id_of(&sepa)))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "detached");
    assert_eq!(r.body["is_default"], false);
    assert!(r.body["detached_at"].is_string());
    let attached = methods(&s, &c, "").await;
    assert_eq!(attached.len(), 3);
    assert!(defaults(&attached).is_empty());
    assert_eq!(methods(&s, &c, "?include_detached=true").await.len(), 4);
    let r = send(s.admin(Method::DELETE, &format!("{base}/{}", id_of(&sepa)))).await;
    r.assert_problem(409, "payment_method_unusable");
    let r = send(s.admin(Method::POST, &format!("{base}/{}/default", id_of(&sepa)))).await;
    r.assert_problem(409, "payment_method_unusable");

    // Another customer's path does not reach it; nor does another account.
    let other = customer(&s, json!({"name": "Bob"})).await;
    let r = send(s.admin(
        Method::GET,
        &format!("/v1/customers/{other}/payment_methods/{}", id_of(&first)),
    ))
    .await;
    r.assert_problem(404, "payment_method_not_found");
    let r = send(
        s.request(Method::GET, &format!("{base}/{}", id_of(&first)))
            .header("x-api-key", s.other_tenant_key()),
    )
    .await;
    r.assert_problem(404, "payment_method_not_found");
    let r = send(s.admin(Method::GET, "/v1/customers/cus_nope/payment_methods")).await;
    r.assert_problem(404, "customer_not_found");

    // An archived customer gets no new method.
    let r = send(s.admin(Method::POST, &format!("/v1/customers/{other}/archive"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        s.admin(
            Method::POST,
            &format!("/v1/customers/{other}/payment_methods"),
        )
        .json(&card("pm_late", "9999")),
    )
    .await;
    r.assert_problem(409, "customer_archived");
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn the_portal_manages_methods_only_when_permitted(s: TestServer) {
    let alice = customer(&s, json!({"name": "Alice"})).await;
    let bob = customer(&s, json!({"name": "Bob"})).await;
    let a1 = id_of(&add(&s, &alice, card("pm_a1", "1111")).await);
    let a2 = id_of(&add(&s, &alice, card("pm_a2", "2222")).await);
    let b1 = id_of(&add(&s, &bob, card("pm_b1", "3333")).await);

    let read_only = token(&portal_session(&s, json!({"customer_id": alice})).await);
    let r = send(s.portal(Method::GET, "/v1/portal/payment_methods", &read_only)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [a2.as_str(), a1.as_str()],
        "only Alice's, newest first"
    );
    let r = send(s.portal(
        Method::POST,
        &format!("/v1/portal/payment_methods/{a2}/default"),
        &read_only,
    ))
    .await;
    r.assert_problem(403, "action_not_allowed");

    let manage = json!({"payment_method_manage": {"enabled": true}});
    let preview = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "mode": "admin_preview", "permissions": manage}),
        )
        .await,
    );
    let r = send(s.portal(
        Method::DELETE,
        &format!("/v1/portal/payment_methods/{a1}"),
        &preview,
    ))
    .await;
    r.assert_problem(403, "read_only_session");

    let t = token(&portal_session(&s, json!({"customer_id": alice, "permissions": manage})).await);
    let session = send(s.portal(Method::GET, "/v1/portal/session", &t)).await;
    assert_eq!(
        session.body["permissions"]["payment_method_manage"]["enabled"],
        true
    );
    // Bob's method is not found from Alice's session, whatever the route.
    for (m, path) in [
        (
            Method::POST,
            format!("/v1/portal/payment_methods/{b1}/default"),
        ),
        (Method::DELETE, format!("/v1/portal/payment_methods/{b1}")),
    ] {
        let r = send(s.portal(m, &path, &t)).await;
        r.assert_problem(404, "payment_method_not_found");
    }
    let r = send(s.portal(
        Method::POST,
        &format!("/v1/portal/payment_methods/{a2}/default"),
        &t,
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["is_default"], true);
    assert_eq!(defaults(&methods(&s, &alice, "").await), [a2.as_str()]);
    assert_eq!(defaults(&methods(&s, &bob, "").await), [b1.as_str()]);
    let r = send(s.portal(
        Method::DELETE,
        &format!("/v1/portal/payment_methods/{a1}"),
        &t,
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(s.portal(Method::GET, "/v1/portal/payment_methods", &t)).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1, "{}", r.body);

    // Both portal changes are in the audit log under the session.
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
    assert!(
        actions.contains(&"payment_method.default_set"),
        "{actions:?}"
    );
    assert!(actions.contains(&"payment_method.detached"), "{actions:?}");

    // A session with the section turned off sees none of it.
    let hidden = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "sections": {"payment_methods": {"enabled": false}}}),
        )
        .await,
    );
    let r = send(s.portal(Method::GET, "/v1/portal/payment_methods", &hidden)).await;
    r.assert_problem(403, "section_disabled");
}

async fn bad_payment_method_input_changes_nothing(s: TestServer) {
    let c = customer(&s, json!({"name": "Ada"})).await;
    let pm = id_of(&add(&s, &c, card("pm_keep", "4242")).await);
    let before = s.query_texts(&s.stored_state_query());
    let base = format!("/v1/customers/{c}/payment_methods");
    let cases = [
        // A card number instead of the provider's token.
        (
            json!({"type": "card", "provider": "stripe", "provider_reference": "4242424242424242"}),
            "provider_reference",
        ),
        // A card number in any free-text field.
        (
            json!({"type": "card", "provider": "stripe", "provider_reference": "pm_x", "holder_name": "Ada 4242 4242 4242 4242"}),
            "holder_name",
        ),
        (
            json!({"type": "card", "provider": "stripe", "provider_reference": "pm_x", "bank_name": "5555555555554444"}),
            "bank_name",
        ),
        (
            json!({"type": "card", "provider": "378282246310005", "provider_reference": "pm_x"}),
            "provider",
        ),
        (
            json!({"type": "cheque", "provider": "stripe", "provider_reference": "pm_x"}),
            "type",
        ),
        (
            json!({"type": "card", "provider": " ", "provider_reference": "pm_x"}),
            "provider",
        ),
        (
            json!({"type": "card", "provider": "stripe", "provider_reference": "pm_x", "last4": "42"}),
            "last4",
        ),
        (
            json!({"type": "card", "provider": "stripe", "provider_reference": "pm_x", "exp_month": 13, "exp_year": 2030}),
            "exp_month",
        ),
        (
            json!({"type": "card", "provider": "stripe", "provider_reference": "pm_x", "exp_month": 1}),
            "exp_year",
        ),
    ];
    for (body, field) in cases {
        let r = send(s.admin(Method::POST, &base).json(&body)).await;
        r.assert_problem(422, "validation_failed");
        assert!(r.fields().contains(&field.to_owned()), "{body}: {}", r.body);
    }
    let r = send(s.admin(Method::POST, &base).json(
        &json!({"type": "card", "provider": "stripe", "provider_reference": "pm_x", "cvc": "123"}),
    ))
    .await;
    assert_eq!(r.status, 422, "unknown fields are refused: {}", r.body);
    for patch in [
        json!({"exp_month": 0}),
        json!({"holder_name": "4000 0566 5566 5556"}),
    ] {
        let r = send(s.admin(Method::PATCH, &format!("{base}/{pm}")).json(&patch)).await;
        r.assert_problem(422, "validation_failed");
    }
    let r = send(
        s.admin(
            Method::POST,
            "/v1/customers/cus_01jd3x6v9f5m2q8r7t4w0y1z3a/payment_methods",
        )
        .json(&card("pm_y", "1234")),
    )
    .await;
    r.assert_problem(404, "customer_not_found");
    let r = send(s.admin(Method::DELETE, &format!("{base}/pm_nope"))).await;
    r.assert_problem(404, "payment_method_not_found");
    assert_eq!(s.query_texts(&s.stored_state_query()), before);
    // A missing customer's or another account's customer's methods: 404, not an empty list.
    for key in [s.key.clone(), s.other_tenant_key()] {
        let path = if key == s.key {
            "/v1/customers/cus_01jd3x6v9f5m2q8r7t4w0y1z3a".to_owned()
        } else {
            format!("/v1/customers/{c}")
        };
        for list in ["payment_methods", "activity"] {
            let r = send(
                s.request(Method::GET, &format!("{path}/{list}"))
                    .header("x-api-key", &key),
            )
            .await;
            r.assert_problem(404, "customer_not_found");
        }
    }
}

async fn the_portal_hands_customers_over_to_the_merchant_setup_page(s: TestServer) {
    let c = customer(&s, json!({"name": "Ada"})).await;
    let manage = json!({"payment_method_manage": {"enabled": true}});
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": c, "permissions": manage, "return_url": "https://shop.test/account?tab=billing"}),
        )
        .await,
    );
    let setup = |t: &str| s.portal(Method::POST, "/v1/portal/payment_methods/setup", t);
    // Until the merchant names a setup page there is nowhere to send the customer.
    send(setup(&t))
        .await
        .assert_problem(409, "payment_method_setup_unavailable");
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"payment_method_setup_url": "http://shop.test/add-card"})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    let r = send(s.admin(Method::PATCH, "/v1/account").json(
        &json!({"payment_method_setup_url": "https://shop.test/billing/add-card?brand=acme"}),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = send(setup(&t)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["url"],
        format!("https://shop.test/billing/add-card?brand=acme&customer_id={c}&return_url=https%3A%2F%2Fshop.test%2Faccount%3Ftab%3Dbilling")
    );
    // Nothing secret travels in it.
    assert!(!r.body["url"].as_str().unwrap().contains(&t));

    // Only with the permission, never from a preview.
    let plain = token(&portal_session(&s, json!({"customer_id": c})).await);
    send(setup(&plain))
        .await
        .assert_problem(403, "action_not_allowed");
    let preview = token(
        &portal_session(
            &s,
            json!({"customer_id": c, "mode": "admin_preview", "permissions": manage}),
        )
        .await,
    );
    send(setup(&preview))
        .await
        .assert_problem(403, "read_only_session");
}
