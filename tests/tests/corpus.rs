//! The bad-input corpus, against every operation that takes a JSON body or query parameters.
//! Each field of a realistic body (the spec's example, with real ids) and each query parameter
//! gets every value of the corpus in turn: NUL, timestamps the databases cannot read back,
//! numbers that would explode, padded amounts, very long text, injection-looking text, other
//! scripts, wrong types. Every answer must be below 500 and declared by the spec for that
//! operation, and a refused request (4xx) must leave everything stored exactly as it was.

use serde_json::{json, Value};
use tests::spec::{operations, Op};
use tests::{on_both_backends, send, Backend, Method, TestServer};

on_both_backends!(start = server; every_field_takes_the_corpus);

fn server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.limits.auth_failures_per_minute = 0;
        c.limits.portal_per_minute = 0;
        c.limits.session_create_per_minute = 0;
    })
}

/// Values for JSON fields.
fn body_corpus() -> Vec<Value> {
    vec![
        json!("\u{0}"),
        json!("a\u{0}b"),
        json!("-0001-01-01T00:00:00Z"),
        json!("0000-01-01T00:00:00Z"),
        json!("2016-12-31T23:59:60Z"),
        json!("1e1000000"),
        json!("1e-1000000"),
        json!("99999999999999999999999999999999999999999"),
        json!(" 1"),
        json!("NaN"),
        json!("-0"),
        json!(""),
        json!("x".repeat(5000)),
        json!("'; DROP TABLE customers; --"),
        json!("🧾 Ünïcødé 中文 עברית"),
        json!(1e308),
        json!(-1),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
    ]
}

/// Values for query parameters, already percent-encoded.
fn query_corpus() -> Vec<String> {
    vec![
        "%00".into(),
        "a%00b".into(),
        "-0001-01-01T00:00:00Z".into(),
        "2016-12-31T23:59:60Z".into(),
        "1e1000000".into(),
        "99999999999999999999".into(),
        "-1".into(),
        "".into(),
        "x".repeat(3000),
        "%27%3B%20DROP%20TABLE%20customers%3B--".into(),
        "%F0%9F%A7%BE".into(),
        "%25%25".into(),
    ]
}

struct Fixtures {
    ids: Vec<(&'static str, String)>,
    token: String,
}

impl Fixtures {
    async fn create(s: &TestServer) -> Self {
        let ok = |r: tests::Reply| {
            assert!(r.status.is_success(), "{}", r.body);
            r.body
        };
        let customer = ok(send(
            s.admin(Method::POST, "/v1/customers")
                .json(&json!({"name": "Corpus", "external_id": "corpus-1", "email": "c@x.test"})),
        )
        .await);
        let cus = customer["id"].as_str().unwrap().to_owned();
        let wallet = ok(send(
            s.admin(Method::POST, "/v1/wallets")
                .json(&json!({"customer_id": cus, "currency": "USD", "conversion_rate": "0.01"})),
        )
        .await);
        let wal = wallet["id"].as_str().unwrap().to_owned();
        ok(send(
            s.admin(Method::POST, &format!("/v1/wallets/{wal}/top_up"))
                .json(&json!({"credits": "100000"})),
        )
        .await);
        let feature = ok(send(s.admin(Method::POST, "/v1/features").json(&json!({
            "key": "api_calls", "name": "API calls", "unit": "call", "aggregation": "count",
            "unit_price": "0.01", "currency": "USD"
        })))
        .await);
        let line = json!([{"description": "Plan", "quantity": "1", "unit_amount": "10"}]);
        let draft = ok(send(
            s.admin(Method::POST, "/v1/invoices")
                .json(&json!({"customer_id": cus, "currency": "USD", "lines": line})),
        )
        .await);
        let open = ok(send(
            s.admin(Method::POST, "/v1/invoices")
                .json(&json!({"customer_id": cus, "currency": "USD", "lines": line})),
        )
        .await);
        let open_id = open["id"].as_str().unwrap().to_owned();
        ok(send(s.admin(Method::POST, &format!("/v1/invoices/{open_id}/finalize"))).await);
        let payment = ok(send(
            s.admin(Method::POST, &format!("/v1/invoices/{open_id}/payments"))
                .json(&json!({"amount": "1.00", "method": "external", "reference": "x"})),
        )
        .await);
        let session = ok(send(
            s.admin(Method::POST, "/v1/portal_sessions")
                .json(&json!({"customer_id": cus})),
        )
        .await);
        let spare_key = ok(send(
            s.admin(Method::POST, "/v1/api_keys")
                .json(&json!({"name": "spare"})),
        )
        .await);
        let id = |v: &Value, pointer: &str| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{pointer} in {v}"))
                .to_owned()
        };
        Fixtures {
            ids: vec![
                ("cus_", cus),
                ("wal_", wal),
                ("inv_", id(&draft, "/id")),
                ("inv_open", open_id),
                ("pay_", id(&payment, "/payment/id")),
                ("feat_", id(&feature, "/id")),
                ("ps_", id(&session, "/id")),
                ("key_", id(&spare_key, "/id")),
            ],
            token: session["token"].as_str().unwrap().to_owned(),
        }
    }

    fn id(&self, prefix: &str) -> &str {
        &self.ids.iter().find(|(p, _)| *p == prefix).unwrap().1
    }

    /// The path with real objects for its parameters.
    fn path(&self, op: &Op) -> String {
        let resource = op
            .path
            .trim_start_matches("/v1/")
            .trim_start_matches("portal/")
            .split('/')
            .next()
            .unwrap_or_default();
        let prefix = match resource {
            "customers" => "cus_",
            "wallets" => "wal_",
            "invoices" if op.path.starts_with("/v1/portal/") => "inv_open",
            "invoices" => "inv_",
            "payments" => "pay_",
            "features" => "feat_",
            "portal_sessions" => "ps_",
            "api_keys" => "key_",
            _ => "cus_",
        };
        op.path
            .replace("{id}", self.id(prefix))
            .replace("{external_id}", "corpus-1")
    }

    /// Ids in an example body replaced by the fixtures' (by prefix).
    fn real_ids(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some((_, id)) = self
                    .ids
                    .iter()
                    .find(|(p, _)| p.ends_with('_') && s.starts_with(p))
                {
                    *s = id.clone();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.real_ids(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.real_ids(i)),
            _ => {}
        }
    }
}

/// The example body of `op` (from its schema), or `{}`.
fn example_body(spec: &Value, op: &Op) -> Value {
    let content = &op.spec["requestBody"]["content"]["application/json"];
    if content["example"].is_object() {
        return content["example"].clone();
    }
    let schema = match content["schema"]["$ref"].as_str() {
        Some(r) => &spec["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => &content["schema"],
    };
    if schema["example"].is_object() {
        return schema["example"].clone();
    }
    json!({})
}

/// Field paths of a body to vary: its keys, and the keys of the first object of each array.
fn fields(body: &Value, spec: &Value, op: &Op) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let content = &op.spec["requestBody"]["content"]["application/json"]["schema"];
    let schema = match content["$ref"].as_str() {
        Some(r) => &spec["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => content,
    };
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for k in body.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    for name in names {
        if let Some(Value::Array(items)) = body.get(&name) {
            if let Some(Value::Object(first)) = items.first() {
                for k in first.keys() {
                    out.push(vec![name.clone(), "0".into(), k.clone()]);
                }
            }
        }
        out.push(vec![name]);
    }
    out
}

fn set(body: &mut Value, path: &[String], value: Value) {
    let mut at = body;
    for (i, key) in path.iter().enumerate() {
        let last = i == path.len() - 1;
        at = match at {
            Value::Array(items) => {
                let idx: usize = key.parse().unwrap();
                if last {
                    items[idx] = value;
                    return;
                }
                &mut items[idx]
            }
            Value::Object(map) => {
                if last {
                    map.insert(key.clone(), value);
                    return;
                }
                map.entry(key.clone()).or_insert(json!({}))
            }
            _ => return,
        };
    }
}

/// Operations that end a fixture run last, so the others meet live objects. A new session
/// with `invalidate_existing` ends the fixture's.
fn ends_something(op: &Op) -> bool {
    let id = op.spec["operationId"].as_str().unwrap_or_default();
    ["archive_", "close_", "void_", "delete_", "revoke_", "end_"]
        .iter()
        .any(|p| id.starts_with(p))
        || ["create_portal_session", "send_portal_link"].contains(&id)
}

async fn every_field_takes_the_corpus(s: TestServer) {
    let spec = s.served_spec().await;
    let fixtures = Fixtures::create(&s).await;
    let state_query = s.stored_state_query();
    let stored = || {
        let mut rows = s.query_texts(&state_query);
        rows.sort();
        rows.join("\n")
    };
    let mut ops: Vec<Op> = operations(&spec)
        .into_iter()
        .filter(|op| op.json_body() || !op.params("query").is_empty())
        .collect();
    ops.sort_by_key(ends_something);
    assert!(
        ops.len() >= 30,
        "{} operations take a body or query",
        ops.len()
    );

    let mut failures = Vec::new();
    let mut requests = 0;
    let mut before = stored();
    for op in &ops {
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let path = fixtures.path(op);
        let request = |url: &str| {
            let rb = s.request(method.clone(), url);
            if op.portal() {
                rb.header("X-Session-Token", &fixtures.token)
            } else {
                rb.header("x-api-key", &s.key)
            }
        };
        let mut cases: Vec<(String, tests::RequestBuilder)> = Vec::new();
        if op.json_body() {
            let mut base = example_body(&spec, op);
            fixtures.real_ids(&mut base);
            for field in fields(&base, &spec, op) {
                for value in body_corpus() {
                    let mut body = base.clone();
                    set(&mut body, &field, value.clone());
                    let shown: String = value.to_string().chars().take(40).collect();
                    cases.push((
                        format!("{} = {shown}", field.join(".")),
                        request(&path).json(&body),
                    ));
                }
            }
        }
        for name in op.params("query") {
            for value in query_corpus() {
                let shown: String = value.chars().take(40).collect();
                let rb = request(&format!("{path}?{name}={value}"));
                let rb = if op.json_body() {
                    rb.json(&json!({}))
                } else {
                    rb
                };
                cases.push((format!("?{name}={shown}"), rb));
            }
        }
        for (case, rb) in cases {
            requests += 1;
            let r = send(rb).await;
            if r.status.is_server_error() {
                failures.push(format!(
                    "{} {} ({case}): {} {}",
                    op.method, op.path, r.status, r.body
                ));
                continue;
            }
            failures.extend(op.check(&case, &r));
            let after = stored();
            if r.status.is_client_error() && after != before {
                failures.push(format!(
                    "{} {} ({case}): refused with {} but changed what is stored",
                    op.method, op.path, r.status
                ));
            }
            before = after;
        }
    }
    eprintln!("{requests} corpus requests over {} operations", ops.len());
    assert!(requests > 1000, "{requests} requests");
    assert!(
        failures.is_empty(),
        "{} of {requests} corpus requests went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
