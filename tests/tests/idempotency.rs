//! `Idempotency-Key` on admin POSTs: replay, mismatch, in-flight races.

use futures_util::future::join_all;
use serde_json::json;
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    replay_and_mismatch,
    racing_retries_create_once,
    errors_are_replayed_too
);

async fn count(s: &TestServer) -> usize {
    send(s.admin(Method::GET, "/v1/customers?status=all&limit=100"))
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .len()
}

async fn replay_and_mismatch(s: TestServer) {
    let body = json!({"name": "Once", "external_id": "once"});
    let first = send(
        s.admin(Method::POST, "/v1/customers")
            .header("Idempotency-Key", "k-1")
            .json(&body),
    )
    .await;
    assert_eq!(first.status, 201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = send(
        s.admin(Method::POST, "/v1/customers")
            .header("Idempotency-Key", "k-1")
            .json(&body),
    )
    .await;
    assert_eq!(second.status, 201);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        second.body, first.body,
        "the stored response is replayed verbatim"
    );
    assert_eq!(count(&s).await, 1);

    let changed = send(
        s.admin(Method::POST, "/v1/customers")
            .header("Idempotency-Key", "k-1")
            .json(&json!({"name": "Other"})),
    )
    .await;
    changed.assert_problem(422, "idempotency_key_reused");
    assert_eq!(count(&s).await, 1);

    // Keys are per account: another account may use the same key string.
    let other = s.other_tenant_key();
    let r = send(
        s.request(Method::POST, "/v1/customers")
            .header("x-api-key", other)
            .header("Idempotency-Key", "k-1")
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("idempotent-replayed"), None);

    let bad = send(
        s.admin(Method::POST, "/v1/customers")
            .header("Idempotency-Key", "x".repeat(300))
            .json(&body),
    )
    .await;
    bad.assert_problem(422, "validation_failed");
}

async fn racing_retries_create_once(s: TestServer) {
    let body = json!({"name": "Raced"});
    let racers = (0..12).map(|_| {
        send(
            s.admin(Method::POST, "/v1/customers")
                .header("Idempotency-Key", "race-1")
                .json(&body),
        )
    });
    let replies = join_all(racers).await;
    let fresh: Vec<_> = replies
        .iter()
        .filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(fresh.len(), 1, "exactly one request ran");
    for r in &replies {
        match r.status.as_u16() {
            201 => assert_eq!(
                r.body["id"], fresh[0].body["id"],
                "replays return the same customer"
            ),
            409 => r.assert_problem(409, "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(count(&s).await, 1);
}

async fn errors_are_replayed_too(s: TestServer) {
    send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "A", "external_id": "taken"})),
    )
    .await;
    let body = json!({"name": "B", "external_id": "taken"});
    let first = send(
        s.admin(Method::POST, "/v1/customers")
            .header("Idempotency-Key", "k-err")
            .json(&body),
    )
    .await;
    first.assert_problem(409, "external_id_taken");
    let again = send(
        s.admin(Method::POST, "/v1/customers")
            .header("Idempotency-Key", "k-err")
            .json(&body),
    )
    .await;
    again.assert_problem(409, "external_id_taken");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}
