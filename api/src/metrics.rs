//! Prometheus metrics, served at `/metrics`.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Prometheus metrics: request counts and latencies by route and status, pool state; the
/// background work by outcome (billing steps, webhook deliveries, e-mails), usage events and
/// portal sessions by what became of them, and each worker queue's backlog.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    billing_steps: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    emails: IntCounterVec,
    usage_events: IntCounterVec,
    sessions: IntCounterVec,
    backlog_pending: IntGaugeVec,
    backlog_oldest: GaugeVec,
}

/// A counter by one label, every value of which is shown (at 0) from the start.
fn counter(name: &str, help: &str, label: &str, values: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric");
    for v in values {
        c.with_label_values(&[v]);
    }
    c
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status.",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let pool_connections = gauge("db_pool_connections", "Open database connections.");
        let pool_idle = gauge("db_pool_idle_connections", "Idle database connections.");
        let pool_max = gauge("db_pool_max_connections", "Configured pool size.");
        let billing_steps = counter(
            "billing_steps_total",
            "Billing steps this node ran (renewals, trial ends, cancellations, dunning retries), by outcome.",
            "outcome",
            &["done", "failed"],
        );
        let webhook_deliveries = counter(
            "webhook_deliveries_total",
            "Webhook delivery attempts this node made, by outcome.",
            "outcome",
            &["delivered", "failed"],
        );
        let emails = counter(
            "emails_total",
            "E-mail attempts this node made: sent, to be retried, or failed for good.",
            "outcome",
            &["sent", "retry", "failed"],
        );
        let usage_events = counter(
            "usage_events_total",
            "Usage events this node received, by what became of them.",
            "status",
            &["accepted", "duplicate", "rejected"],
        );
        let sessions = counter(
            "portal_sessions_total",
            "Portal sessions created, login codes exchanged, sessions revoked or logged out, and session tokens refused.",
            "event",
            &["created", "exchanged", "revoked", "refused"],
        );
        let backlog_pending = IntGaugeVec::new(
            Opts::new(
                "backlog_pending",
                "Work waiting, across accounts: subscriptions due for billing, webhook events not yet fanned out, deliveries pending, e-mails queued.",
            ),
            &["queue"],
        )
        .expect("valid metric");
        let backlog_oldest = GaugeVec::new(
            Opts::new(
                "backlog_oldest_seconds",
                "How long the oldest waiting item of each queue has waited (0 when empty); for billing, the billing lag.",
            ),
            &["queue"],
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max.clone()),
            Box::new(billing_steps.clone()),
            Box::new(webhook_deliveries.clone()),
            Box::new(emails.clone()),
            Box::new(usage_events.clone()),
            Box::new(sessions.clone()),
            Box::new(backlog_pending.clone()),
            Box::new(backlog_oldest.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            pool_max,
            billing_steps,
            webhook_deliveries,
            emails,
            usage_events,
            sessions,
            backlog_pending,
            backlog_oldest,
        }
    }

    pub fn billing(&self, done: usize, failed: usize) {
        self.billing_steps
            .with_label_values(&["done"])
            .inc_by(done as u64);
        self.billing_steps
            .with_label_values(&["failed"])
            .inc_by(failed as u64);
    }

    pub fn webhook_delivery(&self, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.webhook_deliveries.with_label_values(&[outcome]).inc();
    }

    /// `sent`, `retry` or `failed`.
    pub fn email(&self, outcome: &str) {
        self.emails.with_label_values(&[outcome]).inc();
    }

    pub fn usage_events(&self, accepted: usize, duplicate: usize, rejected: usize) {
        for (status, n) in [
            ("accepted", accepted),
            ("duplicate", duplicate),
            ("rejected", rejected),
        ] {
            self.usage_events
                .with_label_values(&[status])
                .inc_by(n as u64);
        }
    }

    /// `created`, `exchanged`, `revoked` or `refused`.
    pub fn session(&self, event: &str) {
        self.sessions.with_label_values(&[event]).inc();
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Prometheus text exposition, with the pool state and the queues' backlogs read now.
    pub fn render(
        &self,
        pool: (u32, u32, u32),
        backlogs: &[domain::health::Backlog],
        now: chrono::DateTime<chrono::Utc>,
    ) -> String {
        self.pool_connections.set(pool.0 as i64);
        self.pool_idle.set(pool.1 as i64);
        self.pool_max.set(pool.2 as i64);
        for b in backlogs {
            self.backlog_pending
                .with_label_values(&[b.queue])
                .set(b.pending);
            let waited = b
                .oldest
                .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
            self.backlog_oldest
                .with_label_values(&[b.queue])
                .set(waited);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}
