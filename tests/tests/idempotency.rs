//! `Idempotency-Key` on admin POSTs: replay, mismatch, in-flight races.

use futures_util::future::join_all;
use serde_json::json;
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    replay_and_mismatch,
    racing_retries_create_once,
    errors_are_replayed_too,
    stored_answers_hold_no_secrets
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

/// Recorded answers can carry a new portal token, its login code or a new API key: they are kept
/// encrypted, and a replay still hands back the same working secret.
async fn stored_answers_hold_no_secrets(s: TestServer) {
    let customer = send(
        s.admin(Method::POST, "/v1/customers")
            .header("Idempotency-Key", "sec-customer")
            .json(&json!({"name": "Zeynep Secretholder"})),
    )
    .await;
    let session_body = json!({"customer_id": customer.body["id"]});
    let session = |key: &'static str| {
        send(
            s.admin(Method::POST, "/v1/portal_sessions")
                .header("Idempotency-Key", key)
                .json(&session_body),
        )
    };
    let first = session("sec-session").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let api_key = || {
        send(
            s.admin(Method::POST, "/v1/api_keys")
                .header("Idempotency-Key", "sec-key")
                .json(&json!({"name": "ci"})),
        )
    };
    let new_key = api_key().await;
    assert_eq!(new_key.status, 201, "{}", new_key.body);

    let token = first.body["token"].as_str().unwrap();
    let url = first.body["url"].as_str().unwrap();
    let code = url.split("code=").nth(1).expect("login code in the url");
    let secret = new_key.body["key"].as_str().unwrap();
    let stored = s.query_texts("SELECT response_body AS v FROM idempotency_keys");
    assert_eq!(stored.len(), 3);
    for body in &stored {
        for needle in [token, code, secret, "Secretholder"] {
            assert!(!body.contains(needle), "stored in clear: {needle}");
        }
    }

    let again = session("sec-session").await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    let whoami = send(s.portal(Method::GET, "/v1/portal/session", token)).await;
    assert_eq!(whoami.status, 200, "the replayed token works");
    let key_again = api_key().await;
    assert_eq!(key_again.body, new_key.body);
    let listed = send(
        s.request(Method::GET, "/v1/customers")
            .header("x-api-key", secret),
    )
    .await;
    assert_eq!(listed.status, 200, "the replayed API key works");
}

/// The SQLite database and its WAL files are readable by their owner only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start(tests::Backend::Sqlite).unwrap();
    let r = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "Files"})),
    )
    .await;
    assert_eq!(r.status, 201);
    let db = s.sqlite_file().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", db.display());
        let mode = std::fs::metadata(&file).expect(&file).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:o}");
    }
}
