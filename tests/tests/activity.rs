//! The activity history over HTTP: every kind of entry from the records themselves, newest
//! first, walked page by page without a gap or a repeat, filtered by kind, the same for the
//! merchant and the portal, and never another customer's.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tests::fixtures::{created, customer, id, portal_session, token, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(the_activity_log_tells_the_customer_what_happened);

async fn ok(r: Reply) -> Value {
    assert!(r.status.is_success(), "{}", r.body);
    r.body
}

/// A finalized USD invoice of `total`; its id.
async fn invoice(s: &TestServer, customer: &str, total: &str) -> String {
    let i = id(&created(
        s,
        "/v1/invoices",
        json!({"customer_id": customer, "currency": "USD",
               "lines": [{"description": "Plan", "quantity": "1", "unit_amount": total}]}),
    )
    .await);
    ok(send(s.admin(Method::POST, &format!("/v1/invoices/{i}/finalize"))).await).await;
    i
}

/// Every entry of a history, following `next_cursor` pages of `limit`.
async fn walk(get: impl Fn(&str) -> reqwest::RequestBuilder) -> Vec<Value> {
    let (mut all, mut cursor) = (Vec::new(), String::new());
    loop {
        let page = ok(send(get(&cursor)).await).await;
        all.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return all,
        }
        assert!(all.len() < 100, "the walk does not end");
    }
}

async fn the_activity_log_tells_the_customer_what_happened(s: TestServer) {
    let alice = customer(&s, json!({"name": "Alice"})).await;
    let bob = customer(&s, json!({"name": "Bob"})).await;
    let w = wallet(&s, &alice, "USD", "0.01").await;
    ok(send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .json(&json!({"credits": "5000"})),
    )
    .await)
    .await;
    let inv1 = invoice(&s, &alice, "30").await;
    let paid = ok(send(
        s.admin(Method::POST, &format!("/v1/invoices/{inv1}/payments"))
            .json(&json!({"amount": "10", "method": "wallet", "wallet_id": w})),
    )
    .await)
    .await;
    let payment = paid["payment"]["id"].as_str().unwrap().to_owned();
    ok(send(
        s.admin(Method::POST, &format!("/v1/invoices/{inv1}/payments")).json(
            &json!({"amount": "20", "method": "external", "status": "failed", "failure_reason": "card declined"}),
        ),
    )
    .await)
    .await;
    ok(send(
        s.admin(Method::POST, &format!("/v1/payments/{payment}/refunds"))
            .json(&json!({"amount": "5", "reason": "goodwill"})),
    )
    .await)
    .await;
    let inv2 = invoice(&s, &alice, "7").await;
    ok(send(s.admin(Method::POST, &format!("/v1/invoices/{inv2}/void"))).await).await;
    let pm = created(
        &s,
        &format!("/v1/customers/{alice}/payment_methods"),
        json!({"type": "card", "provider": "stripe", "provider_reference": "pm_a"}),
    )
    .await;
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "permissions": {"payment_method_manage": {"enabled": true},
                                                        "profile_update": {"allowed_fields": ["phone"]}}}),
        )
        .await,
    );
    ok(send(s.portal(
        Method::DELETE,
        &format!("/v1/portal/payment_methods/{}", id(&pm)),
        &t,
    ))
    .await)
    .await;
    ok(send(
        s.portal(Method::PATCH, "/v1/portal/customer", &t)
            .json(&json!({"phone": "+49 30 1234567"})),
    )
    .await)
    .await;
    // Bob's money is his own.
    let bob_inv = invoice(&s, &bob, "3").await;
    ok(send(
        s.admin(Method::POST, &format!("/v1/invoices/{bob_inv}/payments"))
            .json(&json!({"amount": "3", "method": "external"})),
    )
    .await)
    .await;

    let mine =
        walk(|c| s.portal(Method::GET, &format!("/v1/portal/activity?limit=3{c}"), &t)).await;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &mine {
        *kinds.entry(e["type"].as_str().unwrap()).or_default() += 1;
    }
    let expected: BTreeMap<&str, usize> = [
        ("wallet_top_up", 2), // the top-up, and the refund's credits coming back
        ("invoice_issued", 2),
        ("payment_succeeded", 1),
        ("wallet_debit", 1),
        ("payment_failed", 1),
        ("refund", 1),
        ("invoice_voided", 1),
        ("payment_method_changed", 1),
        ("profile_updated", 1),
    ]
    .into();
    assert_eq!(kinds, expected, "{mine:#?}");
    let times: Vec<&str> = mine
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert!(!mine.iter().any(|e| e["invoice_id"] == bob_inv.as_str()));

    let by = |kind: &str| mine.iter().find(|e| e["type"] == kind).unwrap().clone();
    let p = by("payment_succeeded");
    assert_eq!(
        (p["amount"].as_str(), p["currency"].as_str()),
        (Some("10.00"), Some("USD"))
    );
    assert_eq!(p["invoice_id"], inv1.as_str());
    assert_eq!(p["status"], "success");
    let d = by("wallet_debit");
    assert_eq!(d["payment_id"], payment.as_str());
    assert!(d["transaction_id"].as_str().unwrap().starts_with("wtx_"));
    let f = by("payment_failed");
    assert_eq!(f["status"], "error");
    assert!(f["description"].as_str().unwrap().contains("card declined"));
    assert_eq!(by("refund")["amount"], "5.00");
    assert_eq!(by("invoice_voided")["invoice_id"], inv2.as_str());
    // The audit entry behind a profile edit names the fields, never their values.
    let audit = ok(send(s.admin(
        Method::GET,
        &format!("/v1/audit_events?customer_id={alice}&action=customer.profile_updated"),
    ))
    .await)
    .await;
    assert_eq!(
        audit["data"][0]["details"]["fields"],
        json!(["phone"]),
        "{audit}"
    );
    assert!(!audit.to_string().contains("1234567"));

    // Filtered by kind; the merchant sees the same history.
    let failed = ok(send(s.portal(
        Method::GET,
        "/v1/portal/activity?type=payment_failed,refund",
        &t,
    ))
    .await)
    .await;
    let kinds: Vec<&str> = failed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["refund", "payment_failed"]);
    let admin = walk(|c| {
        s.admin(
            Method::GET,
            &format!("/v1/customers/{alice}/activity?limit=4{c}"),
        )
    })
    .await;
    assert_eq!(admin, mine);

    send(s.portal(Method::GET, "/v1/portal/activity?type=everything", &t))
        .await
        .assert_problem(422, "validation_failed");
    let hidden = token(
        &portal_session(
            &s,
            json!({"customer_id": alice, "sections": {"activity": {"enabled": false}}}),
        )
        .await,
    );
    send(s.portal(Method::GET, "/v1/portal/activity", &hidden))
        .await
        .assert_problem(403, "section_disabled");
}
