//! Payments and refunds over HTTP, including wallet payments that debit credits in the same
//! transaction, on both backends.

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::fixtures::{created, portal_session, token};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    wallet_and_external_payments_with_refunds,
    concurrent_wallet_payments_never_overpay,
    refused_payments_change_nothing,
    portal_lists_own_payments,
    the_portal_pays_an_invoice_from_the_wallet_once,
    refused_portal_payments_change_nothing,
    a_saved_method_payment_is_pending_until_the_merchant_settles_it,
    auto_pay_collects_new_invoices_from_the_wallet_then_the_default_method,
);

struct Setup {
    customer: String,
    invoice: String,
    wallet: String,
}

async fn setup(s: &TestServer, ext: &str, total: &str, credits: &str) -> Setup {
    let c = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": ext, "external_id": ext})),
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = send(
        s.admin(Method::POST, "/v1/wallets")
            .json(&json!({"customer_id": c, "currency": "USD", "conversion_rate": "0.01"})),
    )
    .await;
    let w = w.body["id"].as_str().unwrap().to_owned();
    send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .json(&json!({"credits": credits})),
    )
    .await;
    let inv = send(s.admin(Method::POST, "/v1/invoices").json(&json!({"customer_id": c, "currency": "USD", "lines": [{"description": "Plan", "quantity": "1", "unit_amount": total}]}))).await;
    let i = inv.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        send(s.admin(Method::POST, &format!("/v1/invoices/{i}/finalize")))
            .await
            .status,
        200
    );
    Setup {
        customer: c,
        invoice: i,
        wallet: w,
    }
}

async fn pay(s: &TestServer, invoice: &str, body: Value) -> Reply {
    send(
        s.admin(Method::POST, &format!("/v1/invoices/{invoice}/payments"))
            .json(&body),
    )
    .await
}

async fn balance(s: &TestServer, w: &str) -> String {
    send(s.admin(Method::GET, &format!("/v1/wallets/{w}")))
        .await
        .body["balance"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wallet_and_external_payments_with_refunds(s: TestServer) {
    let x = setup(&s, "acme", "100", "20000").await;
    let r = pay(
        &s,
        &x.invoice,
        json!({"amount": "30", "method": "wallet", "wallet_id": x.wallet}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["payment"]["credits"], "3000",
        "30 USD at 0.01 per credit"
    );
    assert_eq!(r.body["payment"]["amount"], "30.00");
    assert_eq!(r.body["invoice"]["payment_status"], "partially_paid");
    assert_eq!(r.body["invoice"]["amount_due"], "70.00");
    assert_eq!(balance(&s, &x.wallet).await, "17000");
    let wallet_pay = r.body["payment"]["id"].as_str().unwrap().to_owned();
    // The debit is in the wallet's ledger, pointing at the payment.
    let debits = send(s.admin(
        Method::GET,
        &format!("/v1/wallets/{}/transactions?type=debit", x.wallet),
    ))
    .await;
    assert_eq!(debits.body["data"][0]["reference"], wallet_pay.as_str());
    assert_eq!(debits.body["data"][0]["reason"], "invoice_payment");

    pay(
        &s,
        &x.invoice,
        json!({"amount": "70.01", "method": "external"}),
    )
    .await
    .assert_problem(422, "overpayment");
    let ext = pay(
        &s,
        &x.invoice,
        json!({"amount": "70", "method": "external", "reference": "wire-77"}),
    )
    .await;
    assert_eq!(ext.body["invoice"]["payment_status"], "paid");
    assert_eq!(ext.body["invoice"]["amount_due"], "0.00");
    pay(
        &s,
        &x.invoice,
        json!({"amount": "0.01", "method": "external"}),
    )
    .await
    .assert_problem(422, "overpayment");
    let ext_id = ext.body["payment"]["id"].as_str().unwrap().to_owned();

    // A paid invoice cannot be voided while money sits on it.
    send(s.admin(Method::POST, &format!("/v1/invoices/{}/void", x.invoice)))
        .await
        .assert_problem(409, "invoice_has_payments");

    // Refund the wallet payment: credits go back to the wallet.
    let rf = send(
        s.admin(Method::POST, &format!("/v1/payments/{wallet_pay}/refunds"))
            .json(&json!({"amount": "30", "reason": "goodwill"})),
    )
    .await;
    assert_eq!(rf.status, 201, "{}", rf.body);
    assert_eq!(rf.body["refund"]["credits"], "3000");
    assert_eq!(
        rf.body["refund"]["amount"], "30.00",
        "money as the payment shows it"
    );
    assert_eq!(rf.body["payment"]["amount_refunded"], "30.00");
    assert_eq!(balance(&s, &x.wallet).await, "20000");
    let inv = send(s.admin(Method::GET, &format!("/v1/invoices/{}", x.invoice))).await;
    assert_eq!(
        (
            inv.body["payment_status"].as_str().unwrap(),
            inv.body["amount_due"].as_str().unwrap()
        ),
        ("partially_paid", "30.00")
    );
    send(
        s.admin(Method::POST, &format!("/v1/payments/{wallet_pay}/refunds"))
            .json(&json!({"amount": "0.01"})),
    )
    .await
    .assert_problem(422, "refund_exceeds_payment");

    // Refund the rest: the invoice is refunded, and may then be voided.
    send(
        s.admin(Method::POST, &format!("/v1/payments/{ext_id}/refunds"))
            .json(&json!({"amount": "50"})),
    )
    .await;
    send(
        s.admin(Method::POST, &format!("/v1/payments/{ext_id}/refunds"))
            .json(&json!({"amount": "20"})),
    )
    .await;
    let inv = send(s.admin(Method::GET, &format!("/v1/invoices/{}", x.invoice))).await;
    assert_eq!(inv.body["payment_status"], "refunded");
    assert_eq!(
        send(s.admin(Method::POST, &format!("/v1/invoices/{}/void", x.invoice)))
            .await
            .body["status"],
        "voided"
    );

    // A failed external payment is history only.
    let y = setup(&s, "beta", "10", "0").await;
    let failed = pay(&s, &y.invoice, json!({"amount": "10", "method": "external", "status": "failed", "failure_reason": "card declined"})).await;
    assert_eq!(failed.body["payment"]["status"], "failed");
    assert_eq!(failed.body["invoice"]["payment_status"], "unpaid");
    let fid = failed.body["payment"]["id"].as_str().unwrap();
    send(
        s.admin(Method::POST, &format!("/v1/payments/{fid}/refunds"))
            .json(&json!({"amount": "1"})),
    )
    .await
    .assert_problem(409, "payment_not_refundable");
    let history = send(s.admin(
        Method::GET,
        &format!("/v1/payments?invoice_id={}", y.invoice),
    ))
    .await;
    assert_eq!(history.body["data"][0]["failure_reason"], "card declined");
    assert_eq!(
        send(s.admin(Method::GET, "/v1/payments?status=failed"))
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Retried with the same Idempotency-Key: applied once.
    let body = json!({"amount": "4", "method": "external"});
    let path = format!("/v1/invoices/{}/payments", y.invoice);
    send(
        s.admin(Method::POST, &path)
            .header("Idempotency-Key", "pay-1")
            .json(&body),
    )
    .await;
    let again = send(
        s.admin(Method::POST, &path)
            .header("Idempotency-Key", "pay-1")
            .json(&body),
    )
    .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        send(s.admin(Method::GET, &format!("/v1/invoices/{}", y.invoice)))
            .await
            .body["amount_paid"],
        "4.00"
    );
}

async fn concurrent_wallet_payments_never_overpay(s: TestServer) {
    let x = setup(&s, "race", "100", "1000000").await;
    let attempts = (0..10).map(|_| {
        pay(
            &s,
            &x.invoice,
            json!({"amount": "30", "method": "wallet", "wallet_id": x.wallet}),
        )
    });
    let replies = join_all(attempts).await;
    let ok = replies.iter().filter(|r| r.status == 201).count();
    for r in replies.iter().filter(|r| r.status != 201) {
        r.assert_problem(422, "overpayment");
    }
    assert_eq!(ok, 3, "30 × 3 fits in 100; a fourth would over-pay");
    let inv = send(s.admin(Method::GET, &format!("/v1/invoices/{}", x.invoice))).await;
    assert_eq!(inv.body["amount_paid"], "90.00");
    assert_eq!(
        balance(&s, &x.wallet).await,
        "991000",
        "debited exactly three times"
    );
    let debits = send(s.admin(
        Method::GET,
        &format!("/v1/wallets/{}/transactions?type=debit", x.wallet),
    ))
    .await;
    assert_eq!(debits.body["data"].as_array().unwrap().len(), 3);
}

async fn refused_payments_change_nothing(s: TestServer) {
    let x = setup(&s, "refuse", "50", "100").await; // 100 credits = 1 USD
    let other = setup(&s, "other", "5", "100000").await;
    let before = balance(&s, &x.wallet).await;
    pay(
        &s,
        &x.invoice,
        json!({"amount": "2", "method": "wallet", "wallet_id": x.wallet}),
    )
    .await
    .assert_problem(422, "insufficient_credits");
    pay(
        &s,
        &x.invoice,
        json!({"amount": "1", "method": "wallet", "wallet_id": other.wallet}),
    )
    .await
    .assert_problem(404, "wallet_not_found");
    pay(&s, &x.invoice, json!({"amount": "1", "method": "wallet"}))
        .await
        .assert_problem(422, "validation_failed");
    pay(
        &s,
        &x.invoice,
        json!({"amount": "0.001", "method": "external"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    pay(&s, &x.invoice, json!({"amount": "1", "method": "cash"}))
        .await
        .assert_problem(422, "validation_failed");
    let eur = send(
        s.admin(Method::POST, "/v1/wallets")
            .json(&json!({"customer_id": x.customer, "currency": "EUR"})),
    )
    .await;
    let eur = eur.body["id"].as_str().unwrap().to_owned();
    send(
        s.admin(Method::POST, &format!("/v1/wallets/{eur}/top_up"))
            .json(&json!({"credits": "100"})),
    )
    .await;
    pay(
        &s,
        &x.invoice,
        json!({"amount": "1", "method": "wallet", "wallet_id": eur}),
    )
    .await
    .assert_problem(422, "currency_mismatch");
    let draft = send(s.admin(Method::POST, "/v1/invoices").json(&json!({"customer_id": x.customer, "currency": "USD", "lines": [{"description": "x", "quantity": "1", "unit_amount": "1"}]}))).await;
    pay(
        &s,
        draft.body["id"].as_str().unwrap(),
        json!({"amount": "1", "method": "external"}),
    )
    .await
    .assert_problem(409, "invoice_not_payable");
    send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{}", x.wallet))
            .json(&json!({"status": "frozen"})),
    )
    .await;
    pay(
        &s,
        &x.invoice,
        json!({"amount": "0.5", "method": "wallet", "wallet_id": x.wallet}),
    )
    .await
    .assert_problem(409, "wallet_frozen");

    assert_eq!(balance(&s, &x.wallet).await, before);
    let inv = send(s.admin(Method::GET, &format!("/v1/invoices/{}", x.invoice))).await;
    assert_eq!(
        (
            inv.body["amount_paid"].as_str().unwrap(),
            inv.body["payment_status"].as_str().unwrap()
        ),
        ("0.00", "unpaid")
    );
    assert_eq!(
        send(s.admin(
            Method::GET,
            &format!("/v1/payments?invoice_id={}", x.invoice)
        ))
        .await
        .body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let key = s.other_tenant_key();
    send(
        s.request(
            Method::POST,
            &format!("/v1/invoices/{}/payments", x.invoice),
        )
        .header("x-api-key", key)
        .json(&json!({"amount": "1", "method": "external"})),
    )
    .await
    .assert_problem(404, "invoice_not_found");
}

async fn portal_lists_own_payments(s: TestServer) {
    let a = setup(&s, "alice", "10", "5000").await;
    let b = setup(&s, "bob", "10", "5000").await;
    pay(
        &s,
        &a.invoice,
        json!({"amount": "10", "method": "wallet", "wallet_id": a.wallet}),
    )
    .await;
    pay(
        &s,
        &b.invoice,
        json!({"amount": "10", "method": "external"}),
    )
    .await;
    let t = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": a.customer})),
    )
    .await;
    let t = t.body["token"].as_str().unwrap();
    let mine = send(s.portal(Method::GET, "/v1/portal/payments", t)).await;
    let data = mine.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["invoice_id"], a.invoice.as_str());
    assert_eq!(data[0]["method"], "wallet");
    let summary = send(s.portal(Method::GET, "/v1/portal/invoices/summary", t)).await;
    assert_eq!(summary.body["data"], json!([]), "nothing left to pay");
    let hidden =
        send(s.admin(Method::POST, "/v1/portal_sessions").json(
            &json!({"customer_id": a.customer, "sections": {"payments": {"enabled": false}}}),
        ))
        .await;
    send(s.portal(
        Method::GET,
        "/v1/portal/payments",
        hidden.body["token"].as_str().unwrap(),
    ))
    .await
    .assert_problem(403, "section_disabled");
}

/// A session for `customer` with `permissions` (and `mode`, when given).
async fn session(s: &TestServer, customer: &str, extra: Value) -> String {
    let mut body = json!({"customer_id": customer});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    token(&portal_session(s, body).await)
}

async fn portal_pay(
    s: &TestServer,
    t: &str,
    invoice: &str,
    key: Option<&str>,
    body: Value,
) -> Reply {
    let mut rb = s
        .portal(
            Method::POST,
            &format!("/v1/portal/invoices/{invoice}/pay"),
            t,
        )
        .json(&body);
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    send(rb).await
}

async fn the_portal_pays_an_invoice_from_the_wallet_once(s: TestServer) {
    let a = setup(&s, "alice", "30", "5000").await;
    let b = setup(&s, "bob", "30", "5000").await;
    let pay_ok = json!({"invoice_pay": {"enabled": true}});
    let wallet = json!({"source": "wallet"});

    let plain = session(&s, &a.customer, json!({})).await;
    portal_pay(&s, &plain, &a.invoice, None, wallet.clone())
        .await
        .assert_problem(403, "action_not_allowed");
    let preview = session(
        &s,
        &a.customer,
        json!({"mode": "admin_preview", "permissions": pay_ok}),
    )
    .await;
    portal_pay(&s, &preview, &a.invoice, None, wallet.clone())
        .await
        .assert_problem(403, "read_only_session");
    assert_eq!(balance(&s, &a.wallet).await, "5000");

    let t = session(&s, &a.customer, json!({"permissions": pay_ok})).await;
    let part = json!({"source": "wallet", "amount": "10.00"});
    let first = portal_pay(&s, &t, &a.invoice, Some("pay-1"), part.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["payment"]["amount"], "10.00");
    assert_eq!(first.body["payment"]["method"], "wallet");
    assert_eq!(first.body["payment"]["wallet_id"], a.wallet.as_str());
    assert_eq!(first.body["invoice"]["payment_status"], "partially_paid");
    assert_eq!(balance(&s, &a.wallet).await, "4000");
    // The retry replays the first answer and pays nothing more.
    let again = portal_pay(&s, &t, &a.invoice, Some("pay-1"), part.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(balance(&s, &a.wallet).await, "4000");
    // Without an amount: what is left, from the customer's wallet in the invoice's currency.
    let rest = portal_pay(&s, &t, &a.invoice, None, wallet.clone()).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(rest.body["payment"]["amount"], "20.00");
    assert_eq!(rest.body["invoice"]["payment_status"], "paid");
    assert_eq!(balance(&s, &a.wallet).await, "2000");
    portal_pay(&s, &t, &a.invoice, None, wallet.clone())
        .await
        .assert_problem(409, "invoice_not_payable");

    // Bob's invoice and Bob's wallet are not Alice's to use.
    portal_pay(&s, &t, &b.invoice, None, wallet.clone())
        .await
        .assert_problem(404, "invoice_not_found");
    let draft = send(s.admin(Method::POST, "/v1/invoices").json(&json!({"customer_id": a.customer, "currency": "USD", "lines": [{"description": "Draft", "quantity": "1", "unit_amount": "5"}]}))).await;
    let draft = draft.body["id"].as_str().unwrap().to_owned();
    portal_pay(&s, &t, &draft, None, wallet.clone())
        .await
        .assert_problem(404, "invoice_not_found");
    // Bob's idempotency keys are his own: the same key pays his invoice, not a replay of Alice's.
    let tb = session(&s, &b.customer, json!({"permissions": pay_ok})).await;
    let bob_pays = portal_pay(
        &s,
        &tb,
        &b.invoice,
        Some("pay-1"),
        json!({"source": "wallet", "wallet_id": b.wallet}),
    )
    .await;
    assert_eq!(bob_pays.status, 201, "{}", bob_pays.body);
    assert_eq!(bob_pays.header("Idempotent-Replayed"), None);
    assert_eq!(balance(&s, &b.wallet).await, "2000");
    assert_eq!(balance(&s, &a.wallet).await, "2000");

    let audit = send(s.admin(
        Method::GET,
        &format!(
            "/v1/audit_events?customer_id={}&action=invoice.paid",
            a.customer
        ),
    ))
    .await;
    assert_eq!(
        audit.body["data"].as_array().unwrap().len(),
        2,
        "{}",
        audit.body
    );
}

async fn refused_portal_payments_change_nothing(s: TestServer) {
    let a = setup(&s, "alice", "30", "1000").await;
    let b = setup(&s, "bob", "30", "5000").await;
    let eur = send(s.admin(Method::POST, "/v1/invoices").json(&json!({"customer_id": a.customer, "currency": "EUR", "lines": [{"description": "Plan", "quantity": "1", "unit_amount": "5"}]}))).await;
    let eur = eur.body["id"].as_str().unwrap().to_owned();
    send(s.admin(Method::POST, &format!("/v1/invoices/{eur}/finalize"))).await;
    let t = session(
        &s,
        &a.customer,
        json!({"permissions": {"invoice_pay": {"enabled": true}}}),
    )
    .await;
    let before = s.query_texts(&s.stored_state_query());
    let cases = [
        (
            a.invoice.as_str(),
            json!({"source": "wallet", "amount": "30.01"}),
            422,
            "overpayment",
        ),
        (
            a.invoice.as_str(),
            json!({"source": "wallet"}),
            422,
            "insufficient_credits",
        ),
        (
            a.invoice.as_str(),
            json!({"source": "card"}),
            422,
            "validation_failed",
        ),
        (
            a.invoice.as_str(),
            json!({"source": "wallet", "amount": "ten"}),
            422,
            "validation_failed",
        ),
        (
            a.invoice.as_str(),
            json!({"source": "wallet", "amount": "0"}),
            422,
            "validation_failed",
        ),
        (
            a.invoice.as_str(),
            json!({"source": "wallet", "wallet_id": b.wallet}),
            404,
            "wallet_not_found",
        ),
        (
            a.invoice.as_str(),
            json!({"source": "wallet", "wallet_id": "wal_nope"}),
            404,
            "wallet_not_found",
        ),
        (
            eur.as_str(),
            json!({"source": "wallet"}),
            422,
            "validation_failed",
        ),
        (
            "inv_nope",
            json!({"source": "wallet"}),
            404,
            "invoice_not_found",
        ),
    ];
    for (invoice, body, status, code) in cases {
        let r = portal_pay(&s, &t, invoice, None, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        r.assert_problem(status, code);
    }
    // Nothing was paid, debited or recorded.
    assert_eq!(s.query_texts(&s.stored_state_query()), before);
}

fn card(reference: &str, exp_year: i32) -> Value {
    json!({"type": "card", "provider": "stripe", "provider_reference": reference,
           "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": exp_year})
}

async fn payments_of(s: &TestServer, invoice: &str) -> Vec<Value> {
    let r = send(s.admin(Method::GET, &format!("/v1/payments?invoice_id={invoice}"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"].as_array().unwrap().clone()
}

async fn settle(s: &TestServer, payment: &str, how: &str, body: Value) -> Reply {
    send(
        s.admin(Method::POST, &format!("/v1/payments/{payment}/{how}"))
            .json(&body),
    )
    .await
}

/// Paying with a saved payment method from the portal: a pending payment with the merchant's
/// payment page for it, which counts toward nothing until the merchant confirms it (or fails
/// it); one pending payment per invoice; every refusal leaves nothing behind.
async fn a_saved_method_payment_is_pending_until_the_merchant_settles_it(s: TestServer) {
    let a = setup(&s, "alice", "30", "0").await;
    let b = setup(&s, "bob", "30", "0").await;
    let t = session(
        &s,
        &a.customer,
        json!({"permissions": {"invoice_pay": {"enabled": true}}}),
    )
    .await;
    let by_method = json!({"source": "payment_method"});

    // No payment page set up yet.
    portal_pay(&s, &t, &a.invoice, None, by_method.clone())
        .await
        .assert_problem(409, "online_payment_unavailable");
    for bad in [
        json!({"payment_url_template": "http://pay.example.com/{invoice_id}"}),
        json!({"payment_url_template": "https://pay.example.com/{invoice}"}),
        json!({"payment_url_template": "not a url"}),
    ] {
        send(s.admin(Method::PATCH, "/v1/account").json(&bad))
            .await
            .assert_problem(422, "validation_failed");
    }
    let template = "https://pay.example.com/i/{invoice_id}?p={payment_id}&amt={amount}&cur={currency}&pm={payment_method_id}";
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"payment_url_template": template})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["payment_url_template"], template);

    // Nothing to pay with yet, someone else's method, an expired one, misplaced fields.
    portal_pay(&s, &t, &a.invoice, None, by_method.clone())
        .await
        .assert_problem(422, "validation_failed");
    let bobs = created(
        &s,
        &format!("/v1/customers/{}/payment_methods", b.customer),
        card("pm_bob", 2099),
    )
    .await
    .body;
    let card_id = created(
        &s,
        &format!("/v1/customers/{}/payment_methods", a.customer),
        card("pm_alice", 2099),
    )
    .await
    .body;
    let expired = created(
        &s,
        &format!("/v1/customers/{}/payment_methods", a.customer),
        card("pm_old", 2020),
    )
    .await
    .body;
    assert_eq!(card_id["is_default"], true, "{card_id}");
    let card_id = card_id["id"].as_str().unwrap().to_owned();
    portal_pay(
        &s,
        &t,
        &a.invoice,
        None,
        json!({"source": "payment_method", "payment_method_id": bobs["id"]}),
    )
    .await
    .assert_problem(404, "payment_method_not_found");
    portal_pay(
        &s,
        &t,
        &a.invoice,
        None,
        json!({"source": "payment_method", "payment_method_id": expired["id"]}),
    )
    .await
    .assert_problem(409, "payment_method_unusable");
    for bad in [
        json!({"source": "payment_method", "amount": "1.00"}),
        json!({"source": "payment_method", "wallet_id": a.wallet}),
        json!({"source": "wallet", "payment_method_id": card_id}),
        json!({"source": "card"}),
    ] {
        portal_pay(&s, &t, &a.invoice, None, bad)
            .await
            .assert_problem(422, "validation_failed");
    }
    let preview = session(
        &s,
        &a.customer,
        json!({"mode": "admin_preview", "permissions": {"invoice_pay": {"enabled": true}}}),
    )
    .await;
    portal_pay(&s, &preview, &a.invoice, None, by_method.clone())
        .await
        .assert_problem(403, "read_only_session");
    // The merchant cannot record a pending or saved-method payment itself.
    pay(
        &s,
        &a.invoice,
        json!({"amount": "1.00", "method": "payment_method"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    pay(
        &s,
        &a.invoice,
        json!({"amount": "1.00", "method": "external", "status": "pending"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert!(payments_of(&s, &a.invoice).await.is_empty());

    // The request: pending, the page filled in, the invoice unchanged; asking again returns it.
    let first = portal_pay(&s, &t, &a.invoice, None, by_method.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let p = &first.body["payment"];
    let pid = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["status"], "pending");
    assert_eq!(p["method"], "payment_method");
    assert_eq!(p["amount"], "30.00");
    assert_eq!(p["payment_method_id"], card_id.as_str());
    assert_eq!(
        p["payment_url"],
        format!(
            "https://pay.example.com/i/{}?p={pid}&amt=30.00&cur=USD&pm={card_id}",
            a.invoice
        )
    );
    assert_eq!(first.body["invoice"]["payment_status"], "unpaid");
    assert_eq!(first.body["invoice"]["amount_due"], "30.00");
    let again = portal_pay(&s, &t, &a.invoice, None, by_method.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["payment"]["id"], pid.as_str());
    assert_eq!(payments_of(&s, &a.invoice).await.len(), 1);
    let listed = send(s.admin(Method::GET, "/v1/payments?status=pending")).await;
    assert_eq!(
        listed.body["data"][0]["id"],
        pid.as_str(),
        "{}",
        listed.body
    );
    send(
        s.admin(Method::POST, &format!("/v1/payments/{pid}/refunds"))
            .json(&json!({"amount": "1.00"})),
    )
    .await
    .assert_problem(409, "payment_not_refundable");

    // The provider declined: failed, history only; it cannot be settled twice.
    settle(&s, &pid, "fail", json!({"failure_reason": " "}))
        .await
        .assert_problem(422, "validation_failed");
    let failed = settle(&s, &pid, "fail", json!({"failure_reason": "card_declined"})).await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.body["payment"]["status"], "failed");
    assert_eq!(failed.body["payment"]["failure_reason"], "card_declined");
    assert_eq!(failed.body["invoice"]["amount_due"], "30.00");
    for how in ["fail", "confirm"] {
        settle(
            &s,
            &pid,
            how,
            json!({"failure_reason": "again"})
                .as_object()
                .filter(|_| how == "fail")
                .map(|o| Value::Object(o.clone()))
                .unwrap_or(json!({})),
        )
        .await
        .assert_problem(409, "payment_not_pending");
    }
    settle(&s, "pay_01jd3x6v9f5m2q8r7t4w0y1z3a", "confirm", json!({}))
        .await
        .assert_problem(404, "payment_not_found");

    // A new request, confirmed: it pays the invoice.
    let second = portal_pay(&s, &t, &a.invoice, None, by_method.clone()).await;
    assert_eq!(second.status, 201, "{}", second.body);
    let pid2 = second.body["payment"]["id"].as_str().unwrap().to_owned();
    assert_ne!(pid2, pid);
    let ok = settle(&s, &pid2, "confirm", json!({"reference": "ch_3QxZ2b"})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["payment"]["status"], "succeeded");
    assert_eq!(ok.body["payment"]["reference"], "ch_3QxZ2b");
    assert_eq!(ok.body["invoice"]["payment_status"], "paid");
    assert_eq!(ok.body["invoice"]["amount_due"], "0.00");
    portal_pay(&s, &t, &a.invoice, None, by_method.clone())
        .await
        .assert_problem(409, "invoice_not_payable");

    // Bob's invoice is paid another way while his request is pending: confirming would
    // overpay, so it is refused and the payment stays pending for the merchant to fail.
    let tb = session(
        &s,
        &b.customer,
        json!({"permissions": {"invoice_pay": {"enabled": true}}}),
    )
    .await;
    portal_pay(&s, &tb, &a.invoice, None, by_method.clone())
        .await
        .assert_problem(404, "invoice_not_found");
    let bp = portal_pay(&s, &tb, &b.invoice, None, by_method.clone()).await;
    assert_eq!(bp.status, 201, "{}", bp.body);
    let bpid = bp.body["payment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        pay(
            &s,
            &b.invoice,
            json!({"amount": "30.00", "method": "external"})
        )
        .await
        .status,
        201
    );
    settle(&s, &bpid, "confirm", json!({}))
        .await
        .assert_problem(422, "overpayment");
    let still = send(s.admin(Method::GET, &format!("/v1/payments/{bpid}"))).await;
    assert_eq!(still.body["status"], "pending");
    let inv = send(s.admin(Method::GET, &format!("/v1/invoices/{}", b.invoice))).await;
    assert_eq!(inv.body["amount_paid"], "30.00", "{}", inv.body);

    // Voiding an invoice fails its pending payment in the same transaction.
    let c = setup(&s, "carol", "12", "0").await;
    created(
        &s,
        &format!("/v1/customers/{}/payment_methods", c.customer),
        card("pm_carol", 2099),
    )
    .await;
    let tc = session(
        &s,
        &c.customer,
        json!({"permissions": {"invoice_pay": {"enabled": true}}}),
    )
    .await;
    let cp = portal_pay(&s, &tc, &c.invoice, None, by_method.clone()).await;
    assert_eq!(cp.status, 201, "{}", cp.body);
    let cpid = cp.body["payment"]["id"].as_str().unwrap().to_owned();
    let voided = send(s.admin(Method::POST, &format!("/v1/invoices/{}/void", c.invoice))).await;
    assert_eq!(voided.status, 200, "{}", voided.body);
    let gone = send(s.admin(Method::GET, &format!("/v1/payments/{cpid}"))).await;
    assert_eq!(gone.body["status"], "failed", "{}", gone.body);
    assert_eq!(gone.body["failure_reason"], "invoice_voided");
    portal_pay(&s, &tc, &c.invoice, None, by_method.clone())
        .await
        .assert_problem(409, "invoice_not_payable");
    // 32 racing requests for one invoice (three times over, as the race is a matter of
    // timing): every one gets the same, single pending payment.
    for _ in 0..3 {
        let raced = send(s.admin(Method::POST, "/v1/invoices").json(&json!({
                "customer_id": a.customer, "currency": "USD",
                "lines": [{"description": "Seats", "quantity": "1", "unit_amount": "12.00"}]})))
        .await;
        let raced = raced.body["id"].as_str().unwrap().to_owned();
        let r = send(s.admin(Method::POST, &format!("/v1/invoices/{raced}/finalize"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let replies =
            join_all((0..32).map(|_| portal_pay(&s, &t, &raced, None, by_method.clone()))).await;
        let ids: std::collections::BTreeSet<String> = replies
            .iter()
            .map(|r| {
                assert_eq!(r.status, 201, "{}", r.body);
                r.body["payment"]["id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(payments_of(&s, &raced).await.len(), 1);
    }
}

/// Auto-pay: a new invoice of a customer who has it on is collected when it is issued — by the
/// merchant's finalize or by billing — from the wallet first, then the rest as a pending payment
/// through the default method. The customer sees and switches it in the portal (when allowed)
/// and cannot remove the default method auto-pay charges; the merchant can.
async fn auto_pay_collects_new_invoices_from_the_wallet_then_the_default_method(s: TestServer) {
    let s = &s;
    let template = "https://pay.example.com/{payment_id}";
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"payment_url_template": template})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let customer = |name: &str, auto: bool| {
        let body = json!({"name": name, "auto_pay": auto});
        async move { created(s, "/v1/customers", body).await.body }
    };
    let dora = customer("Dora", true).await;
    assert_eq!(dora["auto_pay"], true);
    let dora = dora["id"].as_str().unwrap().to_owned();
    let plain = customer("Paul", false).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for c in [&dora, &plain] {
        let w = created(
            s,
            "/v1/wallets",
            json!({"customer_id": c, "currency": "USD", "conversion_rate": "0.01"}),
        )
        .await
        .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        send(
            s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
                .json(&json!({"credits": "1000"})),
        )
        .await;
        created(
            s,
            &format!("/v1/customers/{c}/payment_methods"),
            card(&format!("pm_{c}"), 2099),
        )
        .await;
    }
    let issue = |c: String| async move {
        let inv = created(
            s,
            "/v1/invoices",
            json!({"customer_id": c, "currency": "USD", "lines": [{"description": "Work", "quantity": "1", "unit_amount": "30"}]}),
        )
        .await;
        let id = inv.body["id"].as_str().unwrap().to_owned();
        let fin = send(s.admin(Method::POST, &format!("/v1/invoices/{id}/finalize"))).await;
        assert_eq!(fin.status, 200, "{}", fin.body);
        fin.body
    };
    // Dora: 10.00 from the wallet at once, 20.00 pending through her card.
    let inv = issue(dora.clone()).await;
    assert_eq!(inv["amount_paid"], "10.00", "{inv}");
    assert_eq!(inv["payment_status"], "partially_paid");
    let mut paid = payments_of(s, inv["id"].as_str().unwrap()).await;
    paid.sort_by_key(|p| p["method"].as_str().unwrap().to_owned());
    assert_eq!(paid.len(), 2, "{paid:?}");
    assert_eq!(
        (
            paid[0]["method"].as_str(),
            paid[0]["status"].as_str(),
            paid[0]["amount"].as_str()
        ),
        (Some("payment_method"), Some("pending"), Some("20.00"))
    );
    assert_eq!(
        paid[0]["payment_url"],
        format!(
            "https://pay.example.com/{}",
            paid[0]["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        (
            paid[1]["method"].as_str(),
            paid[1]["status"].as_str(),
            paid[1]["amount"].as_str()
        ),
        (Some("wallet"), Some("succeeded"), Some("10.00"))
    );
    // Paul (auto-pay off): nothing happens by itself.
    let inv = issue(plain.clone()).await;
    assert_eq!(inv["amount_paid"], "0.00");
    assert!(payments_of(s, inv["id"].as_str().unwrap()).await.is_empty());

    // Billing too: Dora's subscription's first invoice (5.00) — her wallet is empty now, so
    // all of it goes to her card.
    created(
        s,
        "/v1/plans",
        json!({"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "amount": "5.00"}),
    )
    .await;
    let sub = created(
        s,
        "/v1/subscriptions",
        json!({"customer_id": dora, "plan": "basic"}),
    )
    .await
    .body;
    let list = send(s.admin(
        Method::GET,
        &format!("/v1/invoices?customer_id={dora}&limit=100"),
    ))
    .await;
    let first = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["subscription_id"] == sub["id"])
        .cloned()
        .expect("the subscription's first invoice");
    let pending = payments_of(s, first["id"].as_str().unwrap()).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(pending[0]["amount"], "5.00");

    // The portal: seen; switched only with the field allowed; the default card stays while
    // auto-pay is on.
    let t = session(
        s,
        &dora,
        json!({"permissions": {"payment_method_manage": {"enabled": true}}}),
    )
    .await;
    let me = send(s.portal(Method::GET, "/v1/portal/customer", &t)).await;
    assert_eq!(me.body["auto_pay"], true, "{}", me.body);
    send(
        s.portal(Method::PATCH, "/v1/portal/customer", &t)
            .json(&json!({"auto_pay": false})),
    )
    .await
    .assert_problem(403, "field_not_allowed");
    let methods = send(s.portal(Method::GET, "/v1/portal/payment_methods", &t)).await;
    let card_id = methods.body["data"][0]["id"].as_str().unwrap().to_owned();
    send(s.portal(
        Method::DELETE,
        &format!("/v1/portal/payment_methods/{card_id}"),
        &t,
    ))
    .await
    .assert_problem(409, "payment_method_in_use");
    let t2 = session(s, &dora, json!({"permissions": {"profile_update": {"allowed_fields": ["auto_pay"]}, "payment_method_manage": {"enabled": true}}})).await;
    let off = send(
        s.portal(Method::PATCH, "/v1/portal/customer", &t2)
            .json(&json!({"auto_pay": false})),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["auto_pay"], false);
    let gone = send(s.portal(
        Method::DELETE,
        &format!("/v1/portal/payment_methods/{card_id}"),
        &t2,
    ))
    .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    let inv = issue(dora.clone()).await;
    assert_eq!(inv["amount_paid"], "0.00", "auto-pay is off now: {inv}");
}
