//! Discounts over HTTP: coupons (a percentage, or an amount in one currency, for a said
//! number of periods) and promotion codes (unique per account whatever their case), their
//! limits, archiving and deactivating, and bad input that stores nothing.

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::fixtures::{created, customer, id};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    coupons_are_created_listed_and_archived,
    bad_coupons_are_named_and_store_nothing,
    promotion_codes_are_unique_whatever_their_case,
    bad_promotion_codes_are_named_and_store_nothing,
);

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect()
}

async fn coupons_are_created_listed_and_archived(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "EUR", "interval": "month", "amount": "20.00"}),
    )
    .await;
    let r = post(
        &s,
        "/v1/coupons",
        json!({"name": "Launch", "percent_off": "25.50", "duration": "repeating",
               "duration_in_periods": 3, "max_redemptions": 100, "plan_codes": ["pro"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let b = &r.body;
    assert!(b["id"].as_str().unwrap().starts_with("cpn_"));
    assert_eq!(b["percent_off"], "25.5");
    assert_eq!(b["amount_off"], Value::Null);
    assert_eq!(b["duration"], "repeating");
    assert_eq!(b["duration_in_periods"], 3);
    assert_eq!(b["times_redeemed"], 0);
    assert_eq!(b["plan_codes"], json!(["pro"]));
    assert_eq!(b["active"], true);
    let launch = id(&r);
    assert_eq!(get(&s, &format!("/v1/coupons/{launch}")).await, *b);

    let r = post(
        &s,
        "/v1/coupons",
        json!({"name": "Five off", "amount_off": "5", "currency": "eur", "duration": "forever"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["amount_off"], "5.00");
    assert_eq!(r.body["currency"], "EUR");
    let five = id(&r);
    assert_eq!(
        ids(&get(&s, "/v1/coupons").await),
        [five.as_str(), launch.as_str()],
        "newest first"
    );

    let archived = post(&s, &format!("/v1/coupons/{launch}/archive"), json!({})).await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    assert_eq!(archived.body["active"], false);
    let again = post(&s, &format!("/v1/coupons/{launch}/archive"), json!({})).await;
    assert_eq!(
        again.body["archived_at"], archived.body["archived_at"],
        "idempotent"
    );
    assert_eq!(
        ids(&get(&s, "/v1/coupons?active=true").await),
        [five.as_str()]
    );
    assert_eq!(
        ids(&get(&s, "/v1/coupons?active=false").await),
        [launch.as_str()]
    );

    // Another account's coupon is not found, nor is a malformed id.
    send(
        s.request(Method::GET, &format!("/v1/coupons/{launch}"))
            .header("x-api-key", s.other_tenant_key()),
    )
    .await
    .assert_problem(404, "coupon_not_found");
    send(s.admin(Method::GET, "/v1/coupons/cpn_nope"))
        .await
        .assert_problem(404, "coupon_not_found");
}

async fn bad_coupons_are_named_and_store_nothing(s: TestServer) {
    for (body, fields) in [
        (
            json!({"name": "X", "percent_off": "10", "amount_off": "5", "currency": "EUR", "duration": "once"}),
            vec!["amount_off"],
        ),
        (
            json!({"name": "X", "duration": "once"}),
            vec!["percent_off"],
        ),
        (
            json!({"name": "X", "percent_off": "100.01", "duration": "once"}),
            vec!["percent_off"],
        ),
        (
            json!({"name": "X", "percent_off": "-5", "duration": "once"}),
            vec!["percent_off"],
        ),
        (
            json!({"name": "X", "amount_off": "5", "duration": "once"}),
            vec!["currency"],
        ),
        (
            json!({"name": "X", "amount_off": "5.001", "currency": "EUR", "duration": "once"}),
            vec!["amount_off"],
        ),
        (
            json!({"name": "X", "amount_off": "5", "currency": "EURO", "duration": "once"}),
            vec!["currency"],
        ),
        (json!({"name": "X", "percent_off": "10"}), vec!["duration"]),
        (
            json!({"name": "X", "percent_off": "10", "duration": "repeating"}),
            vec!["duration_in_periods"],
        ),
        (
            json!({"name": "X", "percent_off": "10", "duration": "forever", "duration_in_periods": 2}),
            vec!["duration_in_periods"],
        ),
        (
            json!({"name": "X", "percent_off": "10", "duration": "once", "max_redemptions": 0}),
            vec!["max_redemptions"],
        ),
        (
            json!({"name": "X", "percent_off": "10", "duration": "once", "redeem_by": "2020-01-01T00:00:00Z"}),
            vec!["redeem_by"],
        ),
        (
            json!({"name": "X", "percent_off": "10", "duration": "once", "plan_codes": ["nope"]}),
            vec!["plan_codes[0]"],
        ),
        (
            json!({"name": " ", "percent_off": "10", "duration": "once"}),
            vec!["name"],
        ),
    ] {
        let r = post(&s, "/v1/coupons", body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), fields, "{body}: {}", r.body);
    }
    assert_eq!(
        get(&s, "/v1/coupons").await["data"],
        json!([]),
        "nothing stored"
    );
}

async fn promotion_codes_are_unique_whatever_their_case(s: TestServer) {
    let coupon = id(&created(
        &s,
        "/v1/coupons",
        json!({"name": "Launch", "percent_off": "20", "duration": "once"}),
    )
    .await);
    let cus = customer(&s, json!({"name": "Chosen"})).await;
    let r = post(
        &s,
        "/v1/promotion_codes",
        json!({"coupon_id": coupon, "code": "Launch-20", "max_redemptions": 5,
               "expires_at": "2099-01-01T00:00:00Z", "customer_id": cus, "first_time_only": true}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let b = &r.body;
    assert!(b["id"].as_str().unwrap().starts_with("promo_"));
    assert_eq!(b["code"], "Launch-20");
    assert_eq!(b["coupon_id"], coupon.as_str());
    assert_eq!(b["customer_id"], cus.as_str());
    assert_eq!(b["first_time_only"], true);
    assert_eq!(b["times_redeemed"], 0);
    let promo = id(&r);
    assert_eq!(get(&s, &format!("/v1/promotion_codes/{promo}")).await, *b);

    // Another case of the same code is the same code; racing creations make one.
    post(
        &s,
        "/v1/promotion_codes",
        json!({"coupon_id": coupon, "code": "LAUNCH-20"}),
    )
    .await
    .assert_problem(409, "promotion_code_taken");
    let raced = join_all((0..16).map(|i| {
        let code = if i % 2 == 0 { "SPRING" } else { "spring" };
        post(
            &s,
            "/v1/promotion_codes",
            json!({"coupon_id": coupon, "code": code}),
        )
    }))
    .await;
    assert_eq!(raced.iter().filter(|r| r.status == 201).count(), 1);
    for r in raced.iter().filter(|r| r.status != 201) {
        r.assert_problem(409, "promotion_code_taken");
    }
    // Found by code whatever its case; another account may have the same code.
    assert_eq!(
        ids(&get(&s, "/v1/promotion_codes?code=launch-20").await),
        [promo.as_str()]
    );
    let other = s.other_tenant_key();
    let theirs = send(
        s.request(Method::POST, "/v1/coupons")
            .header("x-api-key", &other)
            .json(&json!({"name": "Theirs", "percent_off": "5", "duration": "once"})),
    )
    .await;
    let theirs = send(
        s.request(Method::POST, "/v1/promotion_codes")
            .header("x-api-key", &other)
            .json(&json!({"coupon_id": theirs.body["id"], "code": "launch-20"})),
    )
    .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);

    let off = post(
        &s,
        &format!("/v1/promotion_codes/{promo}/deactivate"),
        json!({}),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(
        ids(&get(
            &s,
            &format!("/v1/promotion_codes?coupon_id={coupon}&active=false")
        )
        .await),
        [promo.as_str()]
    );
    send(
        s.request(Method::GET, &format!("/v1/promotion_codes/{promo}"))
            .header("x-api-key", s.other_tenant_key()),
    )
    .await
    .assert_problem(404, "promotion_code_not_found");
}

async fn bad_promotion_codes_are_named_and_store_nothing(s: TestServer) {
    let coupon = id(&created(
        &s,
        "/v1/coupons",
        json!({"name": "Old", "percent_off": "20", "duration": "once"}),
    )
    .await);
    let archived = id(&created(
        &s,
        "/v1/coupons",
        json!({"name": "Gone", "percent_off": "20", "duration": "once"}),
    )
    .await);
    post(&s, &format!("/v1/coupons/{archived}/archive"), json!({})).await;
    for (body, fields) in [
        (
            json!({"coupon_id": "cpn_nope", "code": "A"}),
            vec!["coupon_id"],
        ),
        (
            json!({"coupon_id": archived, "code": "A"}),
            vec!["coupon_id"],
        ),
        (
            json!({"coupon_id": coupon, "code": "two words"}),
            vec!["code"],
        ),
        (json!({"coupon_id": coupon, "code": ""}), vec!["code"]),
        (
            json!({"coupon_id": coupon, "code": "A", "max_redemptions": 0}),
            vec!["max_redemptions"],
        ),
        (
            json!({"coupon_id": coupon, "code": "A", "expires_at": "2020-01-01T00:00:00Z"}),
            vec!["expires_at"],
        ),
        (
            json!({"coupon_id": coupon, "code": "A", "customer_id": "cus_nope"}),
            vec!["customer_id"],
        ),
    ] {
        let r = post(&s, "/v1/promotion_codes", body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), fields, "{body}: {}", r.body);
    }
    assert_eq!(
        get(&s, "/v1/promotion_codes").await["data"],
        json!([]),
        "nothing stored"
    );
}
