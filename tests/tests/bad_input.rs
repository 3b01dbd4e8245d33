//! Inputs that must be refused cleanly, with nothing stored changed: numbers that would explode
//! (`"1e1000000"`), bytes after the JSON body, amounts with surrounding spaces.

use serde_json::json;
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    huge_event_values_are_rejected_alone,
    trailing_bytes_after_json_are_malformed,
    amounts_with_spaces_are_refused
);

async fn huge_event_values_are_rejected_alone(s: TestServer) {
    let cus = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "A"})),
    )
    .await;
    let cus = cus.body["id"].as_str().unwrap().to_owned();
    let f = send(s.admin(Method::POST, "/v1/features").json(&json!({
        "key": "storage", "name": "Storage", "unit": "GB", "aggregation": "sum",
        "value_property": "gb", "unit_price": "0.10", "currency": "USD"
    })))
    .await;
    assert_eq!(f.status, 201, "{}", f.body);
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
    let statuses: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
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
