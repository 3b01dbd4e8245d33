//! Usage metering over HTTP: features, deduplicated ingestion, rollups, analytics.

use std::collections::HashMap;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    features_and_event_outcomes,
    concurrent_duplicates_count_once,
    rollups_match_the_raw_events,
    days_are_cut_in_the_customer_time_zone,
    portal_usage_is_the_customer_own,
    overview_is_the_dashboard_in_one_call,
);

async fn customer(s: &TestServer, ext: &str, tz: &str) -> String {
    tests::fixtures::customer(s, json!({"name": ext, "external_id": ext, "timezone": tz})).await
}

async fn features(s: &TestServer) {
    for body in [
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count", "unit_price": "0.002", "currency": "USD"}),
        json!({"key": "bytes", "name": "Bandwidth", "unit": "MB", "aggregation": "sum", "value_property": "mb", "unit_price": "0.01", "currency": "USD"}),
        json!({"key": "seats", "name": "Seats", "unit": "seats", "aggregation": "max", "value_property": "n", "unit_price": "5", "currency": "USD"}),
    ] {
        tests::fixtures::feature(s, body).await;
    }
}

async fn batch(s: &TestServer, events: Vec<Value>) -> Reply {
    send(
        s.admin(Method::POST, "/v1/events/batch")
            .json(&json!({"events": events})),
    )
    .await
}

fn d(s: &str) -> BigDecimal {
    BigDecimal::from_str(s).unwrap()
}

async fn features_and_event_outcomes(s: TestServer) {
    features(&s).await;
    send(s.admin(Method::POST, "/v1/features").json(&json!({"key": "api_calls", "name": "x", "unit": "x", "aggregation": "count", "unit_price": "1", "currency": "USD"})))
        .await
        .assert_problem(409, "feature_key_taken");
    send(s.admin(Method::POST, "/v1/features").json(&json!({"key": "gb", "name": "x", "unit": "x", "aggregation": "sum", "unit_price": "1", "currency": "USD"})))
        .await
        .assert_problem(422, "validation_failed");
    let list = send(s.admin(Method::GET, "/v1/features")).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 3);

    let c = customer(&s, "acme", "UTC").await;
    let one = send(
        s.admin(Method::POST, "/v1/events")
            .json(&json!({"event_id": "e-1", "customer_id": c, "feature": "api_calls"})),
    )
    .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["results"][0]["status"], "accepted");
    let again = send(
        s.admin(Method::POST, "/v1/events")
            .json(&json!({"event_id": "e-1", "customer_id": c, "feature": "api_calls"})),
    )
    .await;
    assert_eq!(again.body["results"][0]["status"], "duplicate");
    send(
        s.admin(Method::POST, "/v1/events")
            .json(&json!({"event_id": "e-x", "customer_id": c, "feature": "nope"})),
    )
    .await
    .assert_problem(422, "event_rejected");

    let now = Utc::now();
    let r = batch(&s, vec![
        json!({"event_id": "b-1", "external_customer_id": "acme", "feature": "bytes", "properties": {"mb": "1.5"}}),
        json!({"event_id": "b-1", "external_customer_id": "acme", "feature": "bytes", "properties": {"mb": "1.5"}}),
        json!({"event_id": "b-2", "customer_id": c, "feature": "ghost"}),
        json!({"event_id": "b-3", "external_customer_id": "nobody", "feature": "api_calls"}),
        json!({"event_id": "b-4", "customer_id": c, "feature": "api_calls", "timestamp": (now + Duration::minutes(10)).to_rfc3339()}),
        json!({"event_id": "b-5", "customer_id": c, "feature": "api_calls", "timestamp": (now - Duration::days(40)).to_rfc3339()}),
        json!({"event_id": "b-6", "customer_id": c, "feature": "bytes", "properties": {}}),
        json!({"event_id": "b-7", "customer_id": c, "feature": "seats", "properties": {"n": 3}}),
        json!({"event_id": "e-1", "customer_id": c, "feature": "api_calls"}),
    ])
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let statuses: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec![
            "accepted",
            "duplicate",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "accepted",
            "duplicate"
        ]
    );
    assert_eq!(
        (
            r.body["accepted"].as_u64(),
            r.body["duplicates"].as_u64(),
            r.body["rejected"].as_u64()
        ),
        (Some(2), Some(2), Some(5))
    );
    for (i, why) in [
        (2, "unknown feature"),
        (3, "unknown customer"),
        (4, "future"),
        (5, "older than 35 days"),
        (6, "`mb` is missing"),
    ] {
        let reason = r.body["results"][i]["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{reason}");
    }
    let stored = send(s.admin(Method::GET, &format!("/v1/events?customer_id={c}"))).await;
    assert_eq!(
        stored.body["data"].as_array().unwrap().len(),
        3,
        "e-1, b-1, b-7"
    );

    // Malformed events are rejected one by one; the valid ones around them are stored.
    let r = batch(&s, vec![
        json!({"event_id": 5, "customer_id": c, "feature": "api_calls"}),
        json!({"event_id": "m-ok", "customer_id": c, "feature": "api_calls"}),
        json!({"event_id": "m-extra", "customer_id": c, "feature": "api_calls", "colour": "red"}),
        json!("not an object"),
    ])
    .await;
    let statuses: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["rejected", "accepted", "rejected", "rejected"],
        "{}",
        r.body
    );
    assert!(r.body["results"][2]["reason"]
        .as_str()
        .unwrap()
        .contains("colour"));
    assert_eq!(r.body["results"][2]["event_id"], "m-extra");

    batch(&s, vec![])
        .await
        .assert_problem(422, "validation_failed");
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"event_id": format!("m-{i}"), "customer_id": c, "feature": "api_calls"}))
        .collect();
    let r = send(
        s.admin(Method::POST, "/v1/events/batch")
            .json(&json!({"events": too_many})),
    )
    .await;
    assert!(r.status == 422 || r.status == 413, "{}", r.status);
    assert_eq!(
        send(s.admin(Method::GET, &format!("/v1/events?customer_id={c}")))
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "e-1, b-1, b-7 and m-ok; nothing from the refused batches"
    );

    // Archived features take no new events.
    let f = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "seats")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(
        s.admin(Method::PATCH, &format!("/v1/features/{f}"))
            .json(&json!({"archived": true})),
    )
    .await;
    let r = batch(&s, vec![json!({"event_id": "z-1", "customer_id": c, "feature": "seats", "properties": {"n": 1}})]).await;
    assert_eq!(r.body["results"][0]["status"], "rejected");
}

async fn concurrent_duplicates_count_once(s: TestServer) {
    features(&s).await;
    let c = customer(&s, "dups", "UTC").await;
    let events: Vec<Value> = (0..50)
        .map(|i| json!({"event_id": format!("d-{i}"), "customer_id": c, "feature": "api_calls"}))
        .collect();
    let replies = join_all((0..8).map(|_| batch(&s, events.clone()))).await;
    let accepted: u64 = replies
        .iter()
        .map(|r| r.body["accepted"].as_u64().unwrap())
        .sum();
    let duplicates: u64 = replies
        .iter()
        .map(|r| r.body["duplicates"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (accepted, duplicates),
        (50, 350),
        "each event counted once across 8 concurrent batches"
    );
    let usage = send(s.admin(
        Method::GET,
        &format!("/v1/customers/{c}/usage?window=1d&feature=api_calls"),
    ))
    .await;
    assert_eq!(usage.body["breakdown"][0]["events"], 50);
    assert_eq!(usage.body["breakdown"][0]["total_usage"], "50");
    assert_eq!(usage.body["breakdown"][0]["total_cost"], "0.1");
}

async fn rollups_match_the_raw_events(s: TestServer) {
    features(&s).await;
    let c = customer(&s, "prop", "Europe/Berlin").await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let now = Utc::now();
    let mut sent = Vec::new();
    for i in 0..400 {
        let at = now - Duration::minutes(rng.random_range(0..(29 * 24 * 60)));
        let (feature, props) = match rng.random_range(0..3) {
            0 => ("api_calls", json!({})),
            1 => (
                "bytes",
                json!({"mb": format!("{}.{:02}", rng.random_range(0..50), rng.random_range(0..100))}),
            ),
            _ => ("seats", json!({"n": rng.random_range(1..20)})),
        };
        sent.push(json!({"event_id": format!("p-{i}"), "customer_id": c, "feature": feature, "timestamp": at.to_rfc3339(), "properties": props}));
    }
    // Some repeats, which must not count.
    let repeats: Vec<Value> = sent[..40].to_vec();
    for chunk in sent.chunks(100) {
        assert_eq!(
            batch(&s, chunk.to_vec()).await.body["accepted"].as_u64(),
            Some(chunk.len() as u64)
        );
    }
    assert_eq!(
        batch(&s, repeats).await.body["duplicates"].as_u64(),
        Some(40)
    );

    // Recompute from what was sent.
    let mut expect: HashMap<&str, (BigDecimal, i64)> = HashMap::new();
    for e in &sent {
        let f = e["feature"].as_str().unwrap();
        let q = match f {
            "api_calls" => d("1"),
            "bytes" => d(e["properties"]["mb"].as_str().unwrap()),
            _ => BigDecimal::from(e["properties"]["n"].as_i64().unwrap()),
        };
        let slot = expect.entry(f).or_insert((BigDecimal::from(0), 0));
        if f == "seats" {
            if q > slot.0 {
                slot.0 = q;
            }
        } else {
            slot.0 += q;
        }
        slot.1 += 1;
    }
    let usage = send(s.admin(Method::GET, &format!("/v1/customers/{c}/usage?window=30d"))).await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    let price = |f: &str| match f {
        "api_calls" => d("0.002"),
        "bytes" => d("0.01"),
        _ => d("5"),
    };
    for b in usage.body["breakdown"].as_array().unwrap() {
        let f = b["feature"].as_str().unwrap();
        let (total, events) = &expect[f];
        assert_eq!(d(b["total_usage"].as_str().unwrap()), *total, "{f} total");
        assert_eq!(b["events"].as_i64().unwrap(), *events, "{f} events");
        assert_eq!(
            d(b["total_cost"].as_str().unwrap()),
            total * price(f),
            "{f} cost"
        );
    }
    // The daily series add up to the totals (sum features) and events.
    for series in usage.body["series"].as_array().unwrap() {
        let f = series["feature"].as_str().unwrap();
        let points = series["points"].as_array().unwrap();
        assert!(
            (30..=31).contains(&points.len()),
            "{} daily points",
            points.len()
        );
        let events: i64 = points.iter().map(|p| p["events"].as_i64().unwrap()).sum();
        assert_eq!(events, expect[f].1);
        if f != "seats" {
            let sum: BigDecimal = points
                .iter()
                .map(|p| d(p["quantity"].as_str().unwrap()))
                .sum();
            assert_eq!(sum, expect[f].0);
        }
    }
}

async fn days_are_cut_in_the_customer_time_zone(s: TestServer) {
    features(&s).await;
    let c = customer(&s, "tokyo", "Asia/Tokyo").await;
    let today = Utc::now().date_naive();
    // Two days ago at 14:30 and 15:30 UTC: 23:30 and 00:30 in Tokyo, on different local days.
    let day = today - chrono::Days::new(2);
    let at = |h: u32, m: u32| day.and_hms_opt(h, m, 0).unwrap().and_utc();
    batch(&s, vec![
        json!({"event_id": "t-1", "customer_id": c, "feature": "api_calls", "timestamp": at(14, 30).to_rfc3339()}),
        json!({"event_id": "t-2", "customer_id": c, "feature": "api_calls", "timestamp": at(15, 30).to_rfc3339()}),
        json!({"event_id": "t-3", "customer_id": c, "feature": "api_calls", "timestamp": at(16, 0).to_rfc3339()}),
    ])
    .await;
    let from = (at(15, 0) - Duration::days(1)).to_rfc3339(); // local midnight
    let to = (at(15, 0) + Duration::days(1)).to_rfc3339();
    let q = |extra: &str| {
        format!(
            "/v1/customers/{c}/usage?from={}&to={}{extra}",
            from.replace('+', "%2B"),
            to.replace('+', "%2B")
        )
    };
    let r = send(s.admin(Method::GET, &q("&granularity=day&feature=api_calls"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let points = r.body["series"][0]["points"].as_array().unwrap();
    let got: Vec<(String, i64)> = points
        .iter()
        .map(|p| {
            (
                p["t"].as_str().unwrap().to_owned(),
                p["events"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].1, got[1].1),
        (1, 2),
        "23:30 belongs to the first Tokyo day, 00:30 and 01:00 to the next: {got:?}"
    );
    assert!(
        got[1].0.starts_with(&format!("{}T15:00:00", day)),
        "buckets start at Tokyo midnight: {got:?}"
    );
    // Hourly: the window's end is exclusive.
    let hourly_to = at(16, 0).to_rfc3339().replace('+', "%2B");
    let r = send(s.admin(
        Method::GET,
        &format!(
            "/v1/customers/{c}/usage?from={}&to={hourly_to}&granularity=hour",
            at(14, 0).to_rfc3339().replace('+', "%2B")
        ),
    ))
    .await;
    let b = &r.body["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["feature"] == "api_calls")
        .unwrap()
        .clone();
    assert_eq!(b["events"], 2, "16:00 is outside [14:00, 16:00)");
    assert_eq!(r.body["series"][0]["points"].as_array().unwrap().len(), 2);
    send(s.admin(Method::GET, &format!("/v1/customers/{c}/usage?window=2d")))
        .await
        .assert_problem(422, "validation_failed");
    send(s.admin(
        Method::GET,
        &format!("/v1/customers/{c}/usage?window=1d&feature=nope"),
    ))
    .await
    .assert_problem(422, "validation_failed");
    send(s.admin(
        Method::GET,
        "/v1/customers/cus_01jd3x6v9f5m2q8r7t4w0y1z3a/usage",
    ))
    .await
    .assert_problem(404, "customer_not_found");
}

async fn portal_usage_is_the_customer_own(s: TestServer) {
    features(&s).await;
    let a = customer(&s, "alice", "UTC").await;
    let b = customer(&s, "bob", "UTC").await;
    batch(
        &s,
        vec![
            json!({"event_id": "a-1", "customer_id": a, "feature": "api_calls"}),
            json!({"event_id": "b-1", "customer_id": b, "feature": "api_calls"}),
            json!({"event_id": "b-2", "customer_id": b, "feature": "api_calls"}),
        ],
    )
    .await;
    let t = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": a})),
    )
    .await;
    let t = t.body["token"].as_str().unwrap().to_owned();
    let r = send(s.portal(Method::GET, "/v1/portal/usage?window=7d", &t)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["granularity"], "day");
    let calls = r.body["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["feature"] == "api_calls")
        .unwrap()
        .clone();
    assert_eq!(
        (
            calls["events"].as_i64(),
            calls["name"].as_str(),
            calls["unit"].as_str()
        ),
        (Some(1), Some("API calls"), Some("calls"))
    );
    assert_eq!(calls["currency"], "USD");
    let hourly = send(s.portal(Method::GET, "/v1/portal/usage?window=1d", &t)).await;
    assert_eq!(hourly.body["granularity"], "hour");
    let hidden = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": a, "sections": {"usage": {"enabled": false}}})),
    )
    .await;
    send(s.portal(
        Method::GET,
        "/v1/portal/usage",
        hidden.body["token"].as_str().unwrap(),
    ))
    .await
    .assert_problem(403, "section_disabled");
}

async fn overview_is_the_dashboard_in_one_call(s: TestServer) {
    features(&s).await;
    let c = customer(&s, "dash", "UTC").await;
    let w = send(
        s.admin(Method::POST, "/v1/wallets")
            .json(&json!({"customer_id": c, "currency": "USD", "conversion_rate": "0.01"})),
    )
    .await;
    let w = w.body["id"].as_str().unwrap().to_owned();
    send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .json(&json!({"credits": "2500"})),
    )
    .await;
    let inv = send(s.admin(Method::POST, "/v1/invoices").json(&json!({"customer_id": c, "currency": "USD", "due_at": "2000-01-01T00:00:00Z", "lines": [{"description": "Plan", "quantity": "1", "unit_amount": "30"}]}))).await;
    send(s.admin(
        Method::POST,
        &format!("/v1/invoices/{}/finalize", inv.body["id"].as_str().unwrap()),
    ))
    .await;
    batch(
        &s,
        (0..5)
            .map(
                |i| json!({"event_id": format!("o-{i}"), "customer_id": c, "feature": "api_calls"}),
            )
            .collect(),
    )
    .await;

    let admin = send(s.admin(Method::GET, &format!("/v1/customers/{c}/overview"))).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_eq!(admin.body["wallets"][0]["balance"], "2500");
    assert_eq!(admin.body["wallets"][0]["balance_value"], "25.00");
    assert_eq!(
        admin.body["outstanding"],
        json!([{"currency": "USD", "outstanding": "30.00", "overdue": "30.00", "open_invoices": 1}])
    );
    let calls = admin.body["usage_7d"]["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["feature"] == "api_calls")
        .unwrap()
        .clone();
    assert_eq!(
        (calls["events"].as_i64(), calls["total_cost"].as_str()),
        (Some(5), Some("0.01"))
    );
    assert!((7..=8).contains(
        &admin.body["usage_7d"]["series"][0]["points"]
            .as_array()
            .unwrap()
            .len()
    ));

    let t = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": c})),
    )
    .await;
    let portal = send(s.portal(
        Method::GET,
        "/v1/portal/overview",
        t.body["token"].as_str().unwrap(),
    ))
    .await;
    // The same dashboard (the window's edges are "now", so they differ by a few milliseconds).
    let without_window = |mut v: Value| {
        let u = v["usage_7d"].as_object_mut().unwrap();
        u.remove("from");
        u.remove("to");
        v
    };
    assert_eq!(
        without_window(portal.body.clone()),
        without_window(admin.body.clone()),
        "the customer sees what the merchant sees"
    );
    let no_credits = send(s.admin(Method::POST, "/v1/portal_sessions").json(&json!({"customer_id": c, "invalidate_existing": false, "sections": {"credits": {"enabled": false}}}))).await;
    let partial = send(s.portal(
        Method::GET,
        "/v1/portal/overview",
        no_credits.body["token"].as_str().unwrap(),
    ))
    .await;
    assert_eq!(
        partial.body["wallets"],
        Value::Null,
        "a disabled section stays hidden in the overview"
    );
    assert!(partial.body["outstanding"].is_array());
    let off = send(s.admin(Method::POST, "/v1/portal_sessions").json(&json!({"customer_id": c, "invalidate_existing": false, "sections": {"overview": {"enabled": false}}}))).await;
    send(s.portal(
        Method::GET,
        "/v1/portal/overview",
        off.body["token"].as_str().unwrap(),
    ))
    .await
    .assert_problem(403, "section_disabled");
    let other = s.other_tenant_key();
    send(
        s.request(Method::GET, &format!("/v1/customers/{c}/overview"))
            .header("x-api-key", other),
    )
    .await
    .assert_problem(404, "customer_not_found");
}
