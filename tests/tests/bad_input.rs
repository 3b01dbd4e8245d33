//! Inputs that must be refused cleanly, with nothing stored changed: numbers that would explode
//! (`"1e1000000"`), bytes after the JSON body, amounts with surrounding spaces, timestamps the
//! databases would not read back, NUL in text, cursors from another list.

use serde_json::json;
use tests::{fixtures, on_both_backends, send, Method, TestServer};

on_both_backends!(
    huge_event_values_are_rejected_alone,
    trailing_bytes_after_json_are_malformed,
    amounts_with_spaces_are_refused,
    timestamps_outside_1970_9999_are_refused,
    nul_is_refused_in_every_text,
    cursors_only_work_in_the_list_that_issued_them
);

async fn huge_event_values_are_rejected_alone(s: TestServer) {
    let cus = fixtures::customer(&s, json!({"name": "A"})).await;
    fixtures::feature(
        &s,
        json!({
            "key": "storage", "name": "Storage", "unit": "GB", "aggregation": "sum",
            "value_property": "gb", "unit_price": "0.10", "currency": "USD"
        }),
    )
    .await;
    let event = |id: &str, gb: serde_json::Value| json!({"event_id": id, "customer_id": cus, "feature": "storage", "properties": {"gb": gb}});
    let r = send(
        s.admin(Method::POST, "/v1/events/batch")
            .json(&json!({"events": [
                event("ok-1", json!("5")),
                event("huge-1", json!("1e10000000")),
                event("huge-2", json!("1e1000000")),
                event("huge-3", json!("99999999999999999999999999999999999999999")),
                event("space", json!(" 1")),
                event("ok-2", json!(2)),
            ]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fixtures::event_statuses(&r),
        ["accepted", "rejected", "rejected", "rejected", "rejected", "accepted"]
    );
    assert!(r.body["results"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("out of range"));
    let usage = send(s.admin(Method::GET, &format!("/v1/customers/{cus}/usage?window=1d"))).await;
    assert_eq!(usage.body["breakdown"][0]["total_usage"], "7");
    assert_eq!(usage.body["breakdown"][0]["total_cost"], "0.7");
    assert_eq!(usage.body["breakdown"][0]["events"], 2);

    // A JSON number beyond any float, in one event: that event alone is rejected.
    let r = send(
        s.admin(Method::POST, "/v1/events/batch")
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"events": [
                    {{"event_id": "inf-1", "customer_id": "{cus}", "feature": "storage", "properties": {{"gb": 1e400}}}},
                    {{"event_id": "ok-3", "customer_id": "{cus}", "feature": "storage", "properties": {{"gb": 1}}}}
                ]}}"#
            )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(fixtures::event_statuses(&r), ["rejected", "accepted"]);
    assert!(
        r.body["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("out of range"),
        "{}",
        r.body
    );
    let usage = send(s.admin(Method::GET, &format!("/v1/customers/{cus}/usage?window=1d"))).await;
    assert_eq!(usage.body["breakdown"][0]["total_usage"], "8");
}

async fn trailing_bytes_after_json_are_malformed(s: TestServer) {
    let post = |body: &'static str| {
        s.admin(Method::POST, "/v1/customers")
            .header("content-type", "application/json")
            .body(body)
    };
    send(post("{\"name\": \"x\"} garbage"))
        .await
        .assert_problem(400, "malformed_json");
    send(post("{\"name\": \"x\"}{\"name\": \"y\"}"))
        .await
        .assert_problem(400, "malformed_json");
    let list = send(s.admin(Method::GET, "/v1/customers")).await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
    assert_eq!(
        send(post("{\"name\": \"x\"}\n  ")).await.status,
        201,
        "whitespace is fine"
    );
}

async fn amounts_with_spaces_are_refused(s: TestServer) {
    let cus = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "A"})),
    )
    .await;
    let w = send(s.admin(Method::POST, "/v1/wallets").json(&json!({
        "customer_id": cus.body["id"], "currency": "USD", "conversion_rate": "0.01"
    })))
    .await;
    let w = w.body["id"].as_str().unwrap().to_owned();
    for credits in [" 1", "1 ", "\t1"] {
        let r = send(
            s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
                .json(&json!({ "credits": credits })),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["credits"]);
    }
    let wallet = send(s.admin(Method::GET, &format!("/v1/wallets/{w}"))).await;
    assert_eq!(wallet.body["balance"], "0", "nothing changed");
}

async fn timestamps_outside_1970_9999_are_refused(s: TestServer) {
    let cus = fixtures::customer(&s, json!({"name": "A"})).await;
    let w = fixtures::wallet(&s, &cus, "USD", "1").await;
    let invoice = |due_at: &str| {
        json!({"customer_id": cus, "currency": "USD", "due_at": due_at,
               "lines": [{"description": "x", "quantity": "1", "unit_amount": "1"}]})
    };
    let kept = send(
        s.admin(Method::POST, "/v1/invoices")
            .json(&invoice("2027-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(kept.status, 201, "{}", kept.body);
    let kept_id = kept.body["id"].as_str().unwrap().to_owned();

    for bad in [
        "-0001-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2016-12-31T23:59:60Z",
    ] {
        let r = send(s.admin(Method::POST, "/v1/invoices").json(&invoice(bad))).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["due_at"], "{bad}");
        let r = send(
            s.admin(Method::PATCH, &format!("/v1/invoices/{kept_id}"))
                .json(&json!({ "due_at": bad })),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        let r = send(s.admin(Method::POST, "/v1/invoices").json(&json!({
            "customer_id": cus, "currency": "USD",
            "lines": [{"description": "x", "quantity": "1", "unit_amount": "1", "period_start": bad}]
        })))
        .await;
        r.assert_problem(422, "validation_failed");
        let r = send(
            s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
                .json(&json!({ "credits": "1", "expires_at": bad })),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["expires_at"], "{bad}");
        for query in [
            format!("/v1/customers?created_from={bad}"),
            format!("/v1/audit_events?to={bad}"),
            format!("/v1/customers/{cus}/usage?from={bad}"),
        ] {
            send(s.admin(Method::GET, &query))
                .await
                .assert_problem(422, "validation_failed");
        }
    }

    // Nothing stored changed, and the account still reads.
    let list = send(s.admin(Method::GET, "/v1/invoices")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let read = send(s.admin(Method::GET, &format!("/v1/invoices/{kept_id}"))).await;
    assert_eq!(read.body["due_at"], "2027-01-01T00:00:00Z");
    let wallet = send(s.admin(Method::GET, &format!("/v1/wallets/{w}"))).await;
    assert_eq!(wallet.body["balance"], "0");

    // The edges of the range are stored and read back exactly.
    for edge in ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"] {
        let r = send(s.admin(Method::POST, "/v1/invoices").json(&invoice(edge))).await;
        assert_eq!(r.status, 201, "{edge}: {}", r.body);
        let id = r.body["id"].as_str().unwrap();
        let back = send(s.admin(Method::GET, &format!("/v1/invoices/{id}"))).await;
        assert_eq!(back.body["due_at"], edge);
    }
    assert_eq!(send(s.admin(Method::GET, "/v1/invoices")).await.status, 200);
}

async fn nul_is_refused_in_every_text(s: TestServer) {
    let cus = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "Kept", "metadata": {"plan": "pro"}})),
    )
    .await;
    assert_eq!(cus.status, 201);
    let cus = cus.body["id"].as_str().unwrap().to_owned();

    for (body, field) in [
        (json!({"name": "A\u{0}B"}), "name"),
        (
            json!({"name": "A", "metadata": {"k": "v\u{0}"}}),
            "metadata.k",
        ),
        (
            json!({"name": "A", "metadata": {"k\u{0}": "v"}}),
            "metadata.k\u{0}",
        ),
        (
            json!({"name": "A", "address": {"line1": "\u{0}"}}),
            "address.line1",
        ),
    ] {
        let r = send(s.admin(Method::POST, "/v1/customers").json(&body)).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), vec![field.to_owned()], "{body}");
    }
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{cus}"))
            .json(&json!({"metadata": {"plan": "x\u{0}"}})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    // A JSON text that merely shows a backslash and "u0000" is fine.
    let r = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "literal \\u0000"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["name"], "literal \\u0000");

    for query in [
        "/v1/customers?q=%00",
        "/v1/customers?q=a%00b",
        "/v1/invoices?q=%00",
    ] {
        let r = send(s.admin(Method::GET, query)).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["q"]);
    }
    let session = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": cus})),
    )
    .await;
    let token = session.body["token"].as_str().unwrap();
    send(s.portal(Method::GET, "/v1/portal/invoices?q=%00", token))
        .await
        .assert_problem(422, "validation_failed");
    for path in [
        "/v1/customers/%00".to_owned(),
        "/v1/customers/cus_%00".to_owned(),
        "/v1/customers/external/%00".to_owned(),
        "/v1/invoices/%00".to_owned(),
    ] {
        send(s.admin(Method::GET, &path))
            .await
            .assert_problem(404, "route_not_found");
    }
    send(s.portal(Method::GET, "/v1/portal/invoices/%00", token))
        .await
        .assert_problem(404, "route_not_found");

    // In a batch, an event with NUL is rejected alone.
    fixtures::feature(
        &s,
        json!({
            "key": "calls", "name": "Calls", "unit": "call", "aggregation": "count",
            "unit_price": "0.01", "currency": "USD"
        }),
    )
    .await;
    let event = |id: &str, props: serde_json::Value| json!({"event_id": id, "customer_id": cus, "feature": "calls", "properties": props});
    let r = send(
        s.admin(Method::POST, "/v1/events/batch")
            .json(&json!({"events": [
                event("ok-1", json!({})),
                event("nul-1", json!({"region": "eu\u{0}"})),
                event("nul\u{0}2", json!({})),
                event("ok-2", json!({})),
            ]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fixtures::event_statuses(&r),
        ["accepted", "rejected", "rejected", "accepted"]
    );
    assert!(r.body["results"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("properties.region"));

    let kept = send(s.admin(Method::GET, &format!("/v1/customers/{cus}"))).await;
    assert_eq!(
        kept.body["metadata"],
        json!({"plan": "pro"}),
        "nothing changed"
    );
    let all = send(s.admin(Method::GET, "/v1/customers?status=all")).await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 2);
}

async fn cursors_only_work_in_the_list_that_issued_them(s: TestServer) {
    for i in 0..3 {
        let r = send(
            s.admin(Method::POST, "/v1/customers")
                .json(&json!({"name": format!("Cursor {i}"), "email": format!("c{i}@x.test")})),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    let first = send(s.admin(Method::GET, "/v1/customers?limit=1&q=cursor")).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    // The same list (another page size is fine) goes on.
    let next = send(s.admin(
        Method::GET,
        &format!("/v1/customers?q=cursor&limit=2&cursor={cursor}"),
    ))
    .await;
    assert_eq!(next.status, 200, "{}", next.body);
    assert_eq!(next.body["data"].as_array().unwrap().len(), 2);
    assert_ne!(next.body["data"][0]["id"], first.body["data"][0]["id"]);

    let refused = [
        // other filters
        format!("/v1/customers?limit=1&cursor={cursor}"),
        format!("/v1/customers?q=curso&limit=1&cursor={cursor}"),
        // another list
        format!("/v1/invoices?cursor={cursor}"),
        format!("/v1/audit_events?cursor={cursor}"),
        // altered: one character changed, tag dropped, position only
        format!("/v1/customers?q=cursor&cursor={}", flip_first(&cursor)),
        format!(
            "/v1/customers?q=cursor&cursor={}",
            cursor.split('.').next().unwrap()
        ),
        format!("/v1/customers?q=cursor&cursor={cursor}A"),
    ];
    for path in &refused {
        send(s.admin(Method::GET, path))
            .await
            .assert_problem(400, "invalid_cursor");
    }
    // Another account.
    let other = s.other_tenant_key();
    send(
        s.request(
            Method::GET,
            &format!("/v1/customers?limit=1&q=cursor&cursor={cursor}"),
        )
        .header("x-api-key", other),
    )
    .await
    .assert_problem(400, "invalid_cursor");

    // Portal cursors are bound to the session's customer.
    let cus = first.body["data"][0]["id"].as_str().unwrap().to_owned();
    let w = send(
        s.admin(Method::POST, "/v1/wallets")
            .json(&json!({"customer_id": cus, "currency": "USD"})),
    )
    .await;
    let w = w.body["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        send(
            s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
                .json(&json!({"credits": "1"})),
        )
        .await;
    }
    let session = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": cus})),
    )
    .await;
    let mine = session.body["token"].as_str().unwrap().to_owned();
    let path = format!("/v1/portal/wallets/{w}/transactions?limit=1");
    let page = send(s.portal(Method::GET, &path, &mine)).await;
    let pc = page.body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        send(s.portal(Method::GET, &format!("{path}&cursor={pc}"), &mine))
            .await
            .status,
        200
    );
    send(s.admin(
        Method::GET,
        &format!("/v1/wallets/{w}/transactions?limit=1&cursor={pc}"),
    ))
    .await
    .assert_problem(400, "invalid_cursor");
}

fn flip_first(cursor: &str) -> String {
    let mut chars: Vec<char> = cursor.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
