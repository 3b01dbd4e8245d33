//! CSV exports over HTTP on both backends: RFC 4180 read back by the `csv` crate, the lists'
//! filters, a problem naming a malformed filter, cells neutralised against spreadsheet formula
//! injection (OWASP "CSV injection"), the portal's exports holding the customer's own rows only,
//! and 100,000 events streamed with the process's memory measured.

use serde_json::{json, Value};
use tests::fixtures::{created, customer, feature, id, portal_session, token};
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    exports_are_csv_with_the_lists_filters,
    the_portal_exports_the_customers_own_rows,
    a_large_export_streams_in_constant_memory,
);

/// The body of a CSV export (200, `text/csv`), as records.
async fn csv_of(rb: reqwest::RequestBuilder) -> Vec<Vec<String>> {
    let r = rb.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let body = r.bytes().await.unwrap();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&body[..])
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

async fn problem(rb: reqwest::RequestBuilder, field: &str) {
    let r = send(rb).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
}

async fn invoice(s: &TestServer, c: &str, amount: &str, memo: &str) -> String {
    let d = created(
        s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "EUR", "memo": memo,
        "lines": [{"description": "Service", "quantity": "1", "unit_amount": amount}]}),
    )
    .await;
    let i = id(&d);
    let f = send(s.admin(Method::POST, &format!("/v1/invoices/{i}/finalize"))).await;
    assert_eq!(f.status, 200, "{}", f.body);
    i
}

/// The account's metered feature `api_calls`.
async fn calls(s: &TestServer) {
    let r = feature(
        s,
        json!({"key": "api_calls", "name": "API calls", "unit": "calls",
        "aggregation": "count", "unit_price": "0.01", "currency": "EUR"}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
}

async fn exports_are_csv_with_the_lists_filters(s: TestServer) {
    let risky = "=HYPERLINK(\"http://evil.example\",\"Click\")";
    // (Names refuse control characters: tabs and line breaks are the unit tests' part.)
    let names = [
        risky,
        "+49 Tools",
        "@home",
        "-2+3",
        "Comma, \"Quoted\" and more",
        "Plain",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        ids.push(customer(&s, json!({"name": name, "external_id": format!("x-{i}")})).await);
    }
    let rows = csv_of(s.admin(Method::GET, "/v1/customers/export?status=all")).await;
    assert_eq!(rows[0][..3], ["id", "external_id", "name"]);
    assert_eq!(rows.len(), 1 + names.len());
    let exported: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    for name in names {
        let want = if name.starts_with(['=', '+', '-', '@', '\t']) {
            format!("'{name}")
        } else {
            name.to_owned()
        };
        assert!(
            exported.contains(&want.as_str()),
            "{want:?} not in {exported:?}"
        );
    }
    // The list's filters.
    let some = csv_of(s.admin(Method::GET, "/v1/customers/export?q=plain")).await;
    assert_eq!(some.len(), 2, "{some:?}");
    assert_eq!(some[1][0], ids[5]);
    problem(
        s.admin(Method::GET, "/v1/customers/export?status=sleeping"),
        "status",
    )
    .await;
    // A filter the service refuses is a problem answer, never a broken download.
    problem(
        s.admin(Method::GET, "/v1/customers/export?created_from=2026-02-01T00:00:00Z&created_to=2026-01-01T00:00:00Z"),
        "created_from",
    )
    .await;

    // Invoices: amounts as plain numbers, the memo neutralised, filters, bad filters.
    invoice(&s, &ids[5], "1234.5", "=cmd|' /C calc'!A0").await;
    invoice(&s, &ids[4], "10", "Thanks").await;
    let inv = csv_of(s.admin(Method::GET, "/v1/invoices/export")).await;
    assert_eq!(inv.len(), 3);
    let total = inv[0].iter().position(|h| h == "total").unwrap();
    let memo = inv[0].iter().position(|h| h == "memo").unwrap();
    let big = inv
        .iter()
        .find(|r| r[total] == "1234.50")
        .expect("the invoice's total, exact");
    assert_eq!(big[memo], "'=cmd|' /C calc'!A0");
    let mine = csv_of(s.admin(
        Method::GET,
        &format!("/v1/invoices/export?customer_id={}", ids[4]),
    ))
    .await;
    assert_eq!(mine.len(), 2);
    problem(
        s.admin(Method::GET, "/v1/invoices/export?status=lost"),
        "status",
    )
    .await;
    problem(
        s.admin(Method::GET, "/v1/invoices/export?amount_min=5"),
        "amount_min",
    )
    .await;
    // An export has every matching row: no paging.
    problem(s.admin(Method::GET, "/v1/invoices/export?limit=5"), "limit").await;

    // Usage: raw events with the events list's filters.
    calls(&s).await;
    let events: Vec<Value> = (0..3)
        .map(|i| {
            json!({"event_id": format!("e-{i}"),
        "customer_id": ids[i % 2], "feature": "api_calls"})
        })
        .collect();
    let r = send(
        s.admin(Method::POST, "/v1/events/batch")
            .json(&json!({"events": events})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let usage = csv_of(s.admin(
        Method::GET,
        &format!("/v1/usage/export?customer_id={}", ids[0]),
    ))
    .await;
    assert_eq!(
        usage[0],
        [
            "id",
            "event_id",
            "customer_id",
            "feature",
            "quantity",
            "timestamp",
            "received_at"
        ]
    );
    assert_eq!(usage.len(), 3, "{usage:?}");
    assert!(usage[1..].iter().all(|r| r[2] == ids[0] && r[4] == "1"));
    problem(
        s.admin(
            Method::GET,
            "/v1/usage/export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        ),
        "from",
    )
    .await;
}

async fn the_portal_exports_the_customers_own_rows(s: TestServer) {
    calls(&s).await;
    let ada = customer(&s, json!({"name": "Ada"})).await;
    let bob = customer(&s, json!({"name": "Bob"})).await;
    let mine = invoice(&s, &ada, "20", "Ada's").await;
    invoice(&s, &bob, "30", "Bob's").await;
    // A draft is never the customer's to see.
    created(
        &s,
        "/v1/invoices",
        json!({"customer_id": ada, "currency": "EUR",
        "lines": [{"description": "Draft", "quantity": "1", "unit_amount": "1"}]}),
    )
    .await;
    let events: Vec<Value> = (0..4)
        .map(|i| {
            json!({"event_id": format!("p-{i}"),
        "customer_id": if i < 3 { &ada } else { &bob }, "feature": "api_calls"})
        })
        .collect();
    let r = send(
        s.admin(Method::POST, "/v1/events/batch")
            .json(&json!({"events": events})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let t = token(&portal_session(&s, json!({"customer_id": ada})).await);
    let bills = csv_of(s.portal(Method::GET, "/v1/portal/invoices/export", &t)).await;
    assert_eq!(bills.len(), 2, "{bills:?}");
    assert_eq!(bills[1][0], mine);
    let usage = csv_of(s.portal(Method::GET, "/v1/portal/usage/export?window=1d", &t)).await;
    assert_eq!(
        usage[0],
        [
            "period_start",
            "feature",
            "name",
            "unit",
            "quantity",
            "events"
        ]
    );
    let used: u64 = usage[1..]
        .iter()
        .map(|r| r[4].parse::<u64>().unwrap())
        .sum();
    assert_eq!(used, 3, "Ada's three calls, not Bob's: {usage:?}");
    let report = send(s.portal(Method::GET, "/v1/portal/usage?window=1d", &t)).await;
    let buckets: usize = report.body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["points"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        usage.len(),
        1 + buckets,
        "one row per feature and hour, zeros included"
    );
    send(s.portal(Method::GET, "/v1/portal/usage/export?window=1y", &t))
        .await
        .assert_problem(422, "validation_failed");
    let off = token(
        &portal_session(
            &s,
            json!({"customer_id": ada,
        "sections": {"invoices": {"enabled": false}}}),
        )
        .await,
    );
    send(s.portal(Method::GET, "/v1/portal/invoices/export", &off))
        .await
        .assert_problem(403, "section_disabled");
}

/// This process's resident memory, in KiB (the server runs inside it).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// 100,000 events exported: every row arrives, read chunk by chunk, while the process's memory
/// grows by no more than a few MB (the figure is printed; docs/operations.md records it).
async fn a_large_export_streams_in_constant_memory(s: TestServer) {
    calls(&s).await;
    let c = customer(&s, json!({"name": "Busy"})).await;
    const N: usize = 100_000;
    for batch in 0..N / 500 {
        let events: Vec<Value> = (0..500)
            .map(|i| {
                json!({"event_id": format!("big-{batch}-{i}"),
            "customer_id": c, "feature": "api_calls"})
            })
            .collect();
        let r = send(
            s.admin(Method::POST, "/v1/events/batch")
                .json(&json!({"events": events})),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    // Warm up the path once, so the measure is the export's, not the first request's.
    let _ = csv_of(s.admin(Method::GET, "/v1/usage/export?feature=none")).await;
    let before = rss_kib();
    let mut peak = before;
    let mut r = s
        .admin(Method::GET, "/v1/usage/export")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (mut lines, mut bytes) = (0usize, 0usize);
    while let Some(chunk) = r.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        peak = peak.max(rss_kib());
    }
    assert_eq!(lines, N + 1, "every event and the header");
    let grown_mib = (peak.saturating_sub(before)) as f64 / 1024.0;
    println!(
        "{:?}: export of {N} events ({:.1} MB of CSV): resident memory grew by {grown_mib:.1} MB",
        s.state.store.backend(),
        bytes as f64 / 1e6
    );
    assert!(
        grown_mib < 32.0,
        "the export is streamed, not buffered: grew {grown_mib:.1} MB for {bytes} bytes"
    );
}
