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
use domain::webhook::{
    always_forbidden_ip, forbidden_ip, metadata_host, DeliveryAttempt, Dispatch,
};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::state::AppState;

/// The largest answer read from a receiver; the rest is not read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The longest a receiver may take (the claim's lease is 60 s).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
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
/// With insecure targets allowed (`strict: false`) only link-local addresses (cloud metadata)
/// are dropped.
struct GuardedResolver {
    strict: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let strict = self.strict;
        Box::pin(async move {
            if metadata_host(name.as_str()) {
                return Err(format!("{} is a cloud metadata service", name.as_str()).into());
            }
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|a| {
                    let refused = always_forbidden_ip(a.ip()) || (strict && forbidden_ip(a.ip()));
                    !refused
                })
                .collect();
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
        // An attempt must end well within the claim's lease, or another node would send the
        // same delivery meanwhile.
        let timeout = timeout.min(MAX_TIMEOUT);
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            // Straight to the receiver: through a proxy, the proxy would resolve the name and
            // the address guard below would not see where the request goes.
            .no_proxy()
            .user_agent(concat!("portal-api-webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30));
        builder = builder.dns_resolver(Arc::new(GuardedResolver {
            strict: !allow_insecure,
        }));
        if !allow_insecure {
            builder = builder.https_only(true);
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
        // An address written as an IP does not go through the resolver.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(always_forbidden_ip) {
            return Err("the URL points at a link-local (cloud metadata) address".into());
        }
        if !self.allow_insecure && literal.is_some_and(forbidden_ip) {
            return Err("the URL points at a loopback, private or reserved address".into());
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

/// The worker loop: each pass fans out new events, then claims due deliveries for every free
/// sending slot (`concurrency` in all) and sends each on its own task, so a slow receiver holds
/// one slot, not the others' deliveries.
pub async fn worker(
    state: Data<AppState>,
    settings: WorkerSettings,
    mut stop: crate::workers::Stopping,
) {
    let sender = match Sender::new(settings.timeout, settings.allow_insecure) {
        Ok(s) => Rc::new(s),
        Err(e) => {
            tracing::error!(error = %e, "webhook worker not started");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let (done, outcomes) = tokio::sync::mpsc::unbounded_channel();
    actix_web::rt::spawn(recorder(state.clone(), outcomes));
    let mut tick = actix_web::rt::time::interval(settings.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.pause(settings.poll * 2) => {}
        }
        if stop.now() {
            break;
        }
        if let Err(e) = pass(&state, &sender, &slots, &done, settings.poll, &stop).await {
            tracing::warn!(error = %e, "webhook pass failed");
        }
    }
    // Every delivery in flight is sent and its attempt recorded (the recorder frees a slot only
    // then): nothing stays leased to this node.
    let all = u32::try_from(settings.concurrency).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    tracing::info!("webhook worker stopped");
}

async fn pass(
    state: &Data<AppState>,
    sender: &Rc<Sender>,
    slots: &Arc<Semaphore>,
    done: &UnboundedSender<Done>,
    poll: Duration,
    stop: &crate::workers::Stopping,
) -> Result<(), String> {
    let mut fanned_at: Option<Instant> = None;
    while !stop.now() {
        // New events become deliveries at every poll, also while a backlog keeps this loop
        // sending, so they never wait for the backlog to drain.
        if fanned_at.is_none_or(|t| t.elapsed() >= poll) {
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
            fanned_at = Some(Instant::now());
        }
        // A free slot, waiting for a send in flight to end if none is: while deliveries are
        // due, the node keeps every slot busy instead of waiting for the next tick.
        let first = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let free = 1 + slots.available_permits();
        let svc = state.webhooks.clone();
        let claimed = actix_web::web::block(move || svc.claim(domain::clock::now(), free as i64))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let drained = claimed.len() < free;
        let mut first = Some(first);
        for d in claimed {
            // Only this loop takes slots, and it counted them free.
            let slot = match first.take() {
                Some(s) => s,
                None => slots
                    .clone()
                    .try_acquire_owned()
                    .map_err(|e| e.to_string())?,
            };
            let (sender, done, metrics) = (sender.clone(), done.clone(), state.metrics.clone());
            // A span per delivery attempt: the unit of work a trace backend shows.
            let unit = tracing::info_span!("webhook_delivery", delivery_id = %d.delivery_id);
            actix_web::rt::spawn(tracing::Instrument::instrument(
                async move {
                    let attempt = sender.send(&d).await;
                    metrics.webhook_delivery(attempt.succeeded());
                    let jitter = rand::rng().random_range(-1.0..=1.0);
                    // The slot stays taken until the attempt is recorded.
                    let _ = done.send((d, attempt, jitter, slot));
                },
                unit,
            ));
        }
        if drained {
            return Ok(());
        }
    }
    Ok(())
}

/// A finished attempt waiting to be recorded, with the sending slot it holds.
type Done = (Dispatch, DeliveryAttempt, f64, OwnedSemaphorePermit);

/// Records finished attempts, as many as have finished (up to 64) in one transaction: a commit
/// per batch instead of one per delivery. Frees their slots once recorded.
async fn recorder(state: Data<AppState>, mut outcomes: UnboundedReceiver<Done>) {
    while let Some(first) = outcomes.recv().await {
        let mut batch = vec![first];
        while batch.len() < 64 {
            match outcomes.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let (mut attempts, slots): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|(d, a, jitter, slot)| ((d, a, jitter), slot))
            .unzip();
        let svc = state.webhooks.clone();
        match actix_web::web::block(move || svc.record_all(&mut attempts)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::warn!(attempts = n, "webhook attempts could not be recorded"),
            Ok(Err(e)) => tracing::warn!(error = %e, "recording webhook attempts failed"),
            Err(e) => tracing::warn!(error = %e, "recording webhook attempts could not run"),
        }
        drop(slots);
    }
}
