//! Clients that misbehave at the HTTP level: trickled bodies, oversized request heads, and
//! guessing credentials. Each gets a problem+json answer, and none holds back anyone else.

use std::time::{Duration, Instant};

use serde_json::json;
use tests::{on_both_backends, send, Backend, Method, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    start = server;
    slow_bodies_time_out,
    oversized_heads_are_problems,
    failed_credentials_are_throttled_per_address
);

fn server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.limits.body_timeout_seconds = 1;
        c.limits.auth_failures_per_minute = 5;
    })
}

/// Sends `head` and the start of a body, then nothing more; returns what the server answers.
async fn trickle(s: &TestServer, head: &str, partial_body: &str) -> (String, Duration) {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(partial_body.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

async fn slow_bodies_time_out(s: TestServer) {
    let head = format!(
        "POST /v1/customers HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n",
        s.key
    );
    let (answer, took) = trickle(&s, &head, "{\"name\": \"Sl").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    let list = send(s.admin(Method::GET, "/v1/customers")).await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
}

async fn oversized_heads_are_problems(s: TestServer) {
    let long_query = format!("/v1/customers?q={}", "a".repeat(9000));
    send(s.admin(Method::GET, &long_query))
        .await
        .assert_problem(414, "uri_too_long");
    send(
        s.admin(Method::GET, "/v1/customers")
            .header("x-note", "b".repeat(9000)),
    )
    .await
    .assert_problem(431, "headers_too_large");
    let mut many = s.admin(Method::GET, "/v1/customers");
    for i in 0..5 {
        many = many.header(format!("x-note-{i}"), "c".repeat(7000));
    }
    send(many).await.assert_problem(431, "headers_too_large");
    // Just under the limits is fine.
    let fits = s
        .admin(Method::GET, "/v1/customers")
        .header("x-note", "d".repeat(8000));
    assert_eq!(send(fits).await.status, 200);
    let path = format!("/v1/customers/cus_{}", "e".repeat(8000));
    send(s.admin(Method::GET, &path))
        .await
        .assert_problem(404, "customer_not_found");
}

async fn failed_credentials_are_throttled_per_address(s: TestServer) {
    // The guesser connects from 127.0.0.2; the merchant's backend from 127.0.0.1.
    let guesser = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    let guess = |key: String| {
        send(
            guesser
                .get(format!("{}/v1/customers", s.base))
                .header("x-api-key", key),
        )
    };
    for _ in 0..5 {
        guess(tests::random_key())
            .await
            .assert_problem(401, "unauthorized");
    }
    let over = guess(tests::random_key()).await;
    over.assert_problem(429, "rate_limited");
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=61).contains(&retry), "Retry-After {retry}");
    // Past its allowance, wrong credentials from that address get 429 (and are not counted
    // again)…
    guess(tests::random_key())
        .await
        .assert_problem(429, "rate_limited");
    let token = send(
        guesser
            .get(format!("{}/v1/portal/session", s.base))
            .header("X-Session-Token", "v4.local.guess"),
    )
    .await;
    token.assert_problem(429, "rate_limited");
    // …but a valid credential is never refused by the throttle: the right key and a valid
    // session token from the same address go through.
    assert_eq!(guess(s.key.clone()).await.status, 200);
    let c = tests::fixtures::customer(&s, json!({"name": "Same office"})).await;
    let session = tests::fixtures::portal_session(&s, json!({"customer_id": c})).await;
    let valid = send(
        guesser
            .get(format!("{}/v1/portal/session", s.base))
            .header("X-Session-Token", tests::fixtures::token(&session)),
    )
    .await;
    assert_eq!(valid.status, 200, "{}", valid.body);

    // The merchant, elsewhere, is not held back.
    let merchant = send(s.admin(Method::GET, "/v1/customers")).await;
    assert_eq!(merchant.status, 200);
    let c = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "Fine"})),
    )
    .await;
    assert_eq!(c.status, 201);
    // Successes never count: many in a row stay fine.
    for _ in 0..10 {
        assert_eq!(
            send(s.admin(Method::GET, "/v1/customers")).await.status,
            200
        );
    }
}
