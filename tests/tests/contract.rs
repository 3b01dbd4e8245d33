//! The served OpenAPI document tells the truth about what the server answers. Every operation
//! is probed over HTTP with what clients get wrong (no credentials, unknown ids, malformed JSON,
//! a body that is not JSON or too large, unknown fields, unparseable query parameters, a bad
//! `Idempotency-Key`); each answer's status must be declared for that operation, and a problem's
//! `code` must be one of the examples declared for that status.

use serde_json::json;
use tests::spec::operations;
use tests::{on_both_backends, send, Backend, Method, TestServer};

on_both_backends!(start = server; every_answer_is_declared);

const MAX_BODY: usize = 4096;

fn server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.max_body_bytes = MAX_BODY;
        // The probes fail authentication on purpose, many times over; each must get its own
        // answer (401), not the throttle's.
        c.limits.auth_failures_per_minute = 0;
    })
}

async fn every_answer_is_declared(s: TestServer) {
    let spec = s.served_spec().await;
    let customer = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "Probe"})),
    )
    .await;
    let session = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": customer.body["id"]})),
    )
    .await;
    let token = session.body["token"].as_str().unwrap().to_owned();

    let mut ops = operations(&spec);
    // Logging out ends the session the other probes use.
    ops.sort_by_key(|o| o.spec["operationId"] == "end_portal_session");
    assert!(ops.len() >= 60, "{} operations", ops.len());

    let mut failures = Vec::new();
    for op in &ops {
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let authed = |url: &str| {
            let rb = s.request(method.clone(), url);
            if op.portal() {
                rb.header("X-Session-Token", &token)
            } else if op.admin() {
                rb.header("x-api-key", &s.key)
            } else {
                rb
            }
        };
        let with_body = |rb: tests::RequestBuilder| {
            if op.json_body() {
                rb.json(&json!({}))
            } else {
                rb
            }
        };

        if op.portal() || op.admin() {
            let r = send(with_body(s.request(method.clone(), &op.url("")))).await;
            assert_eq!(
                r.status, 401,
                "{} {} without credentials",
                op.method, op.path
            );
            failures.extend(op.check("no credentials", &r));
        }
        if op.path == "/v1/portal/session" && op.method == "DELETE" {
            let r = send(authed(&op.url(""))).await;
            failures.extend(op.check("log out", &r));
            continue;
        }
        if op.path.starts_with("/v1/") {
            let r = send(with_body(authed(&op.url("")))).await;
            failures.extend(op.check("unknown ids, empty body", &r));
        }
        if op.json_body() {
            let probes: [(&str, &str, String); 4] = [
                ("malformed JSON", "application/json", "{\"name\":".into()),
                ("not JSON", "text/plain", "name=x".into()),
                (
                    "too large",
                    "application/json",
                    format!("{{\"name\": \"{}\"}}", "x".repeat(MAX_BODY)),
                ),
                (
                    "unknown field",
                    "application/json",
                    "{\"zz_unknown\": 1}".into(),
                ),
            ];
            for (probe, content_type, body) in probes {
                let r = send(
                    authed(&op.url(""))
                        .header("content-type", content_type)
                        .body(body),
                )
                .await;
                failures.extend(op.check(probe, &r));
            }
        }
        for name in op.params("query") {
            let r = send(with_body(authed(&op.url(&format!("{name}=%ZZ%20abc"))))).await;
            failures.extend(op.check(&format!("query {name}=abc"), &r));
        }
        if !op.params("query").is_empty() {
            let r = send(with_body(authed(&op.url("zz_unknown=1")))).await;
            failures.extend(op.check("unknown query parameter", &r));
        }
        if op.params("header").contains(&"Idempotency-Key") {
            let r = send(with_body(
                authed(&op.url("")).header("Idempotency-Key", "k".repeat(300)),
            ))
            .await;
            failures.extend(op.check("Idempotency-Key too long", &r));
        }
    }
    assert!(
        failures.is_empty(),
        "{} undeclared answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
