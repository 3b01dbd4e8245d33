//! Operations of the served OpenAPI document, and whether an answer is one they declare.

use serde_json::Value;

use crate::Reply;

/// Every operation of `spec`.
pub fn operations(spec: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push(Op {
                method: method.to_uppercase(),
                path: path.clone(),
                spec: op.clone(),
            });
        }
    }
    ops
}

pub struct Op {
    pub method: String,
    pub path: String,
    pub spec: Value,
}

impl Op {
    pub fn params(&self, place: &str) -> Vec<&str> {
        self.spec["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == place)
            .filter_map(|p| p["name"].as_str())
            .collect()
    }

    pub fn json_body(&self) -> bool {
        self.spec["requestBody"]["content"]["application/json"].is_object()
    }

    pub fn portal(&self) -> bool {
        self.spec["security"][0]["session_token"].is_array()
    }

    pub fn admin(&self) -> bool {
        self.spec["security"][0]["api_key"].is_array()
    }

    /// The path with every parameter replaced by an id that exists nowhere.
    pub fn url(&self, query: &str) -> String {
        let mut url = self.path.clone();
        for p in self.params("path") {
            url = url.replace(&format!("{{{p}}}"), "zz_does_not_exist");
        }
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        url
    }

    /// What is wrong with answer `r` to `probe`, if anything.
    pub fn check(&self, probe: &str, r: &Reply) -> Option<String> {
        let (method, path) = (&self.method, &self.path);
        let status = r.status.as_u16().to_string();
        let declared = &self.spec["responses"][&status];
        if !declared.is_object() {
            return Some(format!(
                "{method} {path} ({probe}) answered {status}, which the spec does not declare; body: {}",
                r.body
            ));
        }
        if !(r.status.is_client_error() || r.status.is_server_error()) {
            return None;
        }
        if r.header("content-type") != Some("application/problem+json") {
            return Some(format!(
                "{method} {path} ({probe}): {status} is not problem+json"
            ));
        }
        let code = r.body["code"].as_str().unwrap_or_default();
        let examples = &declared["content"]["application/problem+json"]["examples"];
        (!examples[code].is_object()).then(|| {
            format!(
                "{method} {path} ({probe}) answered {status} `{code}`, not among the declared codes {:?}",
                examples.as_object().map(|o| o.keys().collect::<Vec<_>>())
            )
        })
    }
}
