//! The server's log: `RUST_LOG`-filtered lines on stderr — text, or one JSON object per line
//! with `PORTAL_LOG_FORMAT=json` for log pipelines — with one correction. The HTTP layer
//! (actix-http) logs a request it cannot even parse (a malformed request line, header or
//! chunk) at ERROR, before any of our code runs. That is the client's mistake, not the
//! server's, and anyone could fill the error log with it, so such lines are logged again at
//! DEBUG (target `api::http`) and the ERROR line is dropped. Real faults stay at ERROR.

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`, `span`).
    Json,
}

/// Installs the process's subscriber (`RUST_LOG`, default `info`), exporting its spans with
/// `tracer` when traces are on (see `crate::traces`).
pub fn init(format: LogFormat, tracer: Option<opentelemetry_sdk::trace::SdkTracer>) {
    // `RUST_LOG` filters the log only: traces keep every INFO span (requests, units of work)
    // whatever the log's level.
    let log_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let traces = tracer.map(|t| {
        tracing_opentelemetry::layer()
            .with_tracer(t)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let base = tracing_subscriber::registry()
        .with(ClientMistakes)
        .with(traces);
    match format {
        LogFormat::Text => base
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(log_filter),
            )
            .init(),
        LogFormat::Json => base
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .with_filter(log_filter),
            )
            .init(),
    }
}

/// actix-http's per-connection errors: the message it logs them with, and where.
const DISPATCHER: &str = "actix_http::h1::dispatcher";
const STREAM_ERROR: &str = "stream error: ";

struct ClientMistakes;

impl<S: Subscriber> Layer<S> for ClientMistakes {
    fn event_enabled(&self, event: &Event<'_>, _cx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || meta.target() != DISPATCHER {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        match message.0.strip_prefix(STREAM_ERROR) {
            Some(error) => {
                tracing::debug!(target: "api::http", %error, "malformed request refused");
                false
            }
            None => true,
        }
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
}
