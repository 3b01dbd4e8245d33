//! The committed `openapi/openapi.json` is exactly what the code generates, and the document
//! tells the truth about authentication and errors.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use serde_json::Value;

fn generated() -> String {
    api::openapi_spec()
        .to_pretty_json()
        .expect("spec serialises")
        + "\n"
}

#[test]
fn committed_spec_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
        .unwrap_or_default();
    assert!(
        committed == generated(),
        "openapi/openapi.json is out of date: run `cargo run -p openapi --bin gen-openapi` and commit it"
    );
}

#[test]
fn every_operation_declares_its_credentials_and_errors() {
    let spec: Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "x-api-key");
    assert_eq!(schemes["session_token"]["name"], "X-Session-Token");
    let (mut admin_ops, mut portal_ops) = (0, 0);
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            // The routes the merchant's software calls with a license key, which is their only
            // credential: no header scheme, and their refusals and rate limit documented.
            let license_route = path.starts_with("/v1/licenses/");
            if license_route {
                assert!(
                    op["security"].is_null(),
                    "{method} {path} takes the license key, not a header credential"
                );
                for status in ["422", "429"] {
                    assert!(
                        responses[status]["content"]["application/problem+json"].is_object(),
                        "{method} {path} must document {status} as problem+json"
                    );
                }
            }
            if path.starts_with("/v1/") && !path.starts_with("/v1/portal/") && !license_route {
                admin_ops += 1;
                assert_eq!(
                    op["security"][0]["api_key"],
                    serde_json::json!([]),
                    "{method} {path} must require x-api-key"
                );
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} must document 401"
                );
                for (status, r) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert!(
                            r["content"]["application/problem+json"].is_object(),
                            "{method} {path} {status} must be problem+json"
                        );
                    }
                }
            }
            // The two portal routes a browser calls before it has a session.
            let public = ["/v1/portal/session/exchange", "/v1/portal/login_links"];
            if path.starts_with("/v1/portal/") && !public.contains(&path.as_str()) {
                portal_ops += 1;
                assert_eq!(
                    op["security"][0]["session_token"],
                    serde_json::json!([]),
                    "{method} {path} must require X-Session-Token"
                );
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} must document 401"
                );
            }
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} needs a description"
            );
        }
    }
    assert!(admin_ops >= 14, "found {admin_ops} admin operations");
    assert!(portal_ops >= 4, "found {portal_ops} portal operations");
}

#[test]
fn operation_ids_are_unique_and_tags_declared() {
    let spec: Value = serde_json::from_str(&generated()).unwrap();
    let tags: Vec<&str> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{method} {path}: operationId `{id}` is not snake_case"
            );
            if let Some(other) = ids.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId `{id}` is used by {other} and {method} {path}");
            }
            let op_tags = op["tags"].as_array().expect("tags");
            assert_eq!(op_tags.len(), 1, "{method} {path}: one tag");
            assert!(
                tags.contains(&op_tags[0].as_str().unwrap()),
                "{method} {path}: tag {} is not declared",
                op_tags[0]
            );
        }
    }
}

#[test]
fn every_response_is_described_with_examples_of_its_codes() {
    let spec: Value = serde_json::from_str(&generated()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().unwrap() {
                assert!(
                    r["description"]
                        .as_str()
                        .is_some_and(|d| !d.trim().is_empty()),
                    "{method} {path} {status} needs a description"
                );
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                let examples = r["content"]["application/problem+json"]["examples"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {path} {status}: examples"));
                assert!(!examples.is_empty());
                for (code, example) in examples {
                    let value = &example["value"];
                    assert_eq!(value["code"], code.as_str(), "{method} {path} {status}");
                    assert_eq!(value["status"].to_string(), *status, "{method} {path}");
                    assert!(
                        r["description"]
                            .as_str()
                            .unwrap()
                            .contains(&format!("`{code}`")),
                        "{method} {path} {status}: the description names `{code}`"
                    );
                }
            }
        }
    }
}

/// A bare `{"type": "object"}` types as an empty object in generated clients
/// (`Record<string, never>`); free-form maps must declare `additionalProperties`.
#[test]
fn objects_declare_their_properties() {
    fn walk(v: &Value, at: &str) {
        match v {
            Value::Object(o) => {
                if o.get("type") == Some(&Value::from("object")) {
                    assert!(
                        o.contains_key("properties") || o.contains_key("additionalProperties"),
                        "{at}: an object schema without properties or additionalProperties"
                    );
                }
                for (k, v) in o {
                    walk(v, &format!("{at}/{k}"));
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, at)),
            _ => {}
        }
    }
    walk(&serde_json::from_str(&generated()).unwrap(), "#");
}

/// Every `code` the spec shows is an `ErrorCode` answered with that status, and every
/// `ErrorCode` is documented (an example of some operation, or named in the API description)
/// and used by the code.
#[test]
fn error_codes_are_one_closed_set_used_and_documented() {
    use domain::ErrorCode;
    let spec: Value = serde_json::from_str(&generated()).unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let examples = &response["content"]["application/problem+json"]["examples"];
                for code in examples.as_object().into_iter().flatten().map(|(k, _)| k) {
                    let known = ErrorCode::parse(code)
                        .unwrap_or_else(|| panic!("{method} {path}: `{code}` is not an ErrorCode"));
                    assert_eq!(
                        known.status().to_string(),
                        *status,
                        "{method} {path}: `{code}` is declared under {status}"
                    );
                    documented.insert(code.clone());
                }
            }
        }
    }
    let description = spec["info"]["description"].as_str().unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut source = String::new();
    for dir in ["api/src", "domain/src", "storage/src"] {
        read_rust(&std::path::Path::new(root).join(dir), &mut source);
    }
    for code in ErrorCode::ALL {
        let text = code.as_str();
        assert!(
            documented.contains(text) || description.contains(&format!("`{text}`")),
            "`{text}` is documented nowhere in the spec"
        );
        let use_site = format!("ErrorCode::{code:?}");
        assert!(source.contains(&use_site), "{use_site} is never used");
    }
}

/// The Rust source under `dir`, except the file that declares the codes.
fn read_rust(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_rust(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("domain/src/error.rs")
        {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Every `$ref` names a schema the document defines.
#[test]
fn every_reference_resolves() {
    let text = generated();
    let spec: Value = serde_json::from_str(&text).unwrap();
    let defined = spec["components"]["schemas"].as_object().unwrap();
    for (at, _) in text.match_indices("#/components/schemas/") {
        let name: String = text[at + 21..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            defined.contains_key(&name),
            "$ref to {name}, which is not defined"
        );
    }
}

/// A string with a fixed set of values is an `enum` in the contract (generated from the Rust
/// enum), not a list in its description that generated clients cannot check. The exceptions
/// are free text given examples, and a comma-separated list parameter.
#[test]
fn fixed_value_sets_are_enums() {
    fn walk(v: &Value, path: &str, found: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                let is_string =
                    |t: &Value| t == "string" || t == &serde_json::json!(["string", "null"]);
                let stringy = o.get("type").is_some_and(is_string)
                    || o.get("schema")
                        .and_then(|s| s.get("type"))
                        .is_some_and(is_string);
                let listed = o
                    .get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| {
                        // "`a`, `b` or `c`" and "`a` (…) or `b`", but not "e.g. `a`, `b`"; a
                        // description wrapped over lines reads as one.
                        let d = d.split_whitespace().collect::<Vec<_>>().join(" ");
                        let ticks = d.matches('`').count();
                        ticks >= 4 && (d.contains("` or `") || d.contains(") or `"))
                    });
                let excepted = o
                    .get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| {
                        d.contains("e.g.") || d.contains("comma-separated") || d.contains('<')
                    });
                if stringy && listed && !excepted && !o.contains_key("enum") {
                    found.push(path.to_owned());
                }
                for (k, v) in o {
                    walk(v, &format!("{path}/{k}"), found);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), found);
                }
            }
            _ => {}
        }
    }
    let spec: Value = serde_json::from_str(&generated()).unwrap();
    let mut found = Vec::new();
    walk(&spec, "", &mut found);
    assert!(
        found.is_empty(),
        "values listed in prose, not as an enum: {found:#?}"
    );
}

/// Every id in a route's path carries the pattern of the ids the server issues (the
/// merchant's own `external_id` excepted), declared once in `api/src/routes/paths.rs`.
#[test]
fn path_ids_carry_their_pattern() {
    let spec: Value = serde_json::from_str(&generated()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut names = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] != "path" {
                    continue;
                }
                let name = p["name"].as_str().unwrap();
                assert!(!names.contains(&name), "{method} {path}: {name} twice");
                names.push(name);
                if name != "external_id" {
                    assert!(
                        p["schema"]["pattern"].is_string(),
                        "{method} {path}: {name} has no pattern"
                    );
                }
            }
        }
    }
}

/// Every id, currency and decimal a schema carries has the pattern of the form the server
/// writes (added in one place, `api/src/openapi.rs`'s `Formats`), and every example agrees with
/// its pattern. The merchant's own ids (`external_id`, a usage event's `event_id`) and the
/// request id have none: they are any text.
#[test]
fn ids_currencies_and_decimals_carry_their_pattern() {
    const FREE_TEXT: [&str; 5] = [
        "external_id",
        "external_customer_id",
        "event_id",
        "request_id",
        "tax_id",
    ];
    let spec: Value = serde_json::from_str(&generated()).unwrap();
    let mut patterned = 0;
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        for (property, p) in schema["properties"].as_object().into_iter().flatten() {
            let text = p["type"] == "string" || p["type"][0] == "string";
            if !text || p.get("enum").is_some() {
                continue;
            }
            let id_like = property == "id" || property.ends_with("_id") || property == "currency";
            if id_like && !FREE_TEXT.contains(&property.as_str()) {
                assert!(p["pattern"].is_string(), "{name}.{property} has no pattern");
            }
            let Some(pattern) = p["pattern"].as_str() else {
                continue;
            };
            patterned += 1;
            let re = regex::Regex::new(pattern).unwrap();
            if let Some(example) = p["example"].as_str() {
                assert!(
                    re.is_match(example),
                    "{name}.{property}: example {example:?} does not match {pattern}"
                );
            }
        }
    }
    assert!(patterned > 100, "only {patterned} patterned properties");
}
