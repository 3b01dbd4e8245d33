//! Corrections of issued invoices over HTTP. Credit notes: lines and amounts credited with their
//! tax reversed in proportion, the three places a credit goes (the amount due, the wallet, the
//! payment), gapless numbers, voiding, bad input that stores nothing, 32 racing requests that
//! never credit more than the total, and the customer's view in the portal. Revisions: the
//! billing details an invoice keeps when issued, corrected once by the merchant or the customer.

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::fixtures::{created, customer, id, portal_session, token, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    lines_are_credited_with_their_tax,
    an_amount_credits_each_rate_in_proportion_to_the_wallet,
    a_credit_refunds_the_payment,
    void_makes_the_credit_due_again,
    bad_credit_notes_store_nothing,
    racing_credit_notes_never_exceed_the_total,
    the_customer_sees_its_own_credit_notes,
    invoices_keep_their_billing_details_and_are_revised_once,
    the_customer_revises_its_own_invoice_where_allowed,
);

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

async fn credit(s: &TestServer, invoice: &str, body: Value) -> Reply {
    post(s, &format!("/v1/invoices/{invoice}/credit_notes"), body).await
}

/// A finalized EUR invoice of `lines` for `customer`.
async fn issued(s: &TestServer, customer: &str, lines: Value) -> Value {
    let draft = created(
        s,
        "/v1/invoices",
        json!({"customer_id": customer, "currency": "EUR", "lines": lines}),
    )
    .await;
    let r = post(
        s,
        &format!("/v1/invoices/{}/finalize", id(&draft)),
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// An invoice of 100.00 at 19% VAT (119.00) for a new customer: (customer, invoice).
async fn taxed_hundred(s: &TestServer, name: &str) -> (String, Value) {
    let vat = id(&created(
        s,
        "/v1/tax_rates",
        json!({"name": "VAT", "percentage": "19", "inclusive": false}),
    )
    .await);
    let cus = customer(s, json!({"name": name})).await;
    let inv = issued(
        s,
        &cus,
        json!([{"description": "Plan", "quantity": "1", "unit_amount": "100", "tax_rate_ids": [vat]}]),
    )
    .await;
    assert_eq!(inv["total"], "119.00");
    (cus, inv)
}

fn line_id(invoice: &Value, i: usize) -> String {
    invoice["lines"][i]["id"].as_str().unwrap().to_owned()
}

async fn pdf(s: &TestServer, path: &str) -> String {
    let r = s.admin(Method::GET, path).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    tests::fixtures::pdf_text(&r.bytes().await.unwrap()).1
}

async fn lines_are_credited_with_their_tax(s: TestServer) {
    let vat = id(&created(
        &s,
        "/v1/tax_rates",
        json!({"name": "VAT", "percentage": "19", "inclusive": false}),
    )
    .await);
    let included = id(&created(
        &s,
        "/v1/tax_rates",
        json!({"name": "Included", "percentage": "7", "inclusive": true}),
    )
    .await);
    let cus = customer(&s, json!({"name": "Credited"})).await;
    let inv = issued(
        &s,
        &cus,
        json!([
            {"description": "A", "quantity": "3", "unit_amount": "3.35", "tax_rate_ids": [vat]},
            {"description": "B", "quantity": "1", "unit_amount": "10", "tax_rate_ids": [vat, included]},
        ]),
    )
    .await;
    // A: 10.05 + 1.91; B: 10 with 0.65 included, + 1.78 on the 9.35 net.
    assert_eq!(inv["total"], "23.74");
    let invoice = inv["id"].as_str().unwrap();
    let (a, b) = (line_id(&inv, 0), line_id(&inv, 1));
    assert!(a.starts_with("il_") && a != b, "{inv}");

    // Half of A: 1.91 × 5 / 10.05 = 0.950… → 0.95 reversed.
    let first = credit(
        &s,
        invoice,
        json!({"lines": [{"invoice_line_id": a, "amount": "5.00"}], "reason": "order_change",
               "memo": "Two seats fewer — Ελληνικά, Русский, 中文, 한국어"}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let n = &first.body;
    assert!(n["number"].as_str().unwrap().ends_with("-00001"), "{n}");
    assert!(n["number"].as_str().unwrap().starts_with("CN-"), "{n}");
    assert_eq!(n["status"], "issued");
    assert_eq!(n["refund_to"], "none");
    assert_eq!(n["lines"][0]["invoice_line_id"], a.as_str());
    assert_eq!(n["lines"][0]["tax_amounts"][0]["amount"], "0.95");
    assert_eq!(n["subtotal"], "5.00");
    assert_eq!(n["total_tax"], "0.95");
    assert_eq!(n["total"], "5.95");
    // The rest of A reverses exactly the rest of its tax (1.91 − 0.95), and B all of its own.
    let second = credit(
        &s,
        invoice,
        json!({"lines": [{"invoice_line_id": a, "amount": "5.05"}, {"invoice_line_id": b, "amount": "10"}],
               "reason": "duplicate"}),
    )
    .await;
    assert_eq!(second.status, 201, "{}", second.body);
    let n2 = &second.body;
    assert!(n2["number"].as_str().unwrap().ends_with("-00002"), "{n2}");
    assert_eq!(n2["lines"][0]["tax_amounts"][0]["amount"], "0.96");
    assert_eq!(n2["lines"][1]["tax_amounts"][0]["amount"], "1.78");
    assert_eq!(n2["lines"][1]["tax_amounts"][1]["amount"], "0.65");
    assert_eq!(n2["total"], "17.79", "5.05 + 0.96 + 10 + 1.78");
    let per_rate = n2["tax_amounts"].as_array().unwrap();
    assert_eq!(per_rate[0]["amount"], "2.74", "0.96 + 1.78");
    assert_eq!(per_rate[1]["amount"], "0.65");

    // Fully credited: nothing is due, and not a cent more can be credited.
    let after = get(&s, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(after["amount_credited"], "23.74");
    assert_eq!(after["amount_due"], "0.00");
    assert_eq!(after["payment_status"], "paid");
    assert_eq!(after["total"], "23.74", "the invoice itself never changes");
    let listed: Vec<&str> = after["credit_notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [n["id"].as_str().unwrap(), n2["id"].as_str().unwrap()]
    );
    let more = credit(
        &s,
        invoice,
        json!({"lines": [{"invoice_line_id": a, "amount": "0.01"}], "reason": "other"}),
    )
    .await;
    more.assert_problem(422, "validation_failed");
    assert_eq!(more.fields(), ["lines[0].amount"], "{}", more.body);

    // Get, list by invoice, the PDFs, and the webhook.
    let cn = n["id"].as_str().unwrap();
    assert_eq!(get(&s, &format!("/v1/credit_notes/{cn}")).await, *n);
    let by_invoice = get(&s, &format!("/v1/credit_notes?invoice_id={invoice}")).await;
    assert_eq!(by_invoice["data"].as_array().unwrap().len(), 2);
    let text = pdf(&s, &format!("/v1/credit_notes/{cn}/pdf")).await;
    for expected in [
        "CREDIT NOTE",
        n["number"].as_str().unwrap(),
        inv["number"].as_str().unwrap(),
        "VAT 19%",
        "0.95 EUR",
        "5.95 EUR",
        "Two seats fewer — Ελληνικά, Русский, 中文, 한국어",
        "order change",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    let text = pdf(&s, &format!("/v1/invoices/{invoice}/pdf")).await;
    for expected in ["Credited", "23.74 EUR", n["number"].as_str().unwrap()] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    let events = get(&s, "/v1/webhook_events?type=credit_note.created").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 2, "{events}");
}

async fn an_amount_credits_each_rate_in_proportion_to_the_wallet(s: TestServer) {
    let (cus, inv) = taxed_hundred(&s, "Wallet").await;
    let invoice = inv["id"].as_str().unwrap();
    let w = wallet(&s, &cus, "EUR", "0.01").await;
    let paid = post(
        &s,
        &format!("/v1/invoices/{invoice}/payments"),
        json!({"amount": "119", "method": "external", "reference": "bank"}),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let payment = paid.body["payment"]["id"].as_str().unwrap().to_owned();

    let r = credit(
        &s,
        invoice,
        json!({"amount": "59.50", "reason": "product_unsatisfactory", "refund_to": "wallet"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // 19 × 59.50 / 119 = 9.50 of tax; the rest is the line.
    assert_eq!(r.body["total"], "59.50");
    assert_eq!(r.body["total_tax"], "9.50");
    assert_eq!(r.body["subtotal"], "50.00");
    assert_eq!(r.body["lines"][0]["invoice_line_id"], Value::Null);
    assert_eq!(r.body["wallet_id"], w.as_str());
    assert_eq!(r.body["credits"], "5950", "59.50 EUR at 0.01 per credit");
    let wal = get(&s, &format!("/v1/wallets/{w}")).await;
    assert_eq!(wal["balance"], "5950");
    let txs = get(&s, &format!("/v1/wallets/{w}/transactions")).await;
    assert_eq!(txs["data"][0]["reason"], "credit_note", "{txs}");

    let after = get(&s, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(after["amount_paid"], "59.50", "returned to the wallet");
    assert_eq!(after["amount_credited"], "59.50");
    assert_eq!(after["amount_due"], "0.00");
    assert_eq!(after["payment_status"], "paid");

    // The payment cannot also be refunded for what the wallet got back.
    let rf = post(
        &s,
        &format!("/v1/payments/{payment}/refunds"),
        json!({"amount": "119"}),
    )
    .await;
    rf.assert_problem(422, "refund_exceeds_payment");
    // A credit that refunded something is never voided.
    let cn = id(&r);
    post(&s, &format!("/v1/credit_notes/{cn}/void"), json!({}))
        .await
        .assert_problem(409, "credit_note_not_voidable");
    // Nor is the invoice while it has credit notes.
    post(&s, &format!("/v1/invoices/{invoice}/void"), json!({}))
        .await
        .assert_problem(409, "invoice_has_payments");
}

async fn a_credit_refunds_the_payment(s: TestServer) {
    let (cus, inv) = taxed_hundred(&s, "Refunded").await;
    let invoice = inv["id"].as_str().unwrap();
    let w = wallet(&s, &cus, "EUR", "0.01").await;
    let top_up = post(
        &s,
        &format!("/v1/wallets/{w}/top_up"),
        json!({"credits": "20000"}),
    )
    .await;
    assert!(top_up.status.is_success(), "{}", top_up.body);
    // Two payments: 100 from the wallet, then 19 by bank transfer.
    for body in [
        json!({"amount": "100", "method": "wallet", "wallet_id": w}),
        json!({"amount": "19", "method": "external"}),
    ] {
        let r = post(&s, &format!("/v1/invoices/{invoice}/payments"), body).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(
        get(&s, &format!("/v1/wallets/{w}")).await["balance"],
        "10000"
    );

    // 30 refunded: 19 from the newest payment, then 11 from the wallet payment (1100 credits).
    let r = credit(
        &s,
        invoice,
        json!({"amount": "30", "reason": "other", "refund_to": "payment"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["refund_ids"].as_array().unwrap().len(),
        2,
        "{}",
        r.body
    );
    let payments = get(&s, &format!("/v1/payments?invoice_id={invoice}")).await;
    let refunded: Vec<&str> = payments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount_refunded"].as_str().unwrap())
        .collect();
    assert_eq!(refunded, ["19.00", "11.00"], "newest first: {payments}");
    assert_eq!(
        get(&s, &format!("/v1/wallets/{w}")).await["balance"],
        "11100"
    );
    let after = get(&s, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(after["amount_paid"], "89.00");
    assert_eq!(after["amount_credited"], "30.00");
    assert_eq!(after["amount_due"], "0.00");

    // The rest, then nothing more.
    let rest = credit(
        &s,
        invoice,
        json!({"amount": "89", "reason": "other", "refund_to": "payment"}),
    )
    .await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    let after = get(&s, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(after["amount_paid"], "0.00");
    assert_eq!(after["payment_status"], "refunded");
    assert_eq!(after["total_tax"], "19.00");
    let notes = get(&s, &format!("/v1/credit_notes?invoice_id={invoice}")).await;
    let reversed: f64 = notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["total_tax"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(
        (reversed - 19.0).abs() < 1e-9,
        "all the tax reversed: {notes}"
    );
    let more = credit(&s, invoice, json!({"amount": "0.01", "reason": "other"})).await;
    more.assert_problem(422, "validation_failed");
    assert_eq!(more.fields(), ["amount"], "{}", more.body);
}

async fn void_makes_the_credit_due_again(s: TestServer) {
    let (_, inv) = taxed_hundred(&s, "Voided").await;
    let invoice = inv["id"].as_str().unwrap();
    let r = credit(&s, invoice, json!({"amount": "19", "reason": "other"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        get(&s, &format!("/v1/invoices/{invoice}")).await["amount_due"],
        "100.00"
    );
    post(&s, &format!("/v1/invoices/{invoice}/void"), json!({}))
        .await
        .assert_problem(409, "invoice_has_credit_notes");
    let cn = id(&r);
    let v = post(&s, &format!("/v1/credit_notes/{cn}/void"), json!({})).await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.body["status"], "voided");
    assert!(v.body["voided_at"].is_string());
    let after = get(&s, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(after["amount_due"], "119.00");
    assert_eq!(after["amount_credited"], "0.00");
    assert_eq!(after["credit_notes"][0]["status"], "voided");
    post(&s, &format!("/v1/credit_notes/{cn}/void"), json!({}))
        .await
        .assert_problem(409, "credit_note_not_voidable");
    // A voided note leaves its whole amount creditable again, and the next number follows on.
    let again = credit(&s, invoice, json!({"amount": "119", "reason": "other"})).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert!(again.body["number"].as_str().unwrap().ends_with("-00002"));
    let text = pdf(&s, &format!("/v1/credit_notes/{cn}/pdf")).await;
    assert!(text.contains("CREDIT NOTE (VOID)"), "{text}");
    let events = get(&s, "/v1/webhook_events?type=credit_note.voided").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
}

async fn bad_credit_notes_store_nothing(s: TestServer) {
    let (cus, inv) = taxed_hundred(&s, "Careful").await;
    let invoice = inv["id"].as_str().unwrap();
    let line = line_id(&inv, 0);
    let other = issued(
        &s,
        &cus,
        json!([{"description": "Other", "quantity": "1", "unit_amount": "5"}]),
    )
    .await;
    let draft = created(
        &s,
        "/v1/invoices",
        json!({"customer_id": cus, "currency": "EUR",
               "lines": [{"description": "D", "quantity": "1", "unit_amount": "5"}]}),
    )
    .await;
    let before = get(&s, &format!("/v1/invoices/{invoice}")).await;

    for (body, field) in [
        (
            json!({"lines": [{"invoice_line_id": line_id(&other, 0), "amount": "1"}], "reason": "other"}),
            "lines[0].invoice_line_id",
        ),
        (
            json!({"lines": [{"invoice_line_id": "il_nope", "amount": "1"}], "reason": "other"}),
            "lines[0].invoice_line_id",
        ),
        (
            json!({"lines": [{"invoice_line_id": line, "amount": "100.01"}], "reason": "other"}),
            "lines[0].amount",
        ),
        (
            json!({"lines": [{"invoice_line_id": line, "amount": "1.005"}], "reason": "other"}),
            "lines[0].amount",
        ),
        (
            json!({"lines": [{"invoice_line_id": line, "amount": "0"}], "reason": "other"}),
            "lines[0].amount",
        ),
        (json!({"lines": [], "reason": "other"}), "lines"),
        (json!({"amount": "119.01", "reason": "other"}), "amount"),
        (json!({"amount": "-1", "reason": "other"}), "amount"),
        (json!({"amount": "abc", "reason": "other"}), "amount"),
        (
            json!({"amount": "1", "lines": [{"invoice_line_id": line, "amount": "1"}], "reason": "other"}),
            "amount",
        ),
        (json!({"reason": "other"}), "lines"),
        (json!({"amount": "1", "reason": "whim"}), "reason"),
        (
            json!({"amount": "1", "reason": "other", "refund_to": "cash"}),
            "refund_to",
        ),
        // Nothing was paid: there is nothing to return to a wallet or a payment.
        (
            json!({"amount": "1", "reason": "other", "refund_to": "payment"}),
            "refund_to",
        ),
        (
            json!({"amount": "1", "reason": "other", "refund_to": "wallet"}),
            "refund_to",
        ),
        (
            json!({"amount": "1", "reason": "other", "memo": "x".repeat(501)}),
            "memo",
        ),
    ] {
        let r = credit(&s, invoice, body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{body}: {}", r.body);
    }
    // Paid in full: nothing is left to lower with refund_to none; no wallet to credit.
    let paid = post(
        &s,
        &format!("/v1/invoices/{}/payments", other["id"].as_str().unwrap()),
        json!({"amount": "5", "method": "external"}),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    for refund_to in ["none", "wallet"] {
        let r = credit(
            &s,
            other["id"].as_str().unwrap(),
            json!({"amount": "1", "reason": "other", "refund_to": refund_to}),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), ["refund_to"], "{refund_to}: {}", r.body);
    }

    // A draft, a voided invoice, another account's and a malformed id.
    let body = json!({"amount": "1", "reason": "other"});
    credit(&s, &id(&draft), body.clone())
        .await
        .assert_problem(409, "invoice_not_finalized");
    let gone = issued(
        &s,
        &cus,
        json!([{"description": "Gone", "quantity": "1", "unit_amount": "5"}]),
    )
    .await;
    let gone = gone["id"].as_str().unwrap();
    assert_eq!(
        post(&s, &format!("/v1/invoices/{gone}/void"), json!({}))
            .await
            .status,
        200
    );
    credit(&s, gone, body.clone())
        .await
        .assert_problem(409, "invoice_not_finalized");
    send(
        s.request(
            Method::POST,
            &format!("/v1/invoices/{invoice}/credit_notes"),
        )
        .header("x-api-key", s.other_tenant_key())
        .json(&body),
    )
    .await
    .assert_problem(404, "invoice_not_found");
    credit(&s, "inv_nope", body)
        .await
        .assert_problem(404, "invoice_not_found");
    send(s.admin(Method::GET, "/v1/credit_notes/cn_nope"))
        .await
        .assert_problem(404, "credit_note_not_found");

    let all = get(&s, "/v1/credit_notes").await;
    assert_eq!(all["data"], json!([]), "nothing stored");
    assert_eq!(get(&s, &format!("/v1/invoices/{invoice}")).await, before);
}

async fn racing_credit_notes_never_exceed_the_total(s: TestServer) {
    let cus = customer(&s, json!({"name": "Raced"})).await;
    let inv = issued(
        &s,
        &cus,
        json!([{"description": "Fee", "quantity": "1", "unit_amount": "100"}]),
    )
    .await;
    let invoice = inv["id"].as_str().unwrap();
    let replies = join_all(
        (0..32).map(|_| credit(&s, invoice, json!({"amount": "10", "reason": "duplicate"}))),
    )
    .await;
    let won = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(won, 10, "exactly the total is credited");
    for r in replies.iter().filter(|r| r.status != 201) {
        r.assert_problem(422, "validation_failed");
    }
    let mut numbers: Vec<String> = replies
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.body["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    let period = &numbers[0][..9];
    let expected: Vec<String> = (1..=10).map(|n| format!("{period}-{n:05}")).collect();
    assert_eq!(numbers, expected, "gapless");
    let after = get(&s, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(after["amount_credited"], "100.00");
    assert_eq!(after["amount_due"], "0.00");

    // Credit notes refunding the payment race refunds of it (they lock the payment, then the
    // invoice, in the same order): no deadlock, no error, never more returned than was paid.
    let paid = issued(
        &s,
        &cus,
        json!([{"description": "Fee", "quantity": "1", "unit_amount": "100"}]),
    )
    .await;
    let paid = paid["id"].as_str().unwrap();
    let r = post(
        &s,
        &format!("/v1/invoices/{paid}/payments"),
        json!({"amount": "100", "method": "external"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let payment = r.body["payment"]["id"].as_str().unwrap().to_owned();
    let replies = join_all((0..32).map(|i| {
        let (s, payment) = (&s, payment.clone());
        async move {
            match i % 2 {
                0 => {
                    credit(
                        s,
                        paid,
                        json!({"amount": "10", "reason": "other", "refund_to": "payment"}),
                    )
                    .await
                }
                _ => {
                    post(
                        s,
                        &format!("/v1/payments/{payment}/refunds"),
                        json!({"amount": "10"}),
                    )
                    .await
                }
            }
        }
    }))
    .await;
    let won = replies.iter().filter(|r| r.status.is_success()).count();
    assert_eq!(won, 10, "exactly what was paid is returned");
    for r in replies.iter().filter(|r| !r.status.is_success()) {
        assert_eq!(r.status, 422, "{}", r.body);
    }
    let after = get(&s, &format!("/v1/invoices/{paid}")).await;
    assert_eq!(after["amount_paid"], "0.00");
    let p = get(&s, &format!("/v1/payments/{payment}")).await;
    assert_eq!(p["amount_refunded"], "100.00");
}

async fn the_customer_sees_its_own_credit_notes(s: TestServer) {
    let (cus, inv) = taxed_hundred(&s, "Mine").await;
    let invoice = inv["id"].as_str().unwrap();
    let mine = id(&credit(&s, invoice, json!({"amount": "11.90", "reason": "other"})).await);
    let (_, theirs_inv) = taxed_hundred(&s, "Theirs").await;
    let theirs = id(&credit(
        &s,
        theirs_inv["id"].as_str().unwrap(),
        json!({"amount": "11.90", "reason": "other"}),
    )
    .await);
    let t = token(&portal_session(&s, json!({"customer_id": cus})).await);

    let list = send(s.portal(Method::GET, "/v1/portal/credit_notes", &t)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let ids: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    let one = send(s.portal(Method::GET, &format!("/v1/portal/credit_notes/{mine}"), &t)).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["total"], "11.90");
    assert_eq!(one.body["total_tax"], "1.90");
    send(s.portal(
        Method::GET,
        &format!("/v1/portal/credit_notes/{theirs}"),
        &t,
    ))
    .await
    .assert_problem(404, "credit_note_not_found");
    send(s.portal(
        Method::GET,
        &format!("/v1/portal/credit_notes/{theirs}/pdf"),
        &t,
    ))
    .await
    .assert_problem(404, "credit_note_not_found");
    let file = s
        .portal(
            Method::GET,
            &format!("/v1/portal/credit_notes/{mine}/pdf"),
            &t,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    let detail = send(s.portal(Method::GET, &format!("/v1/portal/invoices/{invoice}"), &t)).await;
    assert_eq!(detail.body["credit_notes"][0]["id"], mine.as_str());
    assert_eq!(detail.body["amount_due"], "107.10");
    // Without the invoices section, no credit notes either.
    let narrow = token(
        &portal_session(
            &s,
            json!({"customer_id": cus, "sections": {"invoices": {"enabled": false}}}),
        )
        .await,
    );
    send(s.portal(Method::GET, "/v1/portal/credit_notes", &narrow))
        .await
        .assert_problem(403, "section_disabled");
}

async fn invoices_keep_their_billing_details_and_are_revised_once(s: TestServer) {
    let cus = customer(
        &s,
        json!({"name": "Old", "email": "old@example.test",
               "billing": {"legal_name": "Old GmbH", "address": {"city": "Berlin", "country": "DE"}}}),
    )
    .await;
    let inv = issued(
        &s,
        &cus,
        json!([{"description": "Fee", "quantity": "1", "unit_amount": "10"}]),
    )
    .await;
    let invoice = inv["id"].as_str().unwrap();
    assert_eq!(inv["billing"]["legal_name"], "Old GmbH", "{inv}");
    assert_eq!(
        inv["billing"]["email"], "old@example.test",
        "the contact's, where billing says none"
    );
    assert_eq!(inv["revised_at"], Value::Null);

    // The customer's details change later; the issued invoice keeps what it was issued with.
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{cus}"))
            .json(&json!({"billing": {"legal_name": "Renamed AG"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(&s, &format!("/v1/invoices/{invoice}")).await["billing"]["legal_name"],
        "Old GmbH"
    );
    let text = pdf(&s, &format!("/v1/invoices/{invoice}/pdf")).await;
    assert!(
        text.contains("Old GmbH") && !text.contains("Renamed AG"),
        "{text}"
    );

    // Bad input is named and changes nothing.
    let bad = post(
        &s,
        &format!("/v1/invoices/{invoice}/revise"),
        json!({"billing": {"tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]}}),
    )
    .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.fields(), ["billing.tax_ids[0].value"], "{}", bad.body);
    assert_eq!(
        get(&s, &format!("/v1/invoices/{invoice}")).await["revised_at"],
        Value::Null
    );

    let r = post(
        &s,
        &format!("/v1/invoices/{invoice}/revise"),
        json!({"billing": {"legal_name": "New GmbH", "tax_ids": [{"type": "eu_vat", "value": "DE 136 695 976"}],
                           "address": {"line1": "Invalidenstr. 117", "city": "Berlin", "country": "de"}}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["billing"]["legal_name"], "New GmbH");
    assert_eq!(r.body["billing"]["tax_ids"][0]["value"], "DE136695976");
    assert_eq!(r.body["billing"]["address"]["country"], "DE");
    assert!(r.body["revised_at"].is_string());
    for field in [
        "number",
        "lines",
        "subtotal",
        "total",
        "amount_due",
        "issued_at",
    ] {
        assert_eq!(r.body[field], inv[field], "{field} never changes");
    }
    let text = pdf(&s, &format!("/v1/invoices/{invoice}/pdf")).await;
    for expected in ["New GmbH", "Invalidenstr. 117", "DE136695976", "Revised"] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    // Once.
    post(
        &s,
        &format!("/v1/invoices/{invoice}/revise"),
        json!({"billing": {"legal_name": "Again"}}),
    )
    .await
    .assert_problem(409, "invoice_already_revised");
    // A draft is edited, not revised; another account's invoice is not found.
    let draft = created(
        &s,
        "/v1/invoices",
        json!({"customer_id": cus, "currency": "EUR",
               "lines": [{"description": "D", "quantity": "1", "unit_amount": "5"}]}),
    )
    .await;
    post(
        &s,
        &format!("/v1/invoices/{}/revise", id(&draft)),
        json!({"billing": {}}),
    )
    .await
    .assert_problem(409, "invoice_not_finalized");
    send(
        s.request(Method::POST, &format!("/v1/invoices/{invoice}/revise"))
            .header("x-api-key", s.other_tenant_key())
            .json(&json!({"billing": {}})),
    )
    .await
    .assert_problem(404, "invoice_not_found");
}

async fn the_customer_revises_its_own_invoice_where_allowed(s: TestServer) {
    let cus = customer(&s, json!({"name": "Self-service"})).await;
    let other = customer(&s, json!({"name": "Someone else"})).await;
    let mine = issued(
        &s,
        &cus,
        json!([{"description": "Fee", "quantity": "1", "unit_amount": "10"}]),
    )
    .await;
    let theirs = issued(
        &s,
        &other,
        json!([{"description": "Fee", "quantity": "1", "unit_amount": "10"}]),
    )
    .await;
    let (mine, theirs) = (mine["id"].as_str().unwrap(), theirs["id"].as_str().unwrap());
    let body = json!({"billing": {"legal_name": "Self-service Ltd",
                                  "tax_ids": [{"type": "gb_vat", "value": "GB980780684"}]}});

    let read_only = token(&portal_session(&s, json!({"customer_id": cus})).await);
    send(
        s.portal(
            Method::POST,
            &format!("/v1/portal/invoices/{mine}/revise"),
            &read_only,
        )
        .json(&body),
    )
    .await
    .assert_problem(403, "action_not_allowed");

    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": cus, "permissions": {"profile_update": {"allowed_fields": ["billing"]}}}),
        )
        .await,
    );
    send(
        s.portal(
            Method::POST,
            &format!("/v1/portal/invoices/{theirs}/revise"),
            &t,
        )
        .json(&body),
    )
    .await
    .assert_problem(404, "invoice_not_found");
    let r = send(
        s.portal(
            Method::POST,
            &format!("/v1/portal/invoices/{mine}/revise"),
            &t,
        )
        .json(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["billing"]["legal_name"], "Self-service Ltd");
    assert!(r.body["revised_at"].is_string());
    send(
        s.portal(
            Method::POST,
            &format!("/v1/portal/invoices/{mine}/revise"),
            &t,
        )
        .json(&body),
    )
    .await
    .assert_problem(409, "invoice_already_revised");

    // Audited, and in the customer's activity with the credit note that followed.
    let audit = get(
        &s,
        &format!("/v1/audit_events?customer_id={cus}&action=invoice.revised"),
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");
    credit(&s, mine, json!({"amount": "1", "reason": "other"})).await;
    let activity = send(s.portal(Method::GET, "/v1/portal/activity", &t)).await;
    let kinds: Vec<&str> = activity.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"invoice_revised"), "{}", activity.body);
    assert!(kinds.contains(&"credit_note_issued"), "{}", activity.body);
}
