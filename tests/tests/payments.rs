//! Payments and refunds over HTTP, including wallet payments that debit credits in the same
//! transaction, on both backends.

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    wallet_and_external_payments_with_refunds,
    concurrent_wallet_payments_never_overpay,
    refused_payments_change_nothing,
    portal_lists_own_payments,
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
