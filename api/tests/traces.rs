//! OpenTelemetry traces over OTLP/HTTP from the real process to an OTLP receiver the test starts
//! (Python's standard HTTP server, keeping each export's JSON body): with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, each request is a span under service `portal-api`, a
//! request's `traceparent` makes its span the caller's child, and the spans still buffered are
//! sent when the server stops on SIGTERM.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use common::{ready, Process, KEY};

const RECEIVER: &str = r#"
import http.server, json, sys
out = open(sys.argv[1], "a")
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = {"path": self.path, "type": self.headers.get("Content-Type"), "body": json.loads(body)}
        out.write(json.dumps(export) + "\n")
        out.flush()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

struct Receiver {
    child: Child,
    port: u16,
    file: tempfile::NamedTempFile,
}

impl Receiver {
    fn start() -> Self {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new("python3")
            .args(["-c", RECEIVER])
            .arg(file.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        Self {
            port: line.trim().parse().unwrap(),
            child,
            file,
        }
    }

    /// Every span received: (resource attributes, span), from each export's JSON body.
    fn spans(&self) -> Vec<(Value, Value)> {
        let text = std::fs::read_to_string(self.file.path()).unwrap();
        let mut out = Vec::new();
        for line in text.lines() {
            let export: Value = serde_json::from_str(line).unwrap();
            assert_eq!(export["path"], "/v1/traces");
            assert_eq!(export["type"], "application/json");
            let body = &export["body"];
            for rs in body["resourceSpans"].as_array().unwrap() {
                for ss in rs["scopeSpans"].as_array().unwrap() {
                    for span in ss["spans"].as_array().unwrap() {
                        out.push((rs["resource"]["attributes"].clone(), span.clone()));
                    }
                }
            }
        }
        out
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn attribute<'a>(attributes: &'a Value, key: &str) -> Option<&'a Value> {
    attributes
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_spans_in_the_callers_trace() {
    let receiver = Receiver::start();
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let token_key = api::tokens::PasetoCodec::generate_key();
    let mut server = Process::start_with(
        None,
        &token_key,
        None,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    );
    let (client, bases) = ready(std::slice::from_ref(&server)).await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let caller = "b7ad6b7169203331";
    let r = client
        .get(format!("{}/v1/customers", bases[0]))
        .header("x-api-key", KEY)
        .header("traceparent", format!("00-{trace_id}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let r = client
        .get(format!("{}/v1/plans", bases[0]))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Stopping flushes what the batch processor still holds.
    server.sigterm();
    let exit = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(60)));
    assert!(exit.success(), "{exit}");

    let spans = receiver.spans();
    let requests: Vec<&(Value, Value)> = spans
        .iter()
        .filter(|(_, s)| s["name"] == "request")
        .collect();
    let of = |path: &str| {
        requests
            .iter()
            .find(|(_, s)| {
                attribute(&s["attributes"], "path")
                    == Some(&serde_json::json!({"stringValue": path}))
            })
            .unwrap_or_else(|| panic!("no span for {path}: {spans:#?}"))
    };
    let (resource, traced) = of("/v1/customers");
    assert_eq!(
        attribute(resource, "service.name"),
        Some(&serde_json::json!({"stringValue": "portal-api"}))
    );
    assert_eq!(traced["traceId"], trace_id, "the caller's trace: {traced}");
    assert_eq!(
        traced["parentSpanId"], caller,
        "the caller's span is the parent: {traced}"
    );
    assert_eq!(
        attribute(&traced["attributes"], "request_id"),
        Some(&serde_json::json!({"stringValue": request_id}))
    );
    let (_, own) = of("/v1/plans");
    assert_ne!(
        own["traceId"], trace_id,
        "without traceparent, a trace of its own"
    );
    assert!(
        own["parentSpanId"].as_str().is_none_or(str::is_empty),
        "a root span: {own}"
    );
}
