//! Builders for the objects tests start from, one per resource. Each creates through the admin
//! API, asserts it was created, and returns what the next step needs.

use serde_json::{json, Value};

use crate::{send, Method, Reply, TestServer};

/// Creates an object with `POST path` and `body`; panics unless it answers 201.
pub async fn created(s: &TestServer, path: &str, body: Value) -> Reply {
    let r = send(s.admin(Method::POST, path).json(&body)).await;
    assert_eq!(r.status, 201, "POST {path} {body}: {}", r.body);
    r
}

/// `POST path` with `body` as the admin; panics unless it answers 2xx (an action on an object,
/// which answers 200, as well as a creation).
pub async fn posted(s: &TestServer, path: &str, body: Value) -> Reply {
    let r = send(s.admin(Method::POST, path).json(&body)).await;
    assert!(
        r.status.is_success(),
        "POST {path} {body}: {} {}",
        r.status,
        r.body
    );
    r
}

/// The `id` of an answer.
pub fn id(r: &Reply) -> String {
    r.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", r.body))
        .to_owned()
}

/// A customer from `body` (at least a `name`); its id.
pub async fn customer(s: &TestServer, body: Value) -> String {
    id(&created(s, "/v1/customers", body).await)
}

/// A customer named and keyed by `external_id`; its id.
pub async fn customer_named(s: &TestServer, external_id: &str) -> String {
    customer(s, json!({"name": external_id, "external_id": external_id})).await
}

/// A wallet of the customer; its id.
pub async fn wallet(s: &TestServer, customer_id: &str, currency: &str, rate: &str) -> String {
    id(&created(
        s,
        "/v1/wallets",
        json!({"customer_id": customer_id, "currency": currency, "conversion_rate": rate}),
    )
    .await)
}

/// A usage feature from `body`.
pub async fn feature(s: &TestServer, body: Value) -> Reply {
    created(s, "/v1/features", body).await
}

/// A portal session from `body` (at least a `customer_id`).
pub async fn portal_session(s: &TestServer, body: Value) -> Reply {
    created(s, "/v1/portal_sessions", body).await
}

/// The session token of a created portal session.
pub fn token(r: &Reply) -> String {
    r.body["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {}", r.body))
        .to_owned()
}

/// The `status` of each event of a batch answer, in order.
pub fn event_statuses(r: &Reply) -> Vec<String> {
    r.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {}", r.body))
        .iter()
        .map(|x| x["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A PDF's page count and its text, as a third-party reader (lopdf) extracts it.
pub fn pdf_text(bytes: &[u8]) -> (usize, String) {
    let doc = lopdf::Document::load_mem(bytes).expect("a parseable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text extracts");
    (pages.len(), text)
}
