//! Admin API keys: created and shown once, listed by prefix, revoked, isolated per account.

use serde_json::json;
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(key_lifecycle, keys_are_isolated_per_account);

async fn key_lifecycle(s: TestServer) {
    let created = send(
        s.admin(Method::POST, "/v1/api_keys")
            .json(&json!({"name": "reporting"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["key"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(created.body["prefix"].as_str().unwrap()));
    assert_eq!(created.body["status"], "active");

    // The new key works.
    let r = send(
        s.request(Method::GET, "/v1/customers")
            .header("x-api-key", &secret),
    )
    .await;
    assert_eq!(r.status, 200);

    // Lists never show a secret.
    let list = send(s.admin(Method::GET, "/v1/api_keys")).await;
    let text = list.body.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(&s.key),
        "a secret leaked into the list"
    );
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(list.body["data"][0]["id"], id.as_str(), "newest first");
    assert!(list.body["data"][0].get("key").is_none());

    send(
        s.admin(Method::POST, "/v1/api_keys")
            .json(&json!({"name": ""})),
    )
    .await
    .assert_problem(422, "validation_failed");

    // Revoke: the key stops working at once.
    let r = send(s.admin(Method::DELETE, &format!("/v1/api_keys/{id}"))).await;
    assert_eq!(r.body["status"], "revoked");
    send(
        s.request(Method::GET, "/v1/customers")
            .header("x-api-key", &secret),
    )
    .await
    .assert_problem(401, "unauthorized");
    // Revoking again is harmless.
    assert_eq!(
        send(s.admin(Method::DELETE, &format!("/v1/api_keys/{id}")))
            .await
            .status,
        200
    );

    // The last active key cannot be revoked (the account would be locked out).
    let mine = list.body["data"][1]["id"].as_str().unwrap().to_owned();
    send(s.admin(Method::DELETE, &format!("/v1/api_keys/{mine}")))
        .await
        .assert_problem(409, "last_active_key");
    assert_eq!(
        send(s.admin(Method::GET, "/v1/customers")).await.status,
        200
    );

    send(s.admin(Method::DELETE, "/v1/api_keys/key_nope"))
        .await
        .assert_problem(404, "api_key_not_found");
}

async fn keys_are_isolated_per_account(s: TestServer) {
    let other = s.other_tenant_key();
    let list = send(
        s.request(Method::GET, "/v1/api_keys")
            .header("x-api-key", &other),
    )
    .await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "sees only its own key"
    );
    let mine = send(s.admin(Method::GET, "/v1/api_keys")).await;
    let my_id = mine.body["data"][0]["id"].as_str().unwrap();
    // Another account cannot revoke my key: it does not exist for them.
    send(
        s.request(Method::DELETE, &format!("/v1/api_keys/{my_id}"))
            .header("x-api-key", &other),
    )
    .await
    .assert_problem(404, "api_key_not_found");
    assert_eq!(send(s.admin(Method::GET, "/v1/api_keys")).await.status, 200);
}
