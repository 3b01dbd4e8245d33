//! Discounts and seats on subscriptions over HTTP, on a frozen test clock: a percentage off
//! before tax for its periods (previewed, renewed and credited alike), an amount off period
//! invoices only, seats charged and prorated per seat, a 100% coupon that makes a paid zero
//! invoice, redemptions counted exactly once under 32 racing requests, bad input that changes
//! nothing, and the customer's side: codes redeemed in the portal, discounted plans and the
//! retention offer that never blocks a cancel.

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::fixtures::{created, customer, id, portal_session, token};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    a_percentage_comes_off_before_tax_for_its_periods,
    seats_are_charged_and_prorated_per_seat_with_an_amount_off,
    a_full_discount_makes_a_paid_zero_invoice,
    racing_redemptions_never_pass_the_limit,
    bad_discounts_change_nothing,
    the_customer_redeems_codes_and_is_offered_to_stay_once,
);

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

async fn clock(s: &TestServer, at: &str) -> String {
    id(&created(s, "/v1/test_clocks", json!({"frozen_time": at})).await)
}

/// Advances the clock to `to` and waits until it is there.
async fn advance(s: &TestServer, clock: &str, to: &str) {
    let r = post(
        s,
        &format!("/v1/test_clocks/{clock}/advance"),
        json!({"to": to}),
    )
    .await;
    assert_eq!(r.status, 200, "advance to {to}: {}", r.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let c = get(s, &format!("/v1/test_clocks/{clock}")).await;
        if c["status"] == "ready" {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "still advancing: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The subscription's invoices, oldest first.
async fn invoices_of(s: &TestServer, sub: &str) -> Vec<Value> {
    let mut list = get(s, &format!("/v1/invoices?subscription_id={sub}&limit=100")).await["data"]
        .as_array()
        .unwrap()
        .clone();
    list.reverse();
    list
}

async fn subscribe(s: &TestServer, body: Value) -> Reply {
    post(s, "/v1/subscriptions", body).await
}

async fn coupon(s: &TestServer, body: Value) -> String {
    id(&created(s, "/v1/coupons", body).await)
}

async fn code(s: &TestServer, body: Value) -> String {
    id(&created(s, "/v1/promotion_codes", body).await)
}

async fn events(s: &TestServer, kind: &str) -> Vec<Value> {
    get(s, &format!("/v1/webhook_events?type={kind}&limit=100")).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn a_percentage_comes_off_before_tax_for_its_periods(s: TestServer) {
    let vat = id(&created(
        &s,
        "/v1/tax_rates",
        json!({"name": "VAT", "percentage": "19", "inclusive": false}),
    )
    .await);
    created(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "EUR", "interval": "month",
               "amount": "20.00", "tax_rate_ids": [vat]}),
    )
    .await;
    let cpn = coupon(
        &s,
        json!({"name": "Launch 25%", "percent_off": "25", "duration": "repeating",
               "duration_in_periods": 2, "plan_codes": ["pro"]}),
    )
    .await;
    let promo = code(&s, json!({"coupon_id": cpn, "code": "Save25"})).await;
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    let cus = customer(&s, json!({"name": "Discounted", "test_clock": c})).await;
    let sub = subscribe(
        &s,
        json!({"customer_id": cus, "plan": "pro", "promotion_code": "SAVE25"}),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    assert_eq!(sub.body["discount"]["coupon_id"], cpn.as_str());
    assert_eq!(sub.body["discount"]["promotion_code_id"], promo.as_str());
    assert_eq!(sub.body["discount"]["percent_off"], "25");
    assert_eq!(
        sub.body["discount"]["periods_left"], 1,
        "the first invoice took one"
    );
    let sub = id(&sub);

    // 20.00 less 25% = 15.00, taxed 19% = 2.85: 17.85.
    let first = &invoices_of(&s, &sub).await[0];
    assert_eq!(first["subtotal"], "20.00");
    assert_eq!(first["total_discount"], "5.00");
    assert_eq!(first["lines"][0]["discount_amount"], "5");
    assert_eq!(first["total_tax"], "2.85");
    assert_eq!(first["tax_amounts"][0]["taxable_amount"], "15.00");
    assert_eq!(first["total"], "17.85");
    assert_eq!(
        first["discounts"],
        json!([{"coupon_id": cpn, "name": "Launch 25%", "amount": "5.00"}])
    );
    let pdf = s
        .admin(
            Method::GET,
            &format!("/v1/invoices/{}/pdf", first["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    let text = tests::fixtures::pdf_text(&pdf.bytes().await.unwrap()).1;
    assert!(text.contains("Discount: Launch 25%"), "{text}");

    // The second period: previewed, then billed to the cent; then the coupon is used up.
    let upcoming = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    assert_eq!(upcoming["total_discount"], "5.00");
    assert_eq!(upcoming["total"], "17.85");
    advance(&s, &c, "2027-02-01T00:00:00Z").await;
    let second = &invoices_of(&s, &sub).await[1];
    assert_eq!(second["total"], upcoming["total"]);
    assert_eq!(
        second["lines"],
        upcoming["lines"]
            .clone()
            .as_array()
            .map_or(json!(null), |l| {
                // Line ids are made when issued; everything else agrees.
                let mut l = l.clone();
                for (i, line) in l.iter_mut().enumerate() {
                    line["id"] = second["lines"][i]["id"].clone();
                }
                json!(l)
            })
    );
    let after = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert!(after["discount"].is_null(), "used up: {after}");
    assert_eq!(events(&s, "discount.removed").await.len(), 1);
    assert_eq!(events(&s, "discount.applied").await.len(), 1);
    let upcoming = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    assert_eq!(upcoming["total"], "23.80", "full price again");
    advance(&s, &c, "2027-03-01T00:00:00Z").await;
    assert_eq!(invoices_of(&s, &sub).await[2]["total"], "23.80");
    assert_eq!(
        get(&s, &format!("/v1/coupons/{cpn}")).await["times_redeemed"],
        1
    );
    assert_eq!(
        get(&s, &format!("/v1/promotion_codes/{promo}")).await["times_redeemed"],
        1
    );

    // A credit note credits what the line charged after its discount, never more.
    let inv = first["id"].as_str().unwrap();
    let line = first["lines"][0]["id"].as_str().unwrap();
    post(
        &s,
        &format!("/v1/invoices/{inv}/credit_notes"),
        json!({"lines": [{"invoice_line_id": line, "amount": "15.01"}], "reason": "order_change"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let note = post(
        &s,
        &format!("/v1/invoices/{inv}/credit_notes"),
        json!({"lines": [{"invoice_line_id": line, "amount": "15.00"}], "reason": "order_change"}),
    )
    .await;
    assert_eq!(note.status, 201, "{}", note.body);
    assert_eq!(note.body["total_tax"], "2.85");
    assert_eq!(note.body["total"], "17.85");
}

async fn seats_are_charged_and_prorated_per_seat_with_an_amount_off(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "team", "name": "Team", "currency": "EUR", "interval": "month",
               "amount": "10.00", "quantity": {"min": 1, "max": 10}}),
    )
    .await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "usd", "name": "Dollar", "currency": "USD", "interval": "month",
               "amount": "10.00"}),
    )
    .await;
    let five_off = coupon(
        &s,
        json!({"name": "Five off", "amount_off": "5.00", "currency": "EUR", "duration": "forever"}),
    )
    .await;
    let c = clock(&s, "2027-04-01T00:00:00Z").await;
    let cus = customer(&s, json!({"name": "Seats", "test_clock": c})).await;
    // An amount in another currency than the subscription's is refused, and nothing is made.
    let r = subscribe(
        &s,
        json!({"customer_id": cus, "plan": "usd", "coupon_id": five_off}),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), ["coupon_id"]);
    let r = subscribe(
        &s,
        json!({"customer_id": cus, "plan": "team", "quantity": 11}),
    )
    .await;
    assert_eq!(r.fields(), ["quantity"]);
    let r = subscribe(
        &s,
        json!({"customer_id": cus, "plan": "team", "quantity": 0}),
    )
    .await;
    assert_eq!(r.fields(), ["quantity"]);
    assert_eq!(get(&s, "/v1/subscriptions").await["data"], json!([]));
    assert_eq!(
        get(&s, &format!("/v1/coupons/{five_off}")).await["times_redeemed"],
        0
    );

    let sub = subscribe(
        &s,
        json!({"customer_id": cus, "plan": "team", "quantity": 3, "coupon_id": five_off}),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    assert_eq!(sub.body["quantity"], 3);
    let sub = id(&sub);
    let first = &invoices_of(&s, &sub).await[0];
    assert_eq!(first["lines"][0]["quantity"], "3");
    assert_eq!(first["lines"][0]["unit_amount"], "10");
    assert_eq!(first["lines"][0]["amount"], "30");
    assert_eq!(first["total_discount"], "5.00");
    assert_eq!(first["total"], "25.00");

    // Mid-April (day 16 of 30: 15 days left), 3 → 5 seats: unused 3 × 5.00 back, remaining
    // 5 × 5.00 charged at once. The amount off is for period invoices only.
    advance(&s, &c, "2027-04-16T00:00:00Z").await;
    let change = format!("/v1/subscriptions/{sub}/change");
    let preview = post(&s, &format!("{change}/preview"), json!({"quantity": 5})).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["quantity"], 5);
    assert_eq!(preview.body["upgrade"], true);
    assert_eq!(preview.body["at"], "immediately");
    let amounts: Vec<&str> = preview.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["-15", "25"]);
    assert_eq!(preview.body["total"], "10.00");
    let changed = post(&s, &change, json!({"quantity": 5})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["quantity"], 5);
    let prorated = &invoices_of(&s, &sub).await[1];
    assert_eq!(prorated["total"], preview.body["total"]);
    assert_eq!(prorated["total_discount"], "0.00");

    // Outside the plan's limits, or not a positive whole number: refused, nothing changes.
    for bad in [
        json!({"quantity": 11}),
        json!({"quantity": 0}),
        json!({"quantity": 5}),
    ] {
        assert_eq!(post(&s, &change, bad).await.fields(), ["quantity"]);
    }
    for bad in [
        json!({"quantity": "two"}),
        json!({"quantity": 2.5}),
        json!({"quantity": -1}),
    ] {
        let r = post(&s, &change, bad).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), ["quantity"]);
    }
    assert_eq!(invoices_of(&s, &sub).await.len(), 2);

    // Fewer seats wait for the period's end; the renewal charges them, less the amount off.
    let fewer = post(&s, &change, json!({"quantity": 2})).await;
    assert_eq!(fewer.status, 200, "{}", fewer.body);
    assert_eq!(fewer.body["quantity"], 5);
    assert_eq!(fewer.body["pending_quantity"], 2);
    let upcoming = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    assert_eq!(upcoming["total"], "15.00");
    advance(&s, &c, "2027-05-01T00:00:00Z").await;
    let renewal = &invoices_of(&s, &sub).await[2];
    assert_eq!(renewal["lines"][0]["quantity"], "2");
    assert_eq!(renewal["total"], upcoming["total"]);
    let now = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert_eq!(
        (now["quantity"].clone(), now["pending_quantity"].clone()),
        (json!(2), Value::Null)
    );
    let changed = events(&s, "subscription.changed").await;
    assert!(
        changed
            .iter()
            .any(|e| e["payload"]["data"]["quantity"] == 5),
        "{changed:?}"
    );
}

async fn a_full_discount_makes_a_paid_zero_invoice(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "EUR", "interval": "month", "amount": "20.00"}),
    )
    .await;
    let free = coupon(
        &s,
        json!({"name": "Free month", "percent_off": "100", "duration": "once"}),
    )
    .await;
    let cus = customer(&s, json!({"name": "Free"})).await;
    let sub = subscribe(
        &s,
        json!({"customer_id": cus, "plan": "pro", "coupon_id": free}),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    assert!(
        sub.body["discount"].is_null(),
        "once: used up by the first invoice"
    );
    let first = &invoices_of(&s, &id(&sub)).await[0];
    assert_eq!(first["total"], "0.00");
    assert_eq!(first["amount_due"], "0.00");
    assert_eq!(first["payment_status"], "paid", "{first}");
    let upcoming = get(
        &s,
        &format!("/v1/subscriptions/{}/upcoming_invoice", id(&sub)),
    )
    .await;
    assert_eq!(upcoming["total"], "20.00");
}

async fn racing_redemptions_never_pass_the_limit(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "EUR", "interval": "month", "amount": "20.00"}),
    )
    .await;
    let cpn = coupon(
        &s,
        json!({"name": "Few", "percent_off": "10", "duration": "forever"}),
    )
    .await;
    let promo = code(
        &s,
        json!({"coupon_id": cpn, "code": "FIVE", "max_redemptions": 5}),
    )
    .await;
    let mut subs = Vec::new();
    for i in 0..32 {
        let cus = customer(&s, json!({"name": format!("Racer {i}")})).await;
        let sub = subscribe(&s, json!({"customer_id": cus, "plan": "pro"})).await;
        assert_eq!(sub.status, 201, "{}", sub.body);
        subs.push(id(&sub));
    }
    let replies = join_all(subs.iter().map(|sub| {
        send(
            s.admin(Method::POST, &format!("/v1/subscriptions/{sub}/discount"))
                .json(&json!({"promotion_code": "five"})),
        )
    }))
    .await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        won,
        5,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), ["promotion_code"]);
    }
    assert_eq!(
        get(&s, &format!("/v1/promotion_codes/{promo}")).await["times_redeemed"],
        5
    );
    assert_eq!(
        get(&s, &format!("/v1/coupons/{cpn}")).await["times_redeemed"],
        5
    );
    let mut discounted = 0;
    for sub in &subs {
        if !get(&s, &format!("/v1/subscriptions/{sub}")).await["discount"].is_null() {
            discounted += 1;
        }
    }
    assert_eq!(discounted, 5);
    assert_eq!(events(&s, "discount.applied").await.len(), 5);
}

async fn bad_discounts_change_nothing(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "EUR", "interval": "month", "amount": "20.00"}),
    )
    .await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "basic", "name": "Basic", "currency": "EUR", "interval": "month", "amount": "5.00"}),
    )
    .await;
    let cpn = coupon(
        &s,
        json!({"name": "Ten", "percent_off": "10", "duration": "forever"}),
    )
    .await;
    let basic_only = coupon(
        &s,
        json!({"name": "Basic only", "percent_off": "10", "duration": "once", "plan_codes": ["basic"]}),
    )
    .await;
    let archived = coupon(
        &s,
        json!({"name": "Old", "percent_off": "10", "duration": "once"}),
    )
    .await;
    post(&s, &format!("/v1/coupons/{archived}/archive"), json!({})).await;
    let cus = customer(&s, json!({"name": "Careful"})).await;
    let other = customer(&s, json!({"name": "Someone else"})).await;
    code(
        &s,
        json!({"coupon_id": cpn, "code": "ONCE", "max_redemptions": 1}),
    )
    .await;
    let off = code(&s, json!({"coupon_id": cpn, "code": "OFF"})).await;
    post(
        &s,
        &format!("/v1/promotion_codes/{off}/deactivate"),
        json!({}),
    )
    .await;
    code(
        &s,
        json!({"coupon_id": cpn, "code": "THEIRS", "customer_id": other}),
    )
    .await;
    code(&s, json!({"coupon_id": basic_only, "code": "BASIC"})).await;
    let sub = id(&subscribe(&s, json!({"customer_id": cus, "plan": "pro"})).await);
    let used = id(&subscribe(&s, json!({"customer_id": other, "plan": "pro"})).await);
    let apply = |sub: String, body: Value| {
        let s = &s;
        async move { post(s, &format!("/v1/subscriptions/{sub}/discount"), body).await }
    };
    assert_eq!(
        apply(used.clone(), json!({"promotion_code": "once"}))
            .await
            .status,
        200
    );
    // Another account's code is no code of this one.
    let other_key = s.other_tenant_key();
    let r = send(
        s.request(Method::POST, "/v1/coupons")
            .header("x-api-key", &other_key)
            .json(&json!({"name": "Theirs", "percent_off": "50", "duration": "once"})),
    )
    .await;
    let foreign = id(&r);
    send(
        s.request(Method::POST, "/v1/promotion_codes")
            .header("x-api-key", &other_key)
            .json(&json!({"coupon_id": foreign, "code": "ELSEWHERE"})),
    )
    .await;
    for (body, field) in [
        (json!({"promotion_code": "ONCE"}), "promotion_code"),
        (json!({"promotion_code": "OFF"}), "promotion_code"),
        (json!({"promotion_code": "THEIRS"}), "promotion_code"),
        (json!({"promotion_code": "BASIC"}), "promotion_code"),
        (json!({"promotion_code": "ELSEWHERE"}), "promotion_code"),
        (json!({"promotion_code": "nope"}), "promotion_code"),
        (json!({"coupon_id": archived}), "coupon_id"),
        (
            json!({"coupon_id": cpn, "promotion_code": "OFF"}),
            "promotion_code",
        ),
        (json!({}), "coupon_id"),
    ] {
        let r = apply(sub.clone(), body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{body}: {}", r.body);
    }
    apply(sub.clone(), json!({"coupon_id": foreign}))
        .await
        .assert_problem(404, "coupon_not_found");

    // Expiry is the customer's time (their test clock's): a code past it is refused.
    code(
        &s,
        json!({"coupon_id": cpn, "code": "SUMMER", "expires_at": "2099-01-01T00:00:00Z"}),
    )
    .await;
    let later = clock(&s, "2099-06-01T00:00:00Z").await;
    let late = customer(&s, json!({"name": "Late", "test_clock": later})).await;
    let late_sub = id(&subscribe(&s, json!({"customer_id": late, "plan": "pro"})).await);
    let r = apply(late_sub, json!({"promotion_code": "summer"})).await;
    assert_eq!(r.fields(), ["promotion_code"]);
    assert_eq!(r.body["errors"][0]["message"], "has expired");
    // First purchases only: refused once the customer has paid something.
    code(
        &s,
        json!({"coupon_id": basic_only, "code": "FIRST", "first_time_only": true}),
    )
    .await;
    let paid = get(&s, &format!("/v1/invoices?subscription_id={used}")).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        &s,
        &format!("/v1/invoices/{paid}/payments"),
        json!({"amount": "20.00", "method": "external"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = apply(used.clone(), json!({"promotion_code": "FIRST"})).await;
    assert_eq!(r.fields(), ["promotion_code"]);
    assert_eq!(
        r.body["errors"][0]["message"],
        "is for first purchases only"
    );
    send(s.admin(Method::DELETE, &format!("/v1/subscriptions/{sub}/discount")))
        .await
        .assert_problem(404, "discount_not_found");
    let after = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert!(after["discount"].is_null(), "{after}");
    assert_eq!(
        get(&s, &format!("/v1/coupons/{cpn}")).await["times_redeemed"],
        1
    );
    assert_eq!(
        get(&s, &format!("/v1/coupons/{basic_only}")).await["times_redeemed"],
        0
    );

    // Applied, then removed: the next invoice is charged in full again.
    assert_eq!(
        apply(sub.clone(), json!({"coupon_id": cpn})).await.status,
        200
    );
    let up = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    assert_eq!(up["total"], "18.00");
    apply(sub.clone(), json!({"coupon_id": cpn}))
        .await
        .assert_problem(422, "validation_failed");
    let removed = send(s.admin(Method::DELETE, &format!("/v1/subscriptions/{sub}/discount"))).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body["discount"].is_null());
    let up = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    assert_eq!(up["total"], "20.00");
}

async fn the_customer_redeems_codes_and_is_offered_to_stay_once(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "EUR", "interval": "month", "amount": "20.00"}),
    )
    .await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "max", "name": "Max", "currency": "EUR", "interval": "month", "amount": "50.00"}),
    )
    .await;
    let cpn = coupon(
        &s,
        json!({"name": "Twenty", "percent_off": "20", "duration": "forever"}),
    )
    .await;
    code(&s, json!({"coupon_id": cpn, "code": "WELCOME"})).await;
    let stay = coupon(
        &s,
        json!({"name": "Stay: half off", "percent_off": "50", "duration": "repeating", "duration_in_periods": 3}),
    )
    .await;
    let cus = customer(&s, json!({"name": "Portal"})).await;
    let stranger = customer(&s, json!({"name": "Stranger"})).await;
    let sub = id(&subscribe(&s, json!({"customer_id": cus, "plan": "pro"})).await);
    let theirs = id(&subscribe(&s, json!({"customer_id": stranger, "plan": "pro"})).await);

    let read_only = token(&portal_session(&s, json!({"customer_id": cus})).await);
    let redeem = |t: String, sub: String| {
        let s = &s;
        async move {
            send(
                s.portal(
                    Method::POST,
                    &format!("/v1/portal/subscriptions/{sub}/discount"),
                    &t,
                )
                .json(&json!({"promotion_code": "welcome"})),
            )
            .await
        }
    };
    redeem(read_only, sub.clone())
        .await
        .assert_problem(403, "action_not_allowed");
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": cus, "permissions": {
                "promotion_code_redeem": {"enabled": true},
                "subscription_cancel": {"enabled": true}}}),
        )
        .await,
    );
    redeem(t.clone(), theirs.clone())
        .await
        .assert_problem(404, "subscription_not_found");
    let r = redeem(t.clone(), sub.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["discount"]["name"], "Twenty");
    let audit = get(&s, "/v1/audit_events?action=subscription.discount_applied").await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");

    // Plans show their fee with the customer's discount.
    let plans = send(s.portal(Method::GET, "/v1/portal/plans", &t)).await;
    let max = plans.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "max")
        .unwrap()
        .clone();
    assert_eq!(max["amount"], "50.00");
    assert_eq!(max["discount"]["amount"], "40.00");

    // No retention coupon set: nothing to offer.
    let offer = format!("/v1/portal/subscriptions/{sub}/retention_offer");
    let none = send(s.portal(Method::GET, &offer, &t)).await;
    assert_eq!(none.status, 200, "{}", none.body);
    assert!(none.body["offer"].is_null(), "{}", none.body);
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"retention_coupon_id": "cpn_nope"})),
    )
    .await;
    assert_eq!(r.fields(), ["retention_coupon_id"]);
    let r = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"retention_coupon_id": stay})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = send(s.portal(Method::GET, &offer, &t)).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["subscription_id"], sub.as_str());
    assert_eq!(shown.body["offer"]["coupon_id"], stay.as_str());
    assert_eq!(shown.body["offer"]["percent_off"], "50");
    let cancel = send(
        s.portal(
            Method::POST,
            &format!("/v1/portal/subscriptions/{sub}/cancel"),
            &t,
        )
        .json(&json!({"reason": "too_expensive"})),
    )
    .await;
    assert_eq!(
        cancel.status, 200,
        "an offer never blocks a cancel: {}",
        cancel.body
    );
    let accepted = send(s.portal(Method::POST, &format!("{offer}/accept"), &t)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["discount"]["coupon_id"], stay.as_str());
    assert_eq!(
        accepted.body["cancel_at_period_end"], true,
        "the cancel stays as asked"
    );
    // Once per subscription.
    assert!(send(s.portal(Method::GET, &offer, &t)).await.body["offer"].is_null());
    send(s.portal(Method::POST, &format!("{offer}/accept"), &t))
        .await
        .assert_problem(409, "retention_offer_unavailable");
    assert_eq!(
        get(&s, &format!("/v1/coupons/{stay}")).await["times_redeemed"],
        1
    );
}
