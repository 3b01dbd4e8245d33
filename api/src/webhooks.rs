//! The webhook worker of this node: fans new events out to endpoints, claims due deliveries and
//! POSTs them, signed per Standard Webhooks, then records each attempt. Every replica runs it;
//! claims skip rows another node holds, so an event goes out once in the normal case, and at
//! least once across crashes (a claim not recorded within its lease comes due again).
//!
//! Receivers get deliveries in no guaranteed order (retries overtake, replicas send in
//! parallel): each payload carries its `timestamp` and the object's state, and `webhook-id`
//! lets them drop repeats.

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Data;
use domain::webhook::{forbidden_ip, DeliveryAttempt, Dispatch};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::state::AppState;

/// The largest answer read from a receiver; the rest is not read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// What the delivery log keeps of an answer.
const EXCERPT_BYTES: usize = 1024;

/// How the worker runs on this node.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How often it looks for new events and due deliveries.
    pub poll: Duration,
    /// Deliveries sent at once.
    pub concurrency: usize,
    /// A receiver's whole answer must arrive within this.
    pub timeout: Duration,
    /// `http` and loopback/private targets allowed (development and tests).
    pub allow_insecure: bool,
}

/// Sends one delivery attempt.
pub struct Sender {
    client: reqwest::Client,
    allow_insecure: bool,
}

/// Resolves names like the system does, then drops every forbidden address: a name that
/// resolves only to loopback, private or metadata addresses cannot be reached, however it was
/// registered (checked at each connection, so DNS changes after registration do not help).
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| !forbidden_ip(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{} resolves only to loopback, private, link-local or reserved addresses",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl Sender {
    pub fn new(timeout: Duration, allow_insecure: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portal-api-webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30));
        if !allow_insecure {
            builder = builder
                .https_only(true)
                .dns_resolver(Arc::new(GuardedResolver));
        }
        let client = builder
            .build()
            .map_err(|e| format!("webhook HTTP client: {e}"))?;
        Ok(Self {
            client,
            allow_insecure,
        })
    }

    /// POSTs the event and reports the attempt. 2xx is delivered; anything else, a redirect
    /// included, is a failure.
    pub async fn send(&self, d: &Dispatch) -> DeliveryAttempt {
        let attempted_at = domain::clock::now();
        let started = Instant::now();
        let outcome = self.post(d, attempted_at.timestamp()).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let (http_status, response_excerpt, error) = match outcome {
            Ok((status, body)) => {
                let error = match status {
                    200..=299 => None,
                    300..=399 => Some("redirects are not followed".to_owned()),
                    410 => Some("410 Gone: the endpoint is disabled".to_owned()),
                    _ => Some(format!("HTTP {status}")),
                };
                (Some(i32::from(status)), Some(body), error)
            }
            Err(e) => (None, None, Some(e)),
        };
        DeliveryAttempt {
            number: d.attempt,
            attempted_at,
            http_status,
            duration_ms,
            response_excerpt: response_excerpt.filter(|b| !b.is_empty()),
            error,
        }
    }

    async fn post(&self, d: &Dispatch, timestamp: i64) -> Result<(u16, String), String> {
        let url = reqwest::Url::parse(&d.url).map_err(|e| format!("invalid URL: {e}"))?;
        if !self.allow_insecure {
            // An address written as an IP does not go through the resolver.
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if literal.is_some_and(forbidden_ip) {
                return Err("the URL points at a loopback, private or reserved address".into());
            }
        }
        let signature = domain::webhook::signature(&d.secrets, &d.event_id, timestamp, &d.payload)
            .map_err(|e| e.to_string())?;
        let mut resp = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", d.event_id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while body.len() < MAX_RESPONSE_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(describe(e)),
            }
        }
        body.truncate(EXCERPT_BYTES);
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// A transport failure in words a merchant can act on (never the secret or the payload).
fn describe(e: reqwest::Error) -> String {
    use std::error::Error as _;
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = e.source();
    let mut detail = String::new();
    while let Some(c) = cause {
        detail = c.to_string();
        cause = c.source();
    }
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    }
}

/// The worker loop: each pass fans out new events, then sends due deliveries until none are
/// left, `concurrency` at a time.
pub async fn worker(state: Data<AppState>, settings: WorkerSettings) {
    let sender = match Sender::new(settings.timeout, settings.allow_insecure) {
        Ok(s) => Rc::new(s),
        Err(e) => {
            tracing::error!(error = %e, "webhook worker not started");
            return;
        }
    };
    let mut tick = actix_web::rt::time::interval(settings.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = pass(&state, &sender, settings.concurrency).await {
            tracing::warn!(error = %e, "webhook pass failed");
        }
    }
}

async fn pass(
    state: &Data<AppState>,
    sender: &Rc<Sender>,
    concurrency: usize,
) -> Result<(), String> {
    let svc = state.webhooks.clone();
    let fanned = actix_web::web::block(move || svc.fan_out(domain::clock::now()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if fanned.events > 0 {
        tracing::debug!(
            events = fanned.events,
            deliveries = fanned.deliveries,
            "webhook events fanned out"
        );
    }
    loop {
        let svc = state.webhooks.clone();
        let limit = concurrency as i64;
        let claimed = actix_web::web::block(move || svc.claim(domain::clock::now(), limit))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let full = claimed.len() as i64 == limit;
        let sends = claimed.into_iter().map(|d| {
            let (sender, svc) = (sender.clone(), state.webhooks.clone());
            async move {
                let attempt = sender.send(&d).await;
                let jitter = rand::rng().random_range(-1.0..=1.0);
                let recorded =
                    actix_web::web::block(move || svc.record(&d, &attempt, jitter)).await;
                match recorded {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "recording a webhook attempt failed"),
                    Err(e) => {
                        tracing::warn!(error = %e, "recording a webhook attempt could not run")
                    }
                }
            }
        });
        futures_util::future::join_all(sends).await;
        if !full {
            return Ok(());
        }
    }
}
