//! Webhooks, per the Standard Webhooks specification: endpoints with their signing secrets, the
//! events of the outbox (written in the same transaction as the change they report), and the
//! deliveries of each event to each endpoint with their attempts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::check_text;
use crate::id::{WebhookDeliveryId, WebhookEndpointId, WebhookEventId};
use crate::{DomainError, DomainResult, FieldError};

/// Declares [`EventType`]: each variant with its dotted name (`invoice.finalized`).
macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $text:literal;)*) => {
        /// What an event reports. Its text form is the `type` of the payload and what endpoints
        /// subscribe to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|t| t.as_str() == text)
            }
        }
    };
}

event_types! {
    CustomerCreated = "customer.created";
    CustomerUpdated = "customer.updated";
    PortalSessionCreated = "portal_session.created";
    PortalSessionRevoked = "portal_session.revoked";
    WalletToppedUp = "wallet.topped_up";
    WalletDebited = "wallet.debited";
    /// Credits past their expiry left the balance.
    WalletCreditsExpired = "wallet.credits_expired";
    /// A movement took the balance below the wallet's `low_balance_threshold`.
    WalletLowBalance = "wallet.low_balance";
    InvoiceFinalized = "invoice.finalized";
    InvoiceVoided = "invoice.voided";
    InvoicePaid = "invoice.paid";
    PaymentSucceeded = "payment.succeeded";
    /// A payment through a saved method was requested and awaits the merchant's confirmation.
    PaymentPending = "payment.pending";
    PaymentFailed = "payment.failed";
    PaymentRefunded = "payment.refunded";
    CreditNoteCreated = "credit_note.created";
    /// A credit note that refunded nothing was voided: what it credited is due again.
    CreditNoteVoided = "credit_note.voided";
    SubscriptionCreated = "subscription.created";
    SubscriptionRenewed = "subscription.renewed";
    SubscriptionPastDue = "subscription.past_due";
    SubscriptionCanceled = "subscription.canceled";
    /// A plan, seat, cancellation or discount change (the payload has the quantity).
    SubscriptionChanged = "subscription.changed";
    /// A coupon was applied to a subscription (by the merchant, a promotion code, a retention
    /// offer).
    DiscountApplied = "discount.applied";
    /// A subscription's discount was removed, replaced or used up.
    DiscountRemoved = "discount.removed";
    /// A hard limit refused a consume, the first time in the period.
    EntitlementLimitReached = "entitlement.limit_reached";
    /// One of the customer's alerts crossed its threshold (once per crossing per period).
    AlertTriggered = "alert.triggered";
    /// A license key was issued (for a subscription, or by hand). Never carries the key.
    LicenseKeyCreated = "license_key.created";
    LicenseKeyActivated = "license_key.activated";
    LicenseKeyDeactivated = "license_key.deactivated";
    LicenseKeyDisabled = "license_key.disabled";
    WebhookEndpointDisabled = "webhook_endpoint.disabled";
    /// Sent only by `POST /v1/webhook_endpoints/{id}/test`, only to that endpoint.
    Ping = "ping";
}

/// One event of the outbox. `payload` is the exact body sent (and signed) on every attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: WebhookEventId,
    pub tenant_id: crate::id::TenantId,
    pub event_type: EventType,
    pub created_at: DateTime<Utc>,
    pub payload: String,
}

impl WebhookEvent {
    /// An event reporting `data` (thin: ids and key fields of the object as it now is).
    pub fn new(
        tenant_id: &crate::id::TenantId,
        event_type: EventType,
        data: serde_json::Value,
    ) -> Self {
        let id = WebhookEventId::new();
        let created_at = crate::clock::now();
        let payload = serde_json::json!({
            "id": id.as_str(),
            "type": event_type.as_str(),
            "timestamp": created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "data": data,
        })
        .to_string();
        Self {
            id,
            tenant_id: tenant_id.clone(),
            event_type,
            created_at,
            payload,
        }
    }
}

crate::text_enum! {
    pub enum EndpointStatus {
        Enabled,
        Disabled,
    }
}

crate::text_enum! {
    /// Why an endpoint is disabled.
    pub enum DisabledReason {
        /// By the merchant (PATCH).
        Manual,
        /// It answered `410 Gone`.
        Gone,
        /// Every attempt failed for [`DISABLE_AFTER`].
        Failing,
    }
}

crate::text_enum! {
    pub enum DeliveryStatus {
        Pending,
        Delivered,
        Failed,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub tenant_id: crate::id::TenantId,
    pub url: String,
    pub description: Option<String>,
    /// `None`: every event type (except `ping`, which is only ever sent on request).
    pub event_types: Option<Vec<EventType>>,
    pub status: EndpointStatus,
    pub disabled_reason: Option<DisabledReason>,
    /// `whsec_<base64>`. Kept as is: the receiver verifies with the same key, so it cannot be
    /// hashed. Shown once, on creation and rotation.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed (cleared by a success).
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How long a rotated-out secret keeps signing, so receivers can switch without a gap.
pub const ROTATION_GRACE: Duration = Duration::hours(24);
/// An endpoint whose every attempt failed for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);
/// Delays before each retry after a failed attempt: Svix's schedule (the first attempt is
/// immediate). A delivery gets at most `RETRY_DELAYS.len() + 1` scheduled attempts.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];
/// How long a claimed delivery is held by the node sending it; if that node dies mid-send, the
/// delivery is attempted again after this (at least once).
pub const LEASE: Duration = Duration::seconds(60);

impl WebhookEndpoint {
    /// Whether the endpoint subscribes to `t`.
    pub fn wants(&self, t: EventType) -> bool {
        t != EventType::Ping
            && self.status == EndpointStatus::Enabled
            && self
                .event_types
                .as_ref()
                .is_none_or(|types| types.contains(&t))
    }

    /// The secrets that sign a message sent at `now`: the current one, and during a rotation's
    /// grace period the previous one.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut secrets = vec![self.secret.clone()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at) {
            if now < until {
                secrets.push(old.clone());
            }
        }
        secrets
    }

    /// Replaces the secret; the old one keeps signing for [`ROTATION_GRACE`].
    pub fn rotate(&mut self, now: DateTime<Utc>) {
        let old = std::mem::replace(&mut self.secret, new_secret());
        self.previous_secret = Some(old);
        self.previous_secret_expires_at = Some(now + ROTATION_GRACE);
        self.updated_at = now;
    }

    pub fn disable(&mut self, reason: DisabledReason, now: DateTime<Utc>) {
        self.status = EndpointStatus::Disabled;
        self.disabled_reason = Some(reason);
        self.updated_at = now;
    }

    pub fn enable(&mut self, now: DateTime<Utc>) {
        self.status = EndpointStatus::Enabled;
        self.disabled_reason = None;
        self.failing_since = None;
        self.updated_at = now;
    }
}

/// `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", B64.encode(key))
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` for
/// each secret, space-separated.
pub fn signature(
    secrets: &[String],
    msg_id: &str,
    timestamp: i64,
    body: &str,
) -> DomainResult<String> {
    let signed = format!("{msg_id}.{timestamp}.{body}");
    let mut parts = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = secret
            .strip_prefix("whsec_")
            .and_then(|k| B64.decode(k).ok())
            .ok_or_else(|| DomainError::internal("a stored webhook secret is damaged"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(DomainError::internal)?;
        mac.update(signed.as_bytes());
        parts.push(format!("v1,{}", B64.encode(mac.finalize().into_bytes())));
    }
    Ok(parts.join(" "))
}

/// When to try again after attempt number `attempt` (1-based) failed, or `None` when the
/// schedule is spent. `jitter` in [-1, 1] moves the delay by up to a tenth, so a receiver that
/// comes back is not hit by every retry at once.
pub fn next_attempt(attempt: i32, now: DateTime<Utc>, jitter: f64) -> Option<DateTime<Utc>> {
    let base = RETRY_DELAYS.get(usize::try_from(attempt - 1).ok()?)?;
    let ms = base.num_milliseconds() as f64 * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0));
    Some(now + Duration::milliseconds(ms as i64))
}

/// Addresses a webhook may never be sent to unless insecure targets are allowed: loopback,
/// private, link-local (cloud metadata at 169.254.169.254 included), unspecified, multicast,
/// shared (CGNAT), documentation and other reserved ranges. An IPv6 address that carries an
/// IPv4 one (mapped, translated, compatible, NAT64, 6to4, Teredo) is judged by that one too,
/// so `64:ff9b::7f00:1` is loopback as much as `127.0.0.1` is.
pub fn forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6) || embedded_v4(v6).into_iter().any(forbidden_v4),
    }
}

/// Addresses refused even when insecure targets are allowed (a local http receiver is fine, a
/// cloud metadata service never is): link-local, IPv4 (169.254.0.0/16) and IPv6 (fe80::/10),
/// in every IPv6 form that embeds an IPv4 address.
pub fn always_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || embedded_v4(v6).into_iter().any(|v4| v4.is_link_local())
        }
    }
}

/// Host names of cloud metadata services, refused in every mode (they resolve to link-local
/// addresses inside the cloud, and the resolver's check catches them there too).
const METADATA_HOSTS: [&str; 3] = [
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.com",
];

/// Whether a host name (not an IP literal) is a cloud metadata service's.
pub fn metadata_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    METADATA_HOSTS.contains(&host.as_str())
}

/// Every IPv4 address an IPv6 address carries, by the standard embeddings: IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`, RFC 2765), IPv4-compatible (`::/96`),
/// NAT64 (`64:ff9b::/96`, RFC 6052, and the local-use `64:ff9b:1::/48`, RFC 8215, whose
/// suffix forms vary, so both its likely positions are read), 6to4 (`2002::/16`, RFC 3056) and
/// Teredo (`2001::/32`, RFC 4380: the server, and the client's address inverted).
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let mut found = Vec::new();
    let last = v4(s[6], s[7]);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        // Mapped, or compatible (`::` and `::1` themselves are judged as IPv6).
        if s[5] == 0xffff || !(s[6] == 0 && s[7] <= 1) {
            found.push(last);
        }
    }
    if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        found.push(last);
    }
    if s[0] == 0x64 && s[1] == 0xff9b {
        found.push(last);
        if s[2] == 1 {
            // RFC 6052's /48 form puts the address in bits 48..64 and 72..88.
            let bytes = ip.octets();
            found.push(Ipv4Addr::new(bytes[6], bytes[7], bytes[9], bytes[10]));
        }
    }
    if s[0] == 0x2002 {
        found.push(v4(s[1], s[2]));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        found.push(v4(s[2], s[3]));
        found.push(v4(!s[6], !s[7]));
    }
    found
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated, still routed privately)
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
}

/// What a merchant sends to create an endpoint.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
}

/// A change to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Option<Vec<String>>>,
    pub status: Option<EndpointStatus>,
}

/// Checks a target URL: `https` (or `http` when insecure targets are allowed), no credentials,
/// and, for an address written as an IP, not a forbidden one. Names are checked again when each
/// attempt resolves them.
pub fn check_url(errors: &mut Vec<FieldError>, url: &str, allow_insecure: bool) {
    if !crate::portal_session::is_web_url(url, !allow_insecure) {
        let scheme = if allow_insecure {
            "an http(s)"
        } else {
            "an https"
        };
        errors.push(FieldError::new(
            "url",
            format!("must be {scheme} URL of at most 2048 characters, without credentials"),
        ));
        return;
    }
    let host = url_host(url);
    let ip = host.as_deref().and_then(host_ip);
    if ip.is_some_and(always_forbidden_ip) || host.as_deref().is_some_and(metadata_host) {
        errors.push(FieldError::new(
            "url",
            "must not point at a link-local address or a cloud metadata service",
        ));
    } else if !allow_insecure && ip.is_some_and(forbidden_ip) {
        errors.push(FieldError::new(
            "url",
            "must not point at a loopback, private, link-local or reserved address",
        ));
    }
}

/// The host of an http(s) URL (an IPv6 literal without its brackets).
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    Some(host.to_owned())
}

/// The address a URL's host names when it is an IP literal, in any form a resolver accepts
/// (`127.1`, `2130706433` and `0x7f.1` are 127.0.0.1 to `getaddrinfo` as to a browser).
fn host_ip(host: &str) -> Option<IpAddr> {
    if let Ok(ip) = host.parse() {
        return Some(ip);
    }
    match url::Host::parse(host).ok()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Parses the event types an endpoint subscribes to: known, not `ping`, at least one, no
/// repeats. `None` means all.
pub fn check_event_types(
    errors: &mut Vec<FieldError>,
    types: Option<&Vec<String>>,
) -> Option<Vec<EventType>> {
    let types = types?;
    let mut out = Vec::with_capacity(types.len());
    if types.is_empty() || types.len() > EventType::ALL.len() {
        errors.push(FieldError::new(
            "event_types",
            "must list at least one event type, or be null for all",
        ));
    }
    for (i, t) in types.iter().enumerate() {
        match EventType::parse(t).filter(|t| *t != EventType::Ping) {
            Some(t) if out.contains(&t) => errors.push(FieldError::new(
                format!("event_types[{i}]"),
                "is listed twice",
            )),
            Some(t) => out.push(t),
            None => errors.push(FieldError::new(
                format!("event_types[{i}]"),
                "is not a known event type",
            )),
        }
    }
    Some(out)
}

impl NewEndpoint {
    pub fn validate(
        &self,
        tenant_id: &crate::id::TenantId,
        allow_insecure: bool,
    ) -> DomainResult<WebhookEndpoint> {
        let mut errors = Vec::new();
        check_url(&mut errors, &self.url, allow_insecure);
        check_text(
            &mut errors,
            "description",
            self.description.as_ref(),
            500,
            false,
        );
        let event_types = check_event_types(&mut errors, self.event_types.as_ref());
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        let now = crate::clock::now();
        Ok(WebhookEndpoint {
            id: WebhookEndpointId::new(),
            tenant_id: tenant_id.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            event_types,
            status: EndpointStatus::Enabled,
            disabled_reason: None,
            secret: new_secret(),
            previous_secret: None,
            previous_secret_expires_at: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        })
    }
}

impl EndpointPatch {
    /// Applies the patch, all or nothing.
    pub fn apply(
        &self,
        e: &mut WebhookEndpoint,
        allow_insecure: bool,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let mut errors = Vec::new();
        if let Some(url) = &self.url {
            check_url(&mut errors, url, allow_insecure);
        }
        if let Some(d) = &self.description {
            check_text(&mut errors, "description", d.as_ref(), 500, false);
        }
        let types = self
            .event_types
            .as_ref()
            .map(|t| check_event_types(&mut errors, t.as_ref()));
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        if let Some(url) = &self.url {
            e.url = url.clone();
        }
        if let Some(d) = &self.description {
            e.description = d.clone();
        }
        if let Some(t) = types {
            e.event_types = t;
        }
        match self.status {
            Some(EndpointStatus::Enabled) if e.status == EndpointStatus::Disabled => e.enable(now),
            Some(EndpointStatus::Disabled) if e.status == EndpointStatus::Enabled => {
                e.disable(DisabledReason::Manual, now)
            }
            _ => {}
        }
        e.updated_at = now;
        Ok(())
    }
}

/// One attempt to deliver an event to an endpoint, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub number: i32,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status, or `None` if no answer came (refused address, connection error,
    /// timeout).
    pub http_status: Option<i32>,
    pub duration_ms: i64,
    /// The first bytes of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// Why the attempt failed without an answer, or what was wrong with the answer.
    pub error: Option<String>,
}

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        self.http_status.is_some_and(|s| (200..300).contains(&s))
    }

    pub fn gone(&self) -> bool {
        self.http_status == Some(410)
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub tenant_id: crate::id::TenantId,
    pub event_id: WebhookEventId,
    pub endpoint_id: WebhookEndpointId,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    /// Attempts made (or under way).
    pub attempts: i32,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The attempts so far, oldest first (filled by reads of the log).
    pub log: Vec<DeliveryAttempt>,
}

impl WebhookDelivery {
    /// A delivery of `event` to `endpoint`, due now.
    pub fn due(event: &WebhookEvent, endpoint: &WebhookEndpointId, now: DateTime<Utc>) -> Self {
        Self {
            id: WebhookDeliveryId::new(),
            tenant_id: event.tenant_id.clone(),
            event_id: event.id.clone(),
            endpoint_id: endpoint.clone(),
            event_type: event.event_type,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            created_at: now,
            updated_at: now,
            log: Vec::new(),
        }
    }
}

/// A delivery claimed for an attempt: everything the sender needs.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub delivery_id: WebhookDeliveryId,
    pub tenant_id: crate::id::TenantId,
    pub endpoint_id: WebhookEndpointId,
    pub url: String,
    pub secrets: Vec<String>,
    pub event_id: WebhookEventId,
    pub payload: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::parse("invoice.finalised"), None);
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let body = r#"{"test": 2432232314}"#;
        let sig = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_schedule_is_svix_and_ends() {
        let now = crate::clock::now();
        assert_eq!(next_attempt(1, now, 0.0), Some(now + Duration::seconds(5)));
        assert_eq!(next_attempt(2, now, 0.0), Some(now + Duration::minutes(5)));
        assert_eq!(next_attempt(7, now, 0.0), Some(now + Duration::hours(10)));
        assert_eq!(next_attempt(8, now, 0.0), None);
        let late = next_attempt(3, now, 1.0).unwrap();
        assert_eq!(late, now + Duration::minutes(33));
        assert_eq!(next_attempt(0, now, 0.0), None);
    }

    #[test]
    fn private_and_metadata_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            // IPv4 inside IPv6: translated, compatible, NAT64, 6to4, Teredo (client inverted).
            "::ffff:0:7f00:1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1:7f00:1::",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2001:0:7f00:1::",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "fec0::1",
        ] {
            assert!(forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn link_local_is_forbidden_in_every_mode() {
        for ip in [
            "169.254.169.254",
            "fe80::1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::",
        ] {
            assert!(always_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["127.0.0.1", "::1", "10.0.0.1"] {
            assert!(!always_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        assert!(metadata_host("Metadata.Google.Internal."));
        assert!(!metadata_host("hooks.example.com"));
    }

    #[test]
    fn urls_are_checked() {
        let check = |u: &str, insecure| {
            let mut e = Vec::new();
            check_url(&mut e, u, insecure);
            e.is_empty()
        };
        assert!(check("https://hooks.example.com/in", false));
        assert!(!check("http://hooks.example.com/in", false));
        assert!(check("http://127.0.0.1:9000/in", true));
        assert!(!check("https://127.0.0.1/in", false));
        assert!(!check("https://[::1]:8443/in", false));
        assert!(!check("https://169.254.169.254/latest", false));
        assert!(!check("https://user:pw@hooks.example.com/", false));
        // Other spellings of loopback.
        assert!(!check("https://[64:ff9b::7f00:1]/in", false));
        assert!(!check("https://[::ffff:0:7f00:1]/in", false));
        assert!(!check("https://[2002:7f00:1::]/in", false));
        assert!(!check("https://2130706433/in", false));
        assert!(!check("https://0x7f.1/in", false));
        // Metadata stays out when insecure targets are allowed.
        assert!(!check("http://169.254.169.254/latest/meta-data", true));
        assert!(!check("http://[fe80::1]/in", true));
        assert!(!check(
            "http://metadata.google.internal/computeMetadata/v1",
            true
        ));
        assert!(check("http://localhost:9000/in", true));
    }

    #[test]
    fn ping_is_never_subscribed() {
        let mut e = Vec::new();
        assert_eq!(
            check_event_types(&mut e, Some(&vec!["ping".into()])),
            Some(vec![])
        );
        assert_eq!(e.len(), 1);
    }
}
