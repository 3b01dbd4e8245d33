//! OpenTelemetry traces over OTLP, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard
//! variable; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and `OTEL_EXPORTER_OTLP_HEADERS` are read too).
//! The spans already written for the log — one per request (`request`, with its request id) and
//! one per unit of background work (`billing_pass`, `webhook_pass`, `mail_pass`) — are exported
//! through `tracing-opentelemetry` by the SDK's batch processor, as OTLP/HTTP with JSON bodies.
//! A request's `traceparent` (W3C Trace Context) makes its span a child of the caller's.

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// Whether spans are exported (set once, at start): requests read `traceparent` only then.
static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn enabled() -> bool {
    ENABLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The exporting pipeline; flush it with [`Traces::shutdown`] before the process ends.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// The tracer spans are exported with, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces
    /// one) is set; None otherwise. Built outside any async runtime (its HTTP client blocks).
    pub fn from_env() -> Result<Option<(Self, SdkTracer)>, String> {
        let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            return Ok(None);
        }
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .build()
            .map_err(|e| format!("OTLP exporter: {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("portal-api").build())
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let tracer = provider.tracer("portal-api");
        ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(Some((Self { provider }, tracer)))
    }

    /// Sends the spans still buffered, then stops the exporter.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("traces: {e}");
        }
    }
}

/// The caller's trace context, from a request's `traceparent` (and `tracestate`).
pub fn caller_context(headers: &actix_web::http::header::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)))
}

struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
