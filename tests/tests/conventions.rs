//! HTTP conventions that hold for every route: problem+json errors, request ids, 404/405/413/415,
//! operational routes, API-key authentication.

use serde_json::json;
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    errors_are_problem_json,
    request_ids,
    operational_routes,
    api_key_authentication,
    server_errors_leak_nothing
);

async fn errors_are_problem_json(s: TestServer) {
    send(s.request(Method::GET, "/v1/nowhere"))
        .await
        .assert_problem(404, "route_not_found");

    let r = send(s.admin(Method::PUT, "/v1/customers")).await;
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, POST"));

    let r = send(
        s.admin(Method::POST, "/v1/customers")
            .header("content-type", "application/json")
            .body("{\"name\":"),
    )
    .await;
    r.assert_problem(400, "malformed_json");

    let r = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "A", "colour": "red"})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["colour"]);

    let r = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": 42})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["name"]);

    let r = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "A", "address": {"country": 7}})),
    )
    .await;
    assert_eq!(r.fields(), vec!["address.country"]);

    let r = send(s.admin(Method::POST, "/v1/customers").json(&json!({}))).await;
    r.assert_problem(422, "validation_failed");

    send(s.admin(Method::POST, "/v1/customers").body("name=A"))
        .await
        .assert_problem(415, "unsupported_media_type");

    let huge = json!({"name": "A", "metadata": {"k": "x".repeat(70 * 1024)}});
    send(s.admin(Method::POST, "/v1/customers").json(&huge))
        .await
        .assert_problem(413, "payload_too_large");

    let r = send(s.admin(Method::GET, "/v1/customers?limit=abc")).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["limit"]);
    send(s.admin(Method::GET, "/v1/customers?limit=0"))
        .await
        .assert_problem(422, "validation_failed");
    send(s.admin(Method::GET, "/v1/customers?limit=101"))
        .await
        .assert_problem(422, "validation_failed");
    send(s.admin(Method::GET, "/v1/customers?cursor=%25%25"))
        .await
        .assert_problem(400, "invalid_cursor");
    send(s.admin(Method::GET, "/v1/customers?unknown=1"))
        .await
        .assert_problem(422, "validation_failed");

    // None of the refused requests stored anything.
    let list = send(s.admin(Method::GET, "/v1/customers?status=all")).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 0);
}

async fn request_ids(s: TestServer) {
    let r = send(
        s.request(Method::GET, "/healthz")
            .header("x-request-id", "trace-abc.123"),
    )
    .await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc.123"));
    let r = send(s.request(Method::GET, "/healthz")).await;
    let generated = r.header("x-request-id").unwrap();
    assert!(generated.starts_with("req_") && generated.len() > 20);
    // A hostile id is not echoed.
    let r = send(
        s.request(Method::GET, "/healthz")
            .header("x-request-id", "a b<script>"),
    )
    .await;
    assert!(r.header("x-request-id").unwrap().starts_with("req_"));
    // Errors carry it too.
    let r = send(
        s.request(Method::GET, "/v1/nowhere")
            .header("x-request-id", "err-1"),
    )
    .await;
    assert_eq!(r.header("x-request-id"), Some("err-1"));
}

async fn operational_routes(s: TestServer) {
    let r = send(s.request(Method::GET, "/healthz")).await;
    assert_eq!(r.body["status"], "ok");
    let r = send(s.request(Method::GET, "/readyz")).await;
    assert_eq!(r.status, 200);
    assert!(r.body["database"] == "sqlite" || r.body["database"] == "postgres");

    send(s.admin(Method::GET, "/v1/customers")).await;
    let metrics = s
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/v1/customers",status="200"}"#),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("db_pool_max_connections 8"));

    let spec = send(s.request(Method::GET, "/openapi.json")).await;
    assert_eq!(spec.body["openapi"], "3.1.0");
    assert!(spec.body["components"]["securitySchemes"]["api_key"].is_object());
    assert!(spec.body["components"]["securitySchemes"]["session_token"].is_object());
    let ui = s.request(Method::GET, "/swagger-ui/").send().await.unwrap();
    assert_eq!(ui.status(), 200);
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = redirect
        .get(format!("{}/swagger-ui", s.base))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
}

async fn api_key_authentication(s: TestServer) {
    send(s.request(Method::GET, "/v1/customers"))
        .await
        .assert_problem(401, "unauthorized");
    send(
        s.request(Method::GET, "/v1/customers")
            .header("x-api-key", "nope"),
    )
    .await
    .assert_problem(401, "unauthorized");
    // Right shape and prefix, wrong secret.
    let forged = format!("{}_{}", &s.key[..11], "A".repeat(32));
    send(
        s.request(Method::GET, "/v1/customers")
            .header("x-api-key", forged),
    )
    .await
    .assert_problem(401, "unauthorized");
    // An unknown well-formed key.
    send(
        s.request(Method::GET, "/v1/customers")
            .header("x-api-key", tests::random_key()),
    )
    .await
    .assert_problem(401, "unauthorized");
    assert_eq!(
        send(s.admin(Method::GET, "/v1/customers")).await.status,
        200
    );
}

async fn server_errors_leak_nothing(s: TestServer) {
    send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "Before"})),
    )
    .await;
    // The customers table disappears under the running server.
    s.execute_sql("ALTER TABLE customers RENAME TO customers_gone");
    let r = send(
        s.admin(Method::GET, "/v1/customers")
            .header("x-request-id", "boom-1"),
    )
    .await;
    r.assert_problem(500, "internal_error");
    assert_eq!(
        r.body["request_id"], "boom-1",
        "the id to quote is in the body"
    );
    assert_eq!(r.header("x-request-id"), Some("boom-1"));
    let text = r.body.to_string().to_lowercase();
    for leak in ["customers", "table", "sql", "relation", "diesel"] {
        assert!(!text.contains(leak), "5xx body leaks {leak:?}: {text}");
    }
    // Authentication still works: other tables are intact.
    assert_eq!(send(s.admin(Method::GET, "/v1/api_keys")).await.status, 200);
}
