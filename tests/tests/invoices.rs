//! Invoices over HTTP: drafts, finalization with gapless numbers under concurrency, rounding,
//! immutability, search, and the portal's view.

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::fixtures::pdf_text;
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    invoice_lifecycle,
    concurrent_finalizations_get_consecutive_numbers,
    totals_round_per_currency,
    amounts_past_the_bound_are_refused,
    search_and_filters,
    portal_shows_own_finalized_invoices,
    pdfs_are_real_documents,
    pdfs_print_every_script,
    pdfs_speak_the_customers_language,
);

async fn customer(s: &TestServer, ext: &str) -> String {
    tests::fixtures::customer_named(s, ext).await
}

fn line(q: &str, u: &str) -> Value {
    json!({"description": "Usage", "quantity": q, "unit_amount": u})
}

async fn draft(
    s: &TestServer,
    cid: &str,
    currency: &str,
    lines: Vec<Value>,
    extra: Value,
) -> Reply {
    let mut body = json!({"customer_id": cid, "currency": currency, "lines": lines});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let r = send(s.admin(Method::POST, "/v1/invoices").json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

fn id(r: &Reply) -> String {
    r.body["id"].as_str().unwrap().to_owned()
}

async fn finalize(s: &TestServer, id: &str) -> Reply {
    send(s.admin(Method::POST, &format!("/v1/invoices/{id}/finalize"))).await
}

fn seq_of(number: &str) -> u32 {
    let period = chrono::Utc::now().format("%Y%m").to_string();
    let rest = number
        .strip_prefix(&format!("INV-{period}-"))
        .unwrap_or_else(|| panic!("{number}"));
    rest.parse().unwrap()
}

async fn invoice_lifecycle(s: TestServer) {
    let c = customer(&s, "life").await;
    let d = draft(
        &s,
        &c,
        "usd",
        vec![line("1200", "0.002"), line("1", "5")],
        json!({"memo": "November", "due_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(d.body["status"], "draft");
    assert_eq!(d.body["currency"], "USD");
    assert_eq!(d.body["number"], Value::Null);
    assert_eq!(d.body["lines"][0]["amount"], "2.4");
    assert_eq!(d.body["subtotal"], "7.40");
    assert_eq!(d.body["total"], "7.40");
    assert_eq!(d.body["amount_due"], "0.00", "a draft is not owed");
    let i = id(&d);

    // Drafts are editable; lines are replaced and repriced.
    let edited = send(
        s.admin(Method::PATCH, &format!("/v1/invoices/{i}"))
            .json(&json!({"lines": [line("3", "1.115")], "memo": null})),
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(
        edited.body["subtotal"], "3.35",
        "the line is charged at the minor unit"
    );
    assert_eq!(edited.body["total"], "3.35");
    assert_eq!(edited.body["memo"], Value::Null);
    let bad = send(
        s.admin(Method::PATCH, &format!("/v1/invoices/{i}"))
            .json(&json!({"lines": [{"description": "x", "quantity": "abc", "unit_amount": "1"}]})),
    )
    .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["lines[0].quantity"]);

    let fin = finalize(&s, &i).await;
    assert_eq!(fin.status, 200, "{}", fin.body);
    assert_eq!(fin.body["status"], "finalized");
    assert_eq!(seq_of(fin.body["number"].as_str().unwrap()), 1);
    assert!(fin.body["issued_at"].is_string());
    assert_eq!(fin.body["amount_due"], "3.35");
    assert_eq!(fin.body["payment_status"], "unpaid");

    // Finalized is immutable.
    send(
        s.admin(Method::PATCH, &format!("/v1/invoices/{i}"))
            .json(&json!({"memo": "x"})),
    )
    .await
    .assert_problem(409, "invoice_not_draft");
    send(s.admin(Method::DELETE, &format!("/v1/invoices/{i}")))
        .await
        .assert_problem(409, "invoice_not_draft");
    finalize(&s, &i)
        .await
        .assert_problem(409, "invoice_not_draft");
    assert_eq!(
        send(s.admin(Method::GET, &format!("/v1/invoices/{i}")))
            .await
            .body["total"],
        "3.35"
    );

    let voided = send(s.admin(Method::POST, &format!("/v1/invoices/{i}/void"))).await;
    assert_eq!(voided.body["status"], "voided");
    assert_eq!(voided.body["amount_due"], "0.00");
    assert_eq!(
        send(s.admin(Method::POST, &format!("/v1/invoices/{i}/void")))
            .await
            .status,
        200,
        "idempotent"
    );

    // Drafts are deleted, not voided; an empty draft cannot be finalized.
    let empty = id(&draft(&s, &c, "USD", vec![], json!({})).await);
    send(s.admin(Method::POST, &format!("/v1/invoices/{empty}/void")))
        .await
        .assert_problem(409, "invoice_not_finalized");
    finalize(&s, &empty)
        .await
        .assert_problem(422, "invoice_empty");
    assert_eq!(
        send(s.admin(Method::DELETE, &format!("/v1/invoices/{empty}")))
            .await
            .status,
        204
    );
    send(s.admin(Method::GET, &format!("/v1/invoices/{empty}")))
        .await
        .assert_problem(404, "invoice_not_found");

    // Bad input stores nothing.
    for bad in [
        json!({"customer_id": c, "currency": "XXX"}),
        json!({"customer_id": c, "currency": "USD", "lines": [line("0", "1")]}),
        json!({"customer_id": c, "currency": "USD", "lines": [line("1", "-1")]}),
        json!({"customer_id": c, "currency": "USD", "extra": true}),
    ] {
        send(s.admin(Method::POST, "/v1/invoices").json(&bad))
            .await
            .assert_problem(422, "validation_failed");
    }
    send(
        s.admin(Method::POST, "/v1/invoices")
            .json(&json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "currency": "USD"})),
    )
    .await
    .assert_problem(404, "customer_not_found");
    let all = send(s.admin(Method::GET, "/v1/invoices?limit=100")).await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 1);
    let other = s.other_tenant_key();
    send(
        s.request(Method::GET, &format!("/v1/invoices/{i}"))
            .header("x-api-key", &other),
    )
    .await
    .assert_problem(404, "invoice_not_found");
    send(
        s.request(Method::POST, &format!("/v1/invoices/{i}/void"))
            .header("x-api-key", &other),
    )
    .await
    .assert_problem(404, "invoice_not_found");
}

async fn concurrent_finalizations_get_consecutive_numbers(s: TestServer) {
    let c = customer(&s, "many").await;
    let mut ids = Vec::new();
    for _ in 0..32 {
        ids.push(id(
            &draft(&s, &c, "EUR", vec![line("1", "10")], json!({})).await
        ));
    }
    let replies = join_all(ids.iter().map(|i| finalize(&s, i))).await;
    let mut numbers: Vec<u32> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.body);
            seq_of(r.body["number"].as_str().unwrap())
        })
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=32).collect::<Vec<_>>(),
        "32 distinct consecutive numbers"
    );

    // A finalization that fails takes no number: the next one is 33.
    let empty = id(&draft(&s, &c, "EUR", vec![], json!({})).await);
    finalize(&s, &empty)
        .await
        .assert_problem(422, "invoice_empty");
    let next = finalize(
        &s,
        &id(&draft(&s, &c, "EUR", vec![line("1", "1")], json!({})).await),
    )
    .await;
    assert_eq!(seq_of(next.body["number"].as_str().unwrap()), 33);
    // Numbers are per account.
    let other = s.other_tenant_key();
    let oc = send(
        s.request(Method::POST, "/v1/customers")
            .header("x-api-key", &other)
            .json(&json!({"name": "o"})),
    )
    .await;
    let od = send(s.request(Method::POST, "/v1/invoices").header("x-api-key", &other).json(&json!({"customer_id": oc.body["id"], "currency": "EUR", "lines": [line("1", "1")]}))).await;
    let of = send(
        s.request(Method::POST, &format!("/v1/invoices/{}/finalize", id(&od)))
            .header("x-api-key", &other),
    )
    .await;
    assert_eq!(seq_of(of.body["number"].as_str().unwrap()), 1);
}

async fn totals_round_per_currency(s: TestServer) {
    let c = customer(&s, "round").await;
    // Each line is charged at the minor unit, half away from zero; its unit price keeps its
    // places.
    for (currency, q, u, amount, total) in [
        ("USD", "1", "0.005", "0.01", "0.01"),
        ("USD", "1", "0.004999", "0", "0.00"),
        ("JPY", "3", "0.5", "2", "2"),
        ("KWD", "1", "1.2345", "1.235", "1.235"),
        ("KWD", "2", "0.0005", "0.001", "0.001"),
    ] {
        let d = draft(&s, &c, currency, vec![line(q, u)], json!({})).await;
        let f = finalize(&s, &id(&d)).await;
        assert_eq!(
            (
                f.body["lines"][0]["amount"].as_str().unwrap(),
                f.body["subtotal"].as_str().unwrap(),
                f.body["total"].as_str().unwrap()
            ),
            (amount, total, total),
            "{currency} {q}×{u}"
        );
        assert_eq!(f.body["lines"][0]["unit_amount"], u);
    }
    // Lines round one by one: three lines of 0.333 are 0.99, not 1.00.
    let d = draft(
        &s,
        &c,
        "EUR",
        vec![line("1", "0.333"), line("1", "0.333"), line("1", "0.333")],
        json!({}),
    )
    .await;
    assert_eq!(d.body["total"], "0.99", "{}", d.body);
}

/// Quantities, unit amounts and totals are bounded (18 digits before the point; a total below
/// 10^18 minor units): past that, a 422 naming the field, and nothing stored.
async fn amounts_past_the_bound_are_refused(s: TestServer) {
    let c = customer(&s, "huge").await;
    let before = s.query_texts(&s.stored_state_query());
    let twenty = "9".repeat(20);
    for (lines, field) in [
        (vec![line(&twenty, "1")], "lines[0].quantity"),
        (vec![line("1", &twenty)], "lines[0].unit_amount"),
        // 18 digits each, but the product is past what an amount holds.
        (
            vec![line("1", "1"), line(&"9".repeat(18), &"9".repeat(18))],
            "lines[1].amount",
        ),
        (
            vec![line("1", "1"), line("10000000000000000", "1")],
            "lines[1].amount",
        ),
        // Each line fits; their sum does not.
        (
            vec![line("9000000000000000", "1"), line("9000000000000000", "1")],
            "lines",
        ),
    ] {
        let body = json!({"customer_id": c, "currency": "USD", "lines": lines});
        let r = send(s.admin(Method::POST, "/v1/invoices").json(&body)).await;
        r.assert_problem(422, "validation_failed");
        assert!(
            r.fields().contains(&field.to_owned()),
            "{field}: {}",
            r.body
        );
    }
    assert_eq!(s.query_texts(&s.stored_state_query()), before);
    // The largest total that fits is accepted and exact.
    let d = draft(
        &s,
        &c,
        "USD",
        vec![line("1", "9999999999999999.99")],
        json!({}),
    )
    .await;
    let f = finalize(&s, &id(&d)).await;
    assert_eq!(f.body["total"], "9999999999999999.99", "{}", f.body);
    let r = send(
        s.admin(
            Method::PATCH,
            &format!(
                "/v1/invoices/{}",
                id(&draft(&s, &c, "USD", vec![line("1", "1")], json!({})).await)
            ),
        )
        .json(&json!({"lines": [line("10000000000000000", "1")]})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["lines[0].amount"]);
}

async fn search_and_filters(s: TestServer) {
    let a = customer(&s, "acme").await;
    let b = customer(&s, "beta").await;
    let i1 = id(&draft(
        &s,
        &a,
        "USD",
        vec![line("1", "100")],
        json!({"memo": "Annual plan", "due_at": "2000-01-01T00:00:00Z"}),
    )
    .await);
    let i2 = id(&draft(
        &s,
        &a,
        "USD",
        vec![line("1", "25.50")],
        json!({"due_at": "2999-01-01T00:00:00Z"}),
    )
    .await);
    let i3 = id(&draft(&s, &b, "EUR", vec![line("1", "40")], json!({})).await);
    let _draft = id(&draft(&s, &b, "USD", vec![line("1", "1")], json!({})).await);
    let n1 = finalize(&s, &i1).await.body["number"]
        .as_str()
        .unwrap()
        .to_owned();
    finalize(&s, &i2).await;
    finalize(&s, &i3).await;
    let ids = |r: &Reply| -> Vec<String> {
        r.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.body))
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let get = |q: &str| s.admin(Method::GET, &format!("/v1/invoices?{q}"));

    assert_eq!(
        ids(&send(get(&format!("customer_id={a}"))).await),
        vec![i2.clone(), i1.clone()]
    );
    assert_eq!(ids(&send(get("status=draft")).await).len(), 1);
    assert_eq!(
        ids(&send(get(&format!("q={}", n1.to_lowercase()))).await),
        vec![i1.clone()]
    );
    assert_eq!(ids(&send(get("q=ANNUAL")).await), vec![i1.clone()]);
    assert_eq!(ids(&send(get("currency=eur")).await), vec![i3.clone()]);
    assert_eq!(
        ids(&send(get(
            "currency=USD&amount_min=25.5&amount_max=99.99&status=finalized"
        ))
        .await),
        vec![i2.clone()]
    );
    assert_eq!(
        ids(&send(get("currency=USD&amount_min=100")).await),
        vec![i1.clone()]
    );
    assert_eq!(ids(&send(get("overdue=true")).await), vec![i1.clone()]);
    assert_eq!(
        ids(&send(get("payment_status=unpaid&status=finalized")).await).len(),
        3
    );
    assert_eq!(
        ids(&send(get("issued_from=2999-01-01T00:00:00Z")).await).len(),
        0
    );
    send(get("amount_min=10"))
        .await
        .assert_problem(422, "validation_failed");
    send(get("currency=USD&amount_min=0.001"))
        .await
        .assert_problem(422, "validation_failed");
    send(get("status=paid"))
        .await
        .assert_problem(422, "validation_failed");
    let overdue = send(s.admin(Method::GET, &format!("/v1/invoices/{i1}"))).await;
    assert_eq!(overdue.body["overdue"], true);
}

async fn portal_shows_own_finalized_invoices(s: TestServer) {
    let a = customer(&s, "alice").await;
    let b = customer(&s, "bob").await;
    let a_paid_late = id(&draft(
        &s,
        &a,
        "USD",
        vec![line("1", "20")],
        json!({"due_at": "2000-01-01T00:00:00Z"}),
    )
    .await);
    let a_open = id(&draft(
        &s,
        &a,
        "USD",
        vec![line("4", "25")],
        json!({"due_at": "2999-01-01T00:00:00Z"}),
    )
    .await);
    let a_eur = id(&draft(&s, &a, "EUR", vec![line("1", "9.99")], json!({})).await);
    let a_draft = id(&draft(&s, &a, "USD", vec![line("1", "1")], json!({})).await);
    let b_inv = id(&draft(&s, &b, "USD", vec![line("1", "5")], json!({})).await);
    for i in [&a_paid_late, &a_open, &a_eur, &b_inv] {
        finalize(&s, i).await;
    }
    let ses = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": a})),
    )
    .await;
    let t = ses.body["token"].as_str().unwrap().to_owned();

    let list = send(s.portal(Method::GET, "/v1/portal/invoices?limit=100", &t)).await;
    let got: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        vec![a_eur.as_str(), a_open.as_str(), a_paid_late.as_str()],
        "own, finalized, newest first"
    );
    // A search finds only the customer's own: every finalized invoice's number starts with
    // the same "INV-", and the trigram index (SQLite) holds the whole account's.
    let searched = send(s.portal(Method::GET, "/v1/portal/invoices?q=inv-&limit=100", &t)).await;
    let mut found: Vec<&str> = searched.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    found.sort();
    let mut own = vec![a_eur.as_str(), a_open.as_str(), a_paid_late.as_str()];
    own.sort();
    assert_eq!(found, own, "{}", searched.body);
    // Asking for drafts or another customer changes nothing.
    let sneaky = send(s.portal(
        Method::GET,
        &format!("/v1/portal/invoices?status=draft&customer_id={b}"),
        &t,
    ))
    .await;
    assert!(sneaky.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["customer_id"] == a.as_str() && x["status"] != "draft"));
    send(s.portal(Method::GET, &format!("/v1/portal/invoices/{a_draft}"), &t))
        .await
        .assert_problem(404, "invoice_not_found");
    send(s.portal(Method::GET, &format!("/v1/portal/invoices/{b_inv}"), &t))
        .await
        .assert_problem(404, "invoice_not_found");
    assert_eq!(
        send(s.portal(Method::GET, &format!("/v1/portal/invoices/{a_open}"), &t))
            .await
            .body["total"],
        "100.00"
    );

    let summary = send(s.portal(Method::GET, "/v1/portal/invoices/summary", &t)).await;
    assert_eq!(
        summary.body["data"],
        json!([
            {"currency": "EUR", "outstanding": "9.99", "overdue": "0.00", "open_invoices": 1},
            {"currency": "USD", "outstanding": "120.00", "overdue": "20.00", "open_invoices": 2}
        ])
    );

    let hidden = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": a, "sections": {"invoices": {"enabled": false}}})),
    )
    .await;
    let ht = hidden.body["token"].as_str().unwrap();
    send(s.portal(Method::GET, "/v1/portal/invoices", ht))
        .await
        .assert_problem(403, "section_disabled");
    send(s.portal(Method::GET, "/v1/portal/invoices/summary", ht))
        .await
        .assert_problem(403, "section_disabled");
}

async fn pdf_of(
    s: &TestServer,
    rb: reqwest::RequestBuilder,
) -> (reqwest::StatusCode, Option<String>, Vec<u8>) {
    let _ = s;
    let r = rb.send().await.unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status(), ct, r.bytes().await.unwrap().to_vec())
}

async fn pdfs_are_real_documents(s: TestServer) {
    let c = send(s.admin(Method::POST, "/v1/customers").json(&json!({"name": "Müller GmbH", "email": "ap@mueller.test",
        "address": {"line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115", "country": "DE"}}))).await;
    let cid = c.body["id"].as_str().unwrap().to_owned();
    let d = draft(&s, &cid, "EUR", vec![line("3", "1.115"), json!({"description": "Storage", "quantity": "10", "unit_amount": "0.5", "feature": "storage_gb"})], json!({"memo": "Thank you!", "due_at": "2026-12-31T00:00:00Z"})).await;
    let i = id(&d);

    // A draft renders, watermarked.
    let (status, ct, bytes) =
        pdf_of(&s, s.admin(Method::GET, &format!("/v1/invoices/{i}/pdf"))).await;
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some("application/pdf"));
    assert!(bytes.starts_with(b"%PDF-"));
    let (_, text) = pdf_text(&bytes);
    assert!(text.contains("DRAFT"), "{text}");

    let f = finalize(&s, &i).await;
    let number = f.body["number"].as_str().unwrap().to_owned();
    let (_, _, bytes) = pdf_of(&s, s.admin(Method::GET, &format!("/v1/invoices/{i}/pdf"))).await;
    let (pages, text) = pdf_text(&bytes);
    assert_eq!(pages, 1);
    for expected in [
        &number,
        "Müller GmbH",
        "Hauptstraße 5",
        "10115 Berlin",
        "ap@mueller.test",
        "Storage",
        // 3 × 1.115: the unit price as set, the line at the minor unit.
        "1.115",
        "3.35",
        "0.50",
        "5.00",
        "8.35 EUR",
        "Amount due",
        "Dec 31, 2026",
        "Thank you!",
        "default",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the PDF text:\n{text}"
        );
    }
    assert!(!text.contains("DRAFT"));
    for raw in ["3.345", "8.345"] {
        assert!(
            !text.contains(raw),
            "{raw}: amounts print at the minor unit:\n{text}"
        );
    }
    assert!(!text.contains("Rounding"), "the lines add up: {text}");
    // Each line is charged at the minor unit, so the column adds up as printed (no Rounding
    // row); unit prices keep their places; big amounts are grouped.
    let d = draft(
        &s,
        &cid,
        "EUR",
        vec![
            line("1", "0.333"),
            line("1", "0.333"),
            line("1", "0.333"),
            line("1", "1234567"),
        ],
        json!({}),
    )
    .await;
    let (_, _, bytes) = pdf_of(
        &s,
        s.admin(Method::GET, &format!("/v1/invoices/{}/pdf", id(&d))),
    )
    .await;
    let (_, text) = pdf_text(&bytes);
    for expected in ["1,234,567.00", "1,234,567.99 EUR", "0.333", "0.33"] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    assert!(!text.contains("Rounding"), "{text}");
    assert!(!text.contains("0.999"), "{text}");

    // The customer gets the same document from the portal; drafts and other customers' are 404.
    let t = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": cid})),
    )
    .await;
    let t = t.body["token"].as_str().unwrap().to_owned();
    let (status, _, portal_bytes) = pdf_of(
        &s,
        s.portal(Method::GET, &format!("/v1/portal/invoices/{i}/pdf"), &t),
    )
    .await;
    assert_eq!(status, 200);
    assert!(pdf_text(&portal_bytes).1.contains(&number));
    let other_draft = id(&draft(&s, &cid, "EUR", vec![line("1", "1")], json!({})).await);
    send(s.portal(
        Method::GET,
        &format!("/v1/portal/invoices/{other_draft}/pdf"),
        &t,
    ))
    .await
    .assert_problem(404, "invoice_not_found");

    // Long invoices continue on more pages, with every line on some page.
    let many: Vec<Value> = (0..70).map(|n| json!({"description": format!("Line item {n:03}"), "quantity": "1", "unit_amount": "1"})).collect();
    let long = id(&draft(&s, &cid, "USD", many, json!({})).await);
    finalize(&s, &long).await;
    let (_, _, bytes) = pdf_of(
        &s,
        s.admin(Method::GET, &format!("/v1/invoices/{long}/pdf")),
    )
    .await;
    let (pages, text) = pdf_text(&bytes);
    assert!(pages >= 2, "{pages} page(s)");
    for n in [0, 35, 69] {
        assert!(
            text.contains(&format!("Line item {n:03}")),
            "line {n} missing"
        );
    }
    assert!(text.contains("70.00 USD"));
}

/// Names, addresses, descriptions and memos in any script come back out of the PDF as written
/// (right-to-left text in the order it is read on the page), and a long description wraps in its
/// column instead of running into the quantity.
async fn pdfs_print_every_script(s: TestServer) {
    let c = send(s.admin(Method::POST, "/v1/customers").json(&json!({
        "name": "北京云计算有限公司",
        "email": "billing@example.cn",
        "address": {"line1": "улица Тверская, 7", "city": "Москва", "country": "RU"}
    })))
    .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let cid = c.body["id"].as_str().unwrap().to_owned();
    let long = "Managed storage and bandwidth for the production cluster in eu-central, including \
                snapshots, cross-region replication and the premium support plan";
    let d = draft(
        &s,
        &cid,
        "EUR",
        vec![
            json!({"description": "שירות ענן", "quantity": "1", "unit_amount": "10"}),
            json!({"description": "خدمة سحابية", "quantity": "1", "unit_amount": "10"}),
            json!({"description": "Поддержка 😀 ★", "quantity": "2", "unit_amount": "5"}),
            json!({"description": "클라우드 서비스 한국어", "quantity": "1", "unit_amount": "5"}),
            json!({"description": long, "quantity": "1", "unit_amount": "99"}),
        ],
        json!({"memo": "ありがとうございます — Спасибо"}),
    )
    .await;
    let i = id(&d);
    let (status, _, bytes) =
        pdf_of(&s, s.admin(Method::GET, &format!("/v1/invoices/{i}/pdf"))).await;
    assert_eq!(status, 200);
    let (_, text) = pdf_text(&bytes);
    for written in [
        "北京云计算有限公司",
        "улица Тверская, 7",
        "Москва",
        "Поддержка 😀 ★",
        "클라우드 서비스 한국어",
        "ありがとうございます — Спасибо",
    ] {
        assert!(text.contains(written), "{written} not in: {text}");
    }
    // Right-to-left words read right to left: their characters come out in page order.
    for rtl in ["שירות", "ענן", "خدمة", "سحابية"] {
        let on_page: String = rtl.chars().rev().collect();
        assert!(text.contains(&on_page), "{rtl} not in: {text}");
    }
    assert!(!text.contains('?'), "nothing printed as ?: {text}");
    // The long description is wrapped into several lines, all of it kept.
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("premium support plan"), "{flat}");
    let line_with_start = text
        .lines()
        .find(|l| l.contains("Managed storage"))
        .expect("first line of the description");
    assert!(
        !line_with_start.contains("premium"),
        "wrapped, not one long line: {line_with_start}"
    );
}

/// A document in the customer's language, with their locale's number and date formats: an
/// invoice in German (`RECHNUNG`, `1.234,50 EUR`, `07.12.2026`) and in Arabic (its labels in
/// Arabic script, read right to left), a credit note in French. A language without a
/// catalogue gets English.
async fn pdfs_speak_the_customers_language(s: TestServer) {
    async fn finalized_pdf(s: &TestServer, locale: Option<&str>) -> (String, Value, String) {
        let c = send(s.admin(Method::POST, "/v1/customers").json(&json!({
            "name": "Sprachkunde", "locale": locale, "timezone": "Europe/Berlin"})))
        .await;
        assert_eq!(c.status, 201, "{}", c.body);
        let cid = c.body["id"].as_str().unwrap().to_owned();
        let d = draft(s, &cid, "EUR", vec![line("1", "1234.5")], json!({})).await;
        let i = id(&d);
        let f = send(s.admin(Method::POST, &format!("/v1/invoices/{i}/finalize"))).await;
        assert_eq!(f.status, 200, "{}", f.body);
        let (status, _, bytes) =
            pdf_of(s, s.admin(Method::GET, &format!("/v1/invoices/{i}/pdf"))).await;
        assert_eq!(status, 200);
        (i, f.body, pdf_text(&bytes).1)
    }
    let (_, inv, german) = finalized_pdf(&s, Some("de-DE")).await;
    let issued = chrono::DateTime::parse_from_rfc3339(inv["issued_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%d.%m.%Y")
        .to_string();
    for expected in [
        "RECHNUNG",
        "Rechnung an",
        "Zwischensumme",
        "Fälliger Betrag",
        "Beschreibung",
        "Einzelpreis",
        "1.234,50 EUR",
        "1.234,50",
        issued.as_str(),
    ] {
        assert!(german.contains(expected), "{expected} not in: {german}");
    }
    for english in ["INVOICE", "Subtotal", "Amount due", "1,234.50"] {
        assert!(!german.contains(english), "{english} in: {german}");
    }

    let (_, _, arabic) = finalized_pdf(&s, Some("ar")).await;
    // Right-to-left words come out in page order.
    for word in ["فاتورة", "الإجمالي"] {
        let on_page: String = word.chars().rev().collect();
        assert!(arabic.contains(&on_page), "{word} not in: {arabic}");
    }
    assert!(
        !arabic.contains("INVOICE") && !arabic.contains("Subtotal"),
        "{arabic}"
    );

    let (_, _, japanese) = finalized_pdf(&s, Some("ja-JP")).await;
    assert!(
        japanese.contains("INVOICE") && japanese.contains("1,234.50 EUR"),
        "{japanese}"
    );

    let (i, _, _) = finalized_pdf(&s, Some("fr")).await;
    let note = send(
        s.admin(Method::POST, &format!("/v1/invoices/{i}/credit_notes"))
            .json(&json!({"amount": "100", "reason": "order_change"})),
    )
    .await;
    assert_eq!(note.status, 201, "{}", note.body);
    let cn = note.body["id"].as_str().unwrap();
    let (status, _, bytes) = pdf_of(
        &s,
        s.admin(Method::GET, &format!("/v1/credit_notes/{cn}/pdf")),
    )
    .await;
    assert_eq!(status, 200);
    let french = pdf_text(&bytes).1;
    for expected in [
        "AVOIR",
        "Total crédité",
        "modification de commande",
        "Crédite la facture",
    ] {
        assert!(french.contains(expected), "{expected} not in: {french}");
    }
}
