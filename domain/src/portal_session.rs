//! Portal sessions: short-lived access for one customer's browser (or the merchant's frontend).
//!
//! The session row is the source of truth. A token only names a session; every request checks
//! the row, so revocation, expiry, idle timeout, supersession and archiving take effect at once.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{ApiKeyId, CustomerId, PortalSessionId};
use crate::{DomainError, DomainResult, FieldError};

pub const DEFAULT_TTL_SECONDS: i64 = 3600;
pub const MAX_TTL_SECONDS: i64 = 86_400;
pub const MIN_TTL_SECONDS: i64 = 60;
pub const MIN_IDLE_SECONDS: i64 = 60;
/// A login code in a URL is valid this long, once.
pub const LOGIN_CODE_TTL: Duration = Duration::minutes(10);

crate::text_enum! {
    pub enum SessionMode {
        /// The customer's own session.
        Customer,
        /// The merchant's staff seeing what the customer sees: read-only and audited.
        AdminPreview,
    }
}

crate::text_enum! {
    pub enum Section {
        Overview,
        Credits,
        Invoices,
        Usage,
        Payments,
        Subscriptions,
        Profile,
        PaymentMethods,
        Activity,
        /// The customer's license keys and their activations.
        Licenses,
    }
}

/// Which portal tabs the session may open. All enabled unless turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sections {
    pub overview: bool,
    pub credits: bool,
    pub invoices: bool,
    pub usage: bool,
    pub payments: bool,
    pub subscriptions: bool,
    pub profile: bool,
    /// Sessions stored before this section existed read as enabled, like every section.
    #[serde(default = "enabled")]
    pub payment_methods: bool,
    #[serde(default = "enabled")]
    pub activity: bool,
    #[serde(default = "enabled")]
    pub licenses: bool,
}

fn enabled() -> bool {
    true
}

impl Default for Sections {
    fn default() -> Self {
        Self {
            overview: true,
            credits: true,
            invoices: true,
            usage: true,
            payments: true,
            subscriptions: true,
            profile: true,
            payment_methods: true,
            activity: true,
            licenses: true,
        }
    }
}

impl Sections {
    pub fn enabled(&self, s: Section) -> bool {
        match s {
            Section::Overview => self.overview,
            Section::Credits => self.credits,
            Section::Invoices => self.invoices,
            Section::Usage => self.usage,
            Section::Payments => self.payments,
            Section::Subscriptions => self.subscriptions,
            Section::Profile => self.profile,
            Section::PaymentMethods => self.payment_methods,
            Section::Activity => self.activity,
            Section::Licenses => self.licenses,
        }
    }
}

crate::text_enum! {
    /// Customer fields a portal session may change.
    #[derive(PartialOrd, Ord)]
    pub enum ProfileField {
        Name,
        Email,
        Phone,
        Address,
        Timezone,
        /// The customer's language.
        Locale,
        /// The billing details as a whole (legal name, tax id, billing email and address).
        Billing,
        /// Whether new invoices are paid automatically.
        AutoPay,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelMode {
    AtPeriodEnd,
    Immediately,
}

/// What the session may change. Nothing, unless granted: a portal is read-only by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    pub profile_update: ProfileUpdate,
    pub subscription_cancel: SubscriptionCancel,
    /// Sessions stored before plan changes existed read as "not allowed".
    #[serde(default)]
    pub plan_change: PlanChangePermission,
    /// Making a saved payment method the default and removing one (off by default).
    #[serde(default)]
    pub payment_method_manage: PaymentMethodManage,
    /// Paying the customer's invoices from their wallet (off by default).
    #[serde(default)]
    pub invoice_pay: InvoicePay,
    /// Changing a subscription's seats within its plan's limits (off by default).
    #[serde(default)]
    pub quantity_change: Grant,
    /// Redeeming a promotion code on a subscription (off by default).
    #[serde(default)]
    pub promotion_code_redeem: Grant,
    /// Setting and removing the customer's own usage, spend and balance alerts (off by
    /// default).
    #[serde(default)]
    pub alerts_manage: Grant,
    /// Deactivating an activation of the customer's license keys, to free it for another
    /// installation (off by default).
    #[serde(default)]
    pub license_manage: Grant,
}

/// A permission that is on or off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Grant {
    pub enabled: bool,
}

/// Whether the customer may pay their invoices from the portal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InvoicePay {
    pub enabled: bool,
}

/// Whether the customer may manage their saved payment methods from the portal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentMethodManage {
    pub enabled: bool,
}

/// Whether the customer may change their subscription's plan from the portal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanChangePermission {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProfileUpdate {
    pub allowed_fields: Vec<ProfileField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionCancel {
    pub enabled: bool,
    pub mode: CancelMode,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            profile_update: ProfileUpdate::default(),
            subscription_cancel: SubscriptionCancel {
                enabled: false,
                mode: CancelMode::AtPeriodEnd,
            },
            plan_change: PlanChangePermission::default(),
            payment_method_manage: PaymentMethodManage::default(),
            invoice_pay: InvoicePay::default(),
            quantity_change: Grant::default(),
            promotion_code_redeem: Grant::default(),
            alerts_manage: Grant::default(),
            license_manage: Grant::default(),
        }
    }
}

crate::text_enum! {
    pub enum EndReason {
        Revoked,
        /// A newer session for the same customer was created with `invalidate_existing`.
        Superseded,
        LoggedOut,
    }
}

#[derive(Debug, Clone)]
pub struct PortalSession {
    pub id: PortalSessionId,
    pub tenant_id: crate::id::TenantId,
    pub customer_id: CustomerId,
    pub mode: SessionMode,
    pub return_url: Option<String>,
    pub sections: Sections,
    pub permissions: Permissions,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub idle_timeout_seconds: Option<i64>,
    pub last_seen_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<EndReason>,
    /// The API key that created the session (admin previews are attributed to it).
    /// The admin key that created it; `None` for a session the customer opened by signing in
    /// with their e-mail.
    pub created_by_key_id: Option<ApiKeyId>,
}

/// Why a session cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Expired,
    IdleExpired,
    Ended(EndReason),
    CustomerArchived,
}

impl PortalSession {
    /// Who opened it, as the audit log names actors: `api_key:<id>`, or `self_sign_in`.
    pub fn creator(&self) -> String {
        match &self.created_by_key_id {
            Some(key) => format!("api_key:{key}"),
            None => "self_sign_in".to_owned(),
        }
    }
}

impl PortalSession {
    /// A session sees its one customer's data and nothing else.
    pub fn scope(&self) -> crate::scope::Scope {
        self.customer().into()
    }

    pub fn customer(&self) -> crate::scope::CustomerScope {
        crate::scope::CustomerScope::new(&self.tenant_id, &self.customer_id)
    }

    pub fn idle_expires_at(&self) -> Option<DateTime<Utc>> {
        self.idle_timeout_seconds
            .map(|s| self.last_seen_at + Duration::seconds(s))
    }

    /// Whether the session may be used at `now`.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        if let Some(reason) = self.end_reason {
            return Err(Refusal::Ended(reason));
        }
        if now >= self.expires_at {
            return Err(Refusal::Expired);
        }
        if self.idle_expires_at().is_some_and(|t| now >= t) {
            return Err(Refusal::IdleExpired);
        }
        Ok(())
    }

    /// Whether this use moves `last_seen_at` forward: only once less than half of the idle
    /// window is left (as Zenskar's sessions auto-extend), so a busy session is written about
    /// twice per window rather than on every request. A session used at least every half window
    /// never idles out; one left unused for a whole window always does, since an unrecorded use
    /// never extends it. Sessions without an idle timeout are never written on use.
    pub fn needs_touch(&self, now: DateTime<Utc>) -> bool {
        match self.idle_timeout_seconds {
            // remaining < timeout / 2  ⇔  2 · (now − last_seen) > timeout, exact in microseconds.
            Some(timeout) => (now - self.last_seen_at) * 2 > Duration::seconds(timeout),
            None => false,
        }
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.check(now).is_ok()
    }
}

/// Input of a session creation.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub customer: CustomerRef,
    pub return_url: Option<String>,
    pub expires_in_seconds: Option<i64>,
    pub idle_timeout_seconds: Option<i64>,
    pub invalidate_existing: bool,
    pub mode: SessionMode,
    pub sections: Sections,
    pub permissions: Permissions,
}

#[derive(Debug, Clone)]
pub enum CustomerRef {
    Id(String),
    ExternalId(String),
}

impl NewSession {
    /// A session with every default: one hour, no idle timeout, older sessions ended, all
    /// sections on, nothing writable.
    pub fn new(customer: CustomerRef) -> Self {
        Self {
            customer,
            return_url: None,
            expires_in_seconds: None,
            idle_timeout_seconds: None,
            invalidate_existing: true,
            mode: SessionMode::Customer,
            sections: Sections::default(),
            permissions: Permissions::default(),
        }
    }

    pub fn validate(&self) -> DomainResult<i64> {
        let mut errs = Vec::new();
        let ttl = self.expires_in_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
        if !(MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl) {
            errs.push(FieldError::new(
                "expires_in_seconds",
                format!("must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS}"),
            ));
        }
        if let Some(idle) = self.idle_timeout_seconds {
            if !(MIN_IDLE_SECONDS..=ttl.max(MIN_IDLE_SECONDS)).contains(&idle) {
                errs.push(FieldError::new(
                    "idle_timeout_seconds",
                    format!("must be between {MIN_IDLE_SECONDS} and expires_in_seconds"),
                ));
            }
        }
        if let Some(url) = &self.return_url {
            if !is_http_url(url) {
                errs.push(FieldError::new(
                    "return_url",
                    "must be an absolute http(s) URL of at most 2048 characters",
                ));
            }
        }
        let mut fields = self.permissions.profile_update.allowed_fields.clone();
        fields.sort();
        fields.dedup();
        if fields.len() != self.permissions.profile_update.allowed_fields.len() {
            errs.push(FieldError::new(
                "permissions.profile_update.allowed_fields",
                "must not repeat a field",
            ));
        }
        if errs.is_empty() {
            Ok(ttl)
        } else {
            Err(DomainError::Validation(errs))
        }
    }
}

pub(crate) fn is_http_url(url: &str) -> bool {
    is_web_url(url, false)
}

/// An absolute URL with a host and no credentials, whitespace or control characters, of at most
/// 2048 characters: `https` only, or `http` too.
pub(crate) fn is_web_url(url: &str, https_only: bool) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| {
        if https_only {
            None
        } else {
            url.strip_prefix("http://")
        }
    });
    url.len() <= 2048
        && rest.is_some_and(|r| {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.contains('@')
        })
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What a token carries. The row is still checked on every use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub session_id: String,
    pub tenant_id: crate::id::TenantId,
    pub customer_id: String,
    pub expires_at: DateTime<Utc>,
}

/// Token verification failures, before the row is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, tampered, or made with a key this server does not hold.
    Invalid,
    /// Authentic but past its expiry.
    Expired,
}

/// Mints and verifies session tokens (PASETO v4.local in the api crate).
pub trait TokenCodec: Send + Sync {
    fn mint(&self, claims: &TokenClaims) -> DomainResult<String>;
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<TokenClaims, TokenError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: DateTime<Utc>) -> PortalSession {
        PortalSession {
            id: PortalSessionId::new(),
            tenant_id: "t".into(),
            customer_id: CustomerId::new(),
            mode: SessionMode::Customer,
            return_url: None,
            sections: Sections::default(),
            permissions: Permissions::default(),
            created_at: now,
            expires_at: now + Duration::hours(1),
            idle_timeout_seconds: Some(300),
            last_seen_at: now,
            ended_at: None,
            end_reason: None,
            created_by_key_id: Some(ApiKeyId::new()),
        }
    }

    #[test]
    fn checks_expiry_idle_and_end() {
        let now = Utc::now();
        let s = session(now);
        assert_eq!(s.check(now), Ok(()));
        assert_eq!(
            s.check(now + Duration::seconds(300)),
            Err(Refusal::IdleExpired)
        );
        assert_eq!(s.check(now + Duration::hours(1)), Err(Refusal::Expired));
        // 300 s idle window: written only once less than 150 s of it is left.
        assert!(!s.needs_touch(now));
        assert!(!s.needs_touch(now + Duration::seconds(150)));
        assert!(s.needs_touch(now + Duration::seconds(150) + Duration::microseconds(1)));
        let untimed = PortalSession {
            idle_timeout_seconds: None,
            ..s.clone()
        };
        assert!(!untimed.needs_touch(now + Duration::minutes(59)));
        let ended = PortalSession {
            end_reason: Some(EndReason::Superseded),
            ..s
        };
        assert_eq!(ended.check(now), Err(Refusal::Ended(EndReason::Superseded)));
    }

    #[test]
    fn validation() {
        let base = NewSession {
            return_url: Some("https://shop.test/account".into()),
            ..NewSession::new(CustomerRef::Id("cus_x".into()))
        };
        assert_eq!(base.validate().unwrap(), 3600);
        assert!(NewSession {
            expires_in_seconds: Some(86_401),
            ..base.clone()
        }
        .validate()
        .is_err());
        assert!(NewSession {
            idle_timeout_seconds: Some(7200),
            ..base.clone()
        }
        .validate()
        .is_err());
        assert!(NewSession {
            return_url: Some("javascript:alert(1)".into()),
            ..base.clone()
        }
        .validate()
        .is_err());
        assert!(NewSession {
            return_url: Some("https://user@evil.test".into()),
            ..base
        }
        .validate()
        .is_err());
    }
}
