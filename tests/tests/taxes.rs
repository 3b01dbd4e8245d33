//! Taxes over HTTP: the merchant's rates, which of them apply to a line (its own, the plan's,
//! the customer's, the account's), exemption and reverse charge, the per-line and per-rate
//! computation at the currency's minor unit, and a renewal equal to its preview to the cent.

use serde_json::{json, Value};
use tests::fixtures::{created, customer, feature, id, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    rates_are_created_listed_and_archived,
    bad_rates_are_refused_and_store_nothing,
    lines_are_taxed_per_line_and_per_rate,
    defaults_apply_most_specific_first,
    rates_that_cannot_be_given_are_named,
    renewals_are_taxed_as_previewed,
    tax_ids_are_checked_by_their_scheme,
    reverse_charge_invoices_say_so,
    a_taxed_total_past_the_bound_is_refused,
    plan_changes_are_taxed_as_previewed,
    a_charge_s_rates_come_before_the_plan_s,
    changes_at_the_first_instant_of_a_frozen_clock_are_invoiced,
    credits_of_unused_time_give_the_tax_back,
);

async fn rate(s: &TestServer, name: &str, percentage: &str, inclusive: bool) -> String {
    id(&created(
        s,
        "/v1/tax_rates",
        json!({"name": name, "percentage": percentage, "inclusive": inclusive}),
    )
    .await)
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

/// A customer on a test clock frozen at 2027-03-01, subscribed to `plan`: (clock, customer,
/// subscription).
async fn subscriber_on_clock(s: &TestServer, name: &str, plan: &str) -> (String, String, String) {
    let clock = id(&created(
        s,
        "/v1/test_clocks",
        json!({"frozen_time": "2027-03-01T00:00:00Z"}),
    )
    .await);
    let cus = customer(s, json!({"name": name, "test_clock": clock})).await;
    let sub = post(
        s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": plan}),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    (clock, cus, id(&sub))
}

/// Advances the clock to `to` and waits until its workers have run everything due.
async fn advance(s: &TestServer, clock: &str, to: &str) {
    let r = post(
        s,
        &format!("/v1/test_clocks/{clock}/advance"),
        json!({"to": to}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while get(s, &format!("/v1/test_clocks/{clock}")).await["status"] != "ready" {
        assert!(std::time::Instant::now() < deadline, "still advancing");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Lines without their ids (a preview's lines get ids of their own).
fn without_ids(lines: &Value) -> Value {
    let mut lines = lines.clone();
    for l in lines.as_array_mut().into_iter().flatten() {
        l.as_object_mut().map(|o| o.remove("id"));
    }
    lines
}

async fn invoice(s: &TestServer, customer: &str, lines: Value) -> Reply {
    post(
        s,
        "/v1/invoices",
        json!({"customer_id": customer, "currency": "EUR", "lines": lines}),
    )
    .await
}

async fn rates_are_created_listed_and_archived(s: TestServer) {
    let r = post(
        &s,
        "/v1/tax_rates",
        json!({"name": "VAT", "percentage": "19.0000", "inclusive": false, "country": "de",
               "description": "German VAT"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["percentage"], "19");
    assert_eq!(r.body["country"], "DE");
    assert_eq!(r.body["active"], true);
    let vat = id(&r);
    assert_eq!(get(&s, &format!("/v1/tax_rates/{vat}")).await, r.body);
    let other = rate(&s, "GST", "7.6543", true).await;
    let all = get(&s, "/v1/tax_rates").await;
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [other.as_str(), vat.as_str()], "newest first");

    let archived = post(&s, &format!("/v1/tax_rates/{vat}/archive"), json!({})).await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    assert_eq!(archived.body["active"], false);
    let again = post(&s, &format!("/v1/tax_rates/{vat}/archive"), json!({})).await;
    assert_eq!(
        again.body["archived_at"], archived.body["archived_at"],
        "idempotent"
    );
    let active = get(&s, "/v1/tax_rates?active=true").await;
    assert_eq!(active["data"].as_array().unwrap().len(), 1);
    assert_eq!(active["data"][0]["id"], other.as_str());

    // Another account's rate is not found, nor is a malformed id.
    let theirs = send(
        s.request(Method::GET, &format!("/v1/tax_rates/{vat}"))
            .header("x-api-key", s.other_tenant_key()),
    )
    .await;
    theirs.assert_problem(404, "tax_rate_not_found");
    send(s.admin(Method::GET, "/v1/tax_rates/txr_nope"))
        .await
        .assert_problem(404, "tax_rate_not_found");
}

async fn bad_rates_are_refused_and_store_nothing(s: TestServer) {
    for (percentage, why) in [
        ("-1", "below 0"),
        ("100.01", "above 100"),
        ("7.65432", "5 places"),
        ("abc", "not a number"),
        ("1e1", "exponent"),
    ] {
        let r = post(
            &s,
            "/v1/tax_rates",
            json!({"name": "VAT", "percentage": percentage, "inclusive": false}),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), ["percentage"], "{why}: {}", r.body);
    }
    let r = post(
        &s,
        "/v1/tax_rates",
        json!({"name": " ", "percentage": "5", "inclusive": false, "country": "DEU"}),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["name", "country"], "{}", r.body);
    let all = get(&s, "/v1/tax_rates").await;
    assert!(all["data"].as_array().unwrap().is_empty(), "{all}");
}

async fn lines_are_taxed_per_line_and_per_rate(s: TestServer) {
    let vat = rate(&s, "VAT", "19", false).await;
    let included = rate(&s, "Included", "7", true).await;
    let cus = customer(&s, json!({"name": "Taxed"})).await;
    let r = invoice(
        &s,
        &cus,
        json!([
            {"description": "A", "quantity": "3", "unit_amount": "3.35", "tax_rate_ids": [vat]},
            {"description": "B", "quantity": "1", "unit_amount": "10", "tax_rate_ids": [vat, included]},
            {"description": "C", "quantity": "3", "unit_amount": "0.3335", "tax_rate_ids": []},
        ]),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let b = &r.body;
    // Line C: 3 × 0.3335 = 1.0005 → 1.00, untaxed; line A: 10.05 × 19% = 1.9095 → 1.91;
    // line B: 7% included (10 × 0.07 / 1.07 = 0.654… → 0.65), then 9.35 × 19% = 1.7765 → 1.78.
    assert_eq!(b["lines"][2]["amount"], "1");
    assert_eq!(b["lines"][2]["tax_amounts"], json!([]));
    assert_eq!(b["lines"][0]["tax_amounts"][0]["amount"], "1.91");
    assert_eq!(b["lines"][1]["tax_rates"][1]["inclusive"], true);
    assert_eq!(b["lines"][1]["tax_amounts"][1]["amount"], "0.65");
    assert_eq!(b["lines"][1]["tax_amounts"][0]["amount"], "1.78");
    assert_eq!(b["subtotal"], "21.05");
    assert_eq!(
        b["subtotal_excluding_tax"], "20.40",
        "less the 0.65 included"
    );
    assert_eq!(b["total_tax"], "4.34");
    assert_eq!(b["total"], "24.74", "subtotal + exclusive tax");
    let per_rate = b["tax_amounts"].as_array().unwrap();
    assert_eq!(per_rate.len(), 2);
    assert_eq!(per_rate[0]["tax_rate_id"], vat.as_str());
    assert_eq!(per_rate[0]["percentage"], "19");
    assert_eq!(per_rate[0]["taxable_amount"], "19.40");
    assert_eq!(per_rate[0]["amount"], "3.69", "1.91 + 1.78");
    assert_eq!(per_rate[1]["amount"], "0.65");

    // Finalized, the figures hold; archiving the rate later changes nothing on it.
    let inv = id(&r);
    let fin = post(&s, &format!("/v1/invoices/{inv}/finalize"), json!({})).await;
    assert_eq!(fin.status, 200, "{}", fin.body);
    assert_eq!(fin.body["total"], "24.74");
    assert_eq!(fin.body["amount_due"], "24.74");
    // The PDF prints each rate's tax.
    let pdf = s
        .admin(Method::GET, &format!("/v1/invoices/{inv}/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let (_, text) = tests::fixtures::pdf_text(&pdf.bytes().await.unwrap());
    for expected in [
        "VAT 19%",
        "3.69 EUR",
        "Included 7%, included",
        "0.65 EUR",
        "24.74 EUR",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    post(&s, &format!("/v1/tax_rates/{vat}/archive"), json!({})).await;
    let after = get(&s, &format!("/v1/invoices/{inv}")).await;
    assert_eq!(after["tax_amounts"], fin.body["tax_amounts"]);
    assert_eq!(after["total"], "24.74");
}

async fn defaults_apply_most_specific_first(s: TestServer) {
    let account_rate = rate(&s, "Account VAT", "20", false).await;
    let customer_rate = rate(&s, "Customer VAT", "10", false).await;
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"default_tax_rate_ids": [account_rate]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["default_tax_rate_ids"], json!([account_rate]));
    let line = json!([{"description": "Fee", "quantity": "1", "unit_amount": "100"}]);

    let plain = customer(&s, json!({"name": "Plain"})).await;
    let i = invoice(&s, &plain, line.clone()).await;
    assert_eq!(
        i.body["total"], "120.00",
        "the account's default: {}",
        i.body
    );

    let own = customer(&s, json!({"name": "Own", "tax_rate_ids": [customer_rate]})).await;
    let i = invoice(&s, &own, line.clone()).await;
    assert_eq!(
        i.body["total"], "110.00",
        "the customer's rates first: {}",
        i.body
    );

    let exempt = customer(&s, json!({"name": "Charity", "tax_exempt": "exempt"})).await;
    let i = invoice(&s, &exempt, line.clone()).await;
    assert_eq!(i.body["total"], "100.00");
    assert_eq!(i.body["tax_amounts"], json!([]));

    // Reverse charge: no tax, whatever the line asks for.
    let eu = customer(
        &s,
        json!({"name": "EU business", "tax_exempt": "reverse_charge"}),
    )
    .await;
    let asks = json!([{"description": "Fee", "quantity": "1", "unit_amount": "100",
                        "tax_rate_ids": [customer_rate]}]);
    let i = invoice(&s, &eu, asks).await;
    assert_eq!(i.body["total"], "100.00", "{}", i.body);

    // A customer's settings change by PATCH; the portal cannot change them.
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{plain}"))
            .json(&json!({"tax_exempt": "exempt"})),
    )
    .await;
    assert_eq!(r.body["tax_exempt"], "exempt", "{}", r.body);
    let i = invoice(&s, &plain, line).await;
    assert_eq!(i.body["total"], "100.00");
}

async fn rates_that_cannot_be_given_are_named(s: TestServer) {
    let vat = rate(&s, "VAT", "19", false).await;
    let old = rate(&s, "Old", "16", false).await;
    post(&s, &format!("/v1/tax_rates/{old}/archive"), json!({})).await;
    let theirs = send(
        s.request(Method::POST, "/v1/tax_rates")
            .header("x-api-key", s.other_tenant_key())
            .json(&json!({"name": "Theirs", "percentage": "5", "inclusive": false})),
    )
    .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    let theirs = id(&theirs);
    let cus = customer(&s, json!({"name": "Careful"})).await;
    let before = get(&s, &format!("/v1/invoices?customer_id={cus}")).await;

    // Archived, another account's, given twice; and a malformed id.
    let r = invoice(
        &s,
        &cus,
        json!([{"description": "A", "quantity": "1", "unit_amount": "1",
                "tax_rate_ids": [old, theirs, vat, vat]}]),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    let fields = r.fields();
    for field in [
        "lines[0].tax_rate_ids[0]",
        "lines[0].tax_rate_ids[1]",
        "lines[0].tax_rate_ids[3]",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field}: {}", r.body);
    }
    let r = invoice(
        &s,
        &cus,
        json!([{"description": "A", "quantity": "1", "unit_amount": "1",
                "tax_rate_ids": ["txr_malformed"]}]),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["lines[0].tax_rate_ids[0]"]);
    let after = get(&s, &format!("/v1/invoices?customer_id={cus}")).await;
    assert_eq!(before, after, "nothing stored");

    for (path, body, field) in [
        (
            "/v1/customers",
            json!({"name": "X", "tax_rate_ids": [old]}),
            "tax_rate_ids[0]",
        ),
        (
            "/v1/plans",
            json!({"code": "p", "name": "P", "currency": "EUR", "interval": "month",
                   "amount": "1.00", "tax_rate_ids": [theirs]}),
            "tax_rate_ids[0]",
        ),
        (
            "/v1/customers",
            json!({"name": "Y", "tax_exempt": "sometimes"}),
            "tax_exempt",
        ),
    ] {
        let r = post(&s, path, body).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{path}: {}", r.body);
    }
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"default_tax_rate_ids": [old]})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["default_tax_rate_ids[0]"]);
    assert_eq!(
        get(&s, "/v1/account").await["default_tax_rate_ids"],
        json!([])
    );
}

async fn renewals_are_taxed_as_previewed(s: TestServer) {
    let vat = rate(&s, "VAT", "19", false).await;
    let plan = post(
        &s,
        "/v1/plans",
        json!({"code": "taxed", "name": "Taxed", "currency": "EUR", "interval": "month",
               "amount": "9.99", "tax_rate_ids": [vat]}),
    )
    .await;
    assert_eq!(plan.status, 201, "{}", plan.body);
    assert_eq!(plan.body["tax_rate_ids"], json!([vat]));
    let (clock, cus, sub) = subscriber_on_clock(&s, "Subscriber", "taxed").await;
    let upcoming = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    // 9.99 × 19% = 1.8981 → 1.90.
    assert_eq!(upcoming["total_tax"], "1.90", "{upcoming}");
    assert_eq!(upcoming["total"], "11.89");

    advance(&s, &clock, "2027-04-01T00:00:00Z").await;
    let list = get(&s, &format!("/v1/invoices?customer_id={cus}&limit=100")).await;
    let renewal = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["billing_period_start"] == "2027-04-01T00:00:00Z")
        .unwrap_or_else(|| panic!("no renewal: {list}"))
        .clone();
    for field in ["subtotal", "total_tax", "total", "tax_amounts"] {
        assert_eq!(renewal[field], upcoming[field], "{field}: {renewal}");
    }
    assert_eq!(
        without_ids(&renewal["lines"]),
        without_ids(&upcoming["lines"])
    );
}

async fn tax_ids_are_checked_by_their_scheme(s: TestServer) {
    let r = post(
        &s,
        "/v1/customers",
        json!({"name": "GmbH", "billing": {"tax_ids": [
            {"type": "eu_vat", "value": "de 136.695.976"},
            {"type": "au_abn", "value": "51 824 753 556"}]}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["billing"]["tax_ids"],
        json!([{"type": "eu_vat", "value": "DE136695976"}, {"type": "au_abn", "value": "51824753556"}])
    );
    let cus = id(&r);
    for (ids, field) in [
        (
            json!([{"type": "eu_vat", "value": "DE123456789"}]),
            "billing.tax_ids[0].value",
        ),
        (
            json!([{"type": "au_abn", "value": "51824753557"}]),
            "billing.tax_ids[0].value",
        ),
        (
            json!([{"type": "vat", "value": "DE136695976"}]),
            "billing.tax_ids[0].type",
        ),
    ] {
        let r = send(
            s.admin(Method::PATCH, &format!("/v1/customers/{cus}"))
                .json(&json!({"billing": {"tax_ids": ids}})),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{}", r.body);
    }
    let kept = get(&s, &format!("/v1/customers/{cus}")).await;
    assert_eq!(
        kept["billing"]["tax_ids"][0]["value"], "DE136695976",
        "nothing changed"
    );

    // The merchant's own, on the account.
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"tax_ids": [{"type": "gb_vat", "value": "GB 434 0314 94"}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["tax_ids"],
        json!([{"type": "gb_vat", "value": "GB434031494"}])
    );
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"tax_ids": [{"type": "gb_vat", "value": "GB654321098"}]})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["tax_ids[0].value"]);

    // A customer whose session allows billing details edits their own tax ids.
    let t = send(s.admin(Method::POST, "/v1/portal_sessions").json(&json!({
        "customer_id": cus,
        "permissions": {"profile_update": {"allowed_fields": ["billing"]}}})))
    .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let token = t.body["token"].as_str().unwrap().to_owned();
    let r = send(s.portal(Method::PATCH, "/v1/portal/customer", &token).json(
        &json!({"billing": {"tax_ids": [{"type": "ch_vat", "value": "CHE-116.281.710 MWST"}]}}),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["billing"]["tax_ids"][0]["value"], "CHE116281710MWST");
    let r =
        send(s.portal(Method::PATCH, "/v1/portal/customer", &token).json(
            &json!({"billing": {"tax_ids": [{"type": "no_vat", "value": "NO923609017MVA"}]}}),
        ))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["billing.tax_ids[0].value"]);
}

async fn reverse_charge_invoices_say_so(s: TestServer) {
    let vat = rate(&s, "VAT", "19", false).await;
    let r = send(s.admin(Method::PATCH, "/v1/account").json(&json!({
        "default_tax_rate_ids": [vat],
        "tax_ids": [{"type": "eu_vat", "value": "DE136695976"}]})))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cus = customer(
        &s,
        json!({"name": "Client SA", "tax_exempt": "reverse_charge",
               "billing": {"tax_ids": [{"type": "eu_vat", "value": "FR40303265045"}]}}),
    )
    .await;
    let i = invoice(
        &s,
        &cus,
        json!([{"description": "Consulting", "quantity": "1", "unit_amount": "1000"}]),
    )
    .await;
    assert_eq!(i.status, 201, "{}", i.body);
    assert_eq!(i.body["reverse_charge"], true);
    assert_eq!(i.body["total"], "1000.00");
    assert_eq!(i.body["total_tax"], "0.00");
    let inv = id(&i);
    let pdf = s
        .admin(Method::GET, &format!("/v1/invoices/{inv}/pdf"))
        .send()
        .await
        .unwrap();
    let (_, text) = tests::fixtures::pdf_text(&pdf.bytes().await.unwrap());
    for expected in ["Reverse charge", "VAT: DE136695976", "VAT: FR40303265045"] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    // Another customer of the same account pays the default rate, and no note is printed.
    let plain = customer(&s, json!({"name": "Local"})).await;
    let i = invoice(
        &s,
        &plain,
        json!([{"description": "Consulting", "quantity": "1", "unit_amount": "1000"}]),
    )
    .await;
    assert_eq!(i.body["reverse_charge"], false);
    assert_eq!(i.body["total"], "1190.00");
}

async fn a_taxed_total_past_the_bound_is_refused(s: TestServer) {
    let full = rate(&s, "Everything", "100", false).await;
    let cus = customer(&s, json!({"name": "Huge"})).await;
    let before = get(&s, &format!("/v1/invoices?customer_id={cus}")).await;
    // 9·10^15 fits as a subtotal; doubled by a 100% rate it does not.
    let r = invoice(
        &s,
        &cus,
        json!([{"description": "A", "quantity": "9000000000000000", "unit_amount": "1",
                "tax_rate_ids": [full]}]),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["lines"], "{}", r.body);
    assert_eq!(
        before,
        get(&s, &format!("/v1/invoices?customer_id={cus}")).await
    );
}

async fn plan_changes_are_taxed_as_previewed(s: TestServer) {
    let vat = rate(&s, "VAT", "19", false).await;
    for (code, amount) in [("small", "10.00"), ("big", "20.00")] {
        let r = post(
            &s,
            "/v1/plans",
            json!({"code": code, "name": code, "currency": "EUR", "interval": "month",
                   "amount": amount, "tax_rate_ids": [vat]}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let (clock, cus, sub) = subscriber_on_clock(&s, "Upgrader", "small").await;
    // Half-way through March.
    advance(&s, &clock, "2027-03-16T12:00:00Z").await;
    let change = json!({"plan": "big", "at": "immediately", "proration": "invoice_now"});
    let preview = post(
        &s,
        &format!("/v1/subscriptions/{sub}/change/preview"),
        change.clone(),
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    // 16 of March's 31 days left: −5.16 unused and +10.32 remaining, each taxed 19% on its own
    // line (−0.9804 → −0.98, 1.9608 → 1.96).
    assert_eq!(preview.body["net"], "5.16", "{}", preview.body);
    assert_eq!(
        preview.body["lines"][0]["tax_amounts"][0]["amount"],
        "-0.98"
    );
    assert_eq!(preview.body["lines"][1]["tax_amounts"][0]["amount"], "1.96");
    assert_eq!(preview.body["total_tax"], "0.98");
    assert_eq!(preview.body["total"], "6.14");
    let done = post(&s, &format!("/v1/subscriptions/{sub}/change"), change).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let list = get(&s, &format!("/v1/invoices?customer_id={cus}&limit=100")).await;
    let totals: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["total"].as_str().unwrap())
        .collect();
    assert_eq!(
        totals,
        ["6.14", "11.90"],
        "the proration, then the first fee: {list}"
    );
    let proration = &list["data"][0];
    assert_eq!(proration["tax_amounts"], preview.body["tax_amounts"]);
    assert_eq!(
        without_ids(&proration["lines"]),
        without_ids(&preview.body["lines"])
    );
}

async fn a_charge_s_rates_come_before_the_plan_s(s: TestServer) {
    let vat = rate(&s, "VAT", "19", false).await;
    let reduced = rate(&s, "Reduced VAT", "7", false).await;
    let old = rate(&s, "Old", "16", false).await;
    post(&s, &format!("/v1/tax_rates/{old}/archive"), json!({})).await;
    feature(
        &s,
        json!({"key": "pages", "name": "Pages", "unit": "pages", "aggregation": "sum",
               "value_property": "quantity", "unit_price": "0", "currency": "EUR"}),
    )
    .await;
    let plan = |code: &str, charge_rates: Value| {
        json!({"code": code, "name": "Books", "currency": "EUR", "interval": "month",
               "amount": "10.00", "tax_rate_ids": [vat],
               "charges": [{"feature": "pages", "unit_price": "0.10", "tax_rate_ids": charge_rates}]})
    };
    // An archived rate cannot be given to a charge.
    let r = post(&s, "/v1/plans", plan("bad", json!([old]))).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["charges[0].tax_rate_ids[0]"], "{}", r.body);
    let r = post(&s, "/v1/plans", plan("books", json!([reduced]))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["charges"][0]["tax_rate_ids"], json!([reduced]));

    let (clock, cus, sub) = subscriber_on_clock(&s, "Reader", "books").await;
    advance(&s, &clock, "2027-03-10T00:00:00Z").await;
    let ev = post(
        &s,
        "/v1/events",
        json!({"event_id": "p-1", "feature": "pages", "customer_id": cus,
               "timestamp": "2027-03-05T00:00:00Z", "properties": {"quantity": 100}}),
    )
    .await;
    assert!(ev.status.is_success(), "{}", ev.body);
    let upcoming = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    advance(&s, &clock, "2027-04-01T00:00:00Z").await;
    let list = get(&s, &format!("/v1/invoices?customer_id={cus}&limit=100")).await;
    let renewal = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["billing_period_start"] == "2027-04-01T00:00:00Z")
        .unwrap_or_else(|| panic!("no renewal: {list}"))
        .clone();
    // The usage line (100 × 0.10 = 10.00) at the charge's 7%, the fee at the plan's 19%.
    for line in renewal["lines"].as_array().unwrap() {
        let expected = match line["feature"].as_str() {
            Some("pages") => (reduced.as_str(), "0.7"),
            _ => (vat.as_str(), "1.9"),
        };
        assert_eq!(line["tax_rates"][0]["tax_rate_id"], expected.0, "{line}");
        assert_eq!(line["tax_amounts"][0]["amount"], expected.1, "{line}");
    }
    assert_eq!(renewal["total"], "22.60", "{renewal}");
    assert_eq!(renewal["total"], upcoming["total"]);
    assert_eq!(renewal["tax_amounts"], upcoming["tax_amounts"]);
}

/// On a frozen test clock, a change can fall on the very instant the subscription started (its
/// first invoice's billing key): each proration is invoiced, none collides with the first.
async fn changes_at_the_first_instant_of_a_frozen_clock_are_invoiced(s: TestServer) {
    for (code, amount) in [("one", "10.00"), ("two", "30.00"), ("three", "50.00")] {
        let r = post(
            &s,
            "/v1/plans",
            json!({"code": code, "name": code, "currency": "EUR", "interval": "month", "amount": amount}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let (_, cus, sub) = subscriber_on_clock(&s, "Quick", "one").await;
    for plan in ["two", "three"] {
        let r = post(
            &s,
            &format!("/v1/subscriptions/{sub}/change"),
            json!({"plan": plan, "at": "immediately", "proration": "invoice_now"}),
        )
        .await;
        assert_eq!(r.status, 200, "{plan}: {}", r.body);
    }
    let list = get(&s, &format!("/v1/invoices?customer_id={cus}&limit=100")).await;
    let mut totals: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["total"].as_str().unwrap())
        .collect();
    totals.sort_unstable();
    // The first month at 10, then the whole difference twice (nothing of the period used).
    assert_eq!(totals, ["10.00", "20.00", "20.00"], "{list}");
}

/// What a customer paid tax on comes back with its tax: an immediate downgrade and an
/// immediate cancellation credit the unused time at the fee's rates.
async fn credits_of_unused_time_give_the_tax_back(s: TestServer) {
    let vat = rate(&s, "VAT", "19", false).await;
    for (code, amount) in [("big", "30.00"), ("small", "10.00")] {
        let r = post(
            &s,
            "/v1/plans",
            json!({"code": code, "name": code, "currency": "EUR", "interval": "month",
                   "amount": amount, "tax_rate_ids": [vat]}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let (_, cus, sub) = subscriber_on_clock(&s, "Downgrader", "big").await;
    let w = wallet(&s, &cus, "EUR", "0.01").await;
    // At the first instant nothing of March is used: 30 back, 10 charged, 20 + 19% credited.
    let change = json!({"plan": "small", "at": "immediately"});
    let preview = post(
        &s,
        &format!("/v1/subscriptions/{sub}/change/preview"),
        change.clone(),
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["net"], "-20.00");
    assert_eq!(preview.body["total_tax"], "-3.80");
    assert_eq!(preview.body["total"], "-23.80", "{}", preview.body);
    let r = post(&s, &format!("/v1/subscriptions/{sub}/change"), change).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(&s, &format!("/v1/wallets/{w}")).await["balance"],
        "2380"
    );

    // Cancelled at once: the small plan's 10 + 19% back.
    let r = post(
        &s,
        &format!("/v1/subscriptions/{sub}/cancel"),
        json!({"at": "immediately", "unused": "wallet_credit"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(&s, &format!("/v1/wallets/{w}")).await["balance"],
        "3570"
    );
}
