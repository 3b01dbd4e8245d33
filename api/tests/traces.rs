//! OpenTelemetry traces over OTLP/HTTP from the real process to an OTLP receiver the test starts
//! (the tests' HTTP receiver, keeping each export's JSON body): with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, each request is a span under service `portal-api`, a
//! request's `traceparent` makes its span the caller's child, and the spans still buffered are
//! sent when the server stops on SIGTERM.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;
#[path = "../../tests/src/receiver.rs"]
#[allow(
    dead_code,
    reason = "the tests crate's helper; these tests use part of it"
)]
mod receiver;

use std::time::Duration;

use serde_json::Value;

use common::{ready, Process, KEY};
use receiver::Receiver;

/// Every span the collector received: (resource attributes, span), from each export's JSON body.
fn spans(collector: &Receiver) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for export in collector.received() {
        assert_eq!(export.path, "/v1/traces");
        assert_eq!(export.header("content-type"), "application/json");
        let body = export.json();
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

fn attribute<'a>(attributes: &'a Value, key: &str) -> Option<&'a Value> {
    attributes
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_spans_in_the_callers_trace() {
    let collector = Receiver::start();
    let endpoint = collector.url.trim_end_matches("/hook").to_owned();
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

    let spans = spans(&collector);
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
