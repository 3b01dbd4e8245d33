//! License keys a merchant's own software checks (Dodo's portal: "retrieve license keys";
//! Polar and Lemon Squeezy: activation limits and a validation API).
//!
//! - A plan may issue them ([`LicensePolicy`]): a subscription to it gets exactly one key when
//!   it starts, in the same transaction (a key is unique per subscription). The merchant may
//!   also issue one by hand.
//! - The key is the credential of the public `/v1/licenses/*` routes: 128 random bits in
//!   Crockford base32 after a readable prefix (`LK-7ZK3Q-…`). It is shown to its customer and
//!   merchant (it is meant to be pasted into software), never logged or sent in a webhook, and
//!   looked up by its SHA-256 digest.
//! - Its status is computed when read: `disabled` by the merchant, `expired` past `expires_at`
//!   or, for a key that follows its subscription, once the subscription has ended; else
//!   `active`.
//! - An activation (`act_…`) is one installation the key holder registered with a label. A key
//!   with an `activation_limit` admits at most that many live activations, exactly, whatever
//!   races: the count lives on the key and grows only by a conditional update.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::FieldError;
use crate::id::{ActivationId, CustomerId, LicenseKeyId, SubscriptionId, TenantId};
use crate::{DomainError, DomainResult, ErrorCode};

crate::text_enum! {
    /// When a plan's keys expire.
    pub enum LicenseExpiry {
        /// When the subscription that issued the key ends.
        WithSubscription,
        Never,
    }
}

crate::text_enum! {
    pub enum LicenseKeyStatus {
        Active,
        /// Turned off by the merchant (it may be turned on again).
        Disabled,
        /// Past `expires_at`, or its subscription has ended.
        Expired,
    }
}

crate::text_enum! {
    /// Why a presented key (or activation) was refused (`license_invalid`).
    pub enum LicenseRefusal {
        /// No key is this one (the same answer for a malformed key).
        Unknown,
        Disabled,
        Expired,
        /// The key has no live activation by that id.
        ActivationUnknown,
    }
}

/// The readable part before a key's random part, unless a plan names its own.
pub const DEFAULT_PREFIX: &str = "LK";
/// The most activations a key may admit.
pub const MAX_ACTIVATION_LIMIT: u32 = 100_000;
/// The longest activation label.
pub const MAX_LABEL_CHARS: usize = 200;
/// Longer than any key this server issues: refused unread.
const MAX_KEY_LEN: usize = 64;

/// A plan's license keys (`plan.license_keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensePolicy {
    /// Whether subscriptions started on the plan get a key.
    pub enabled: bool,
    /// Live activations each key admits; none: no limit.
    pub activation_limit: Option<u32>,
    pub expires: LicenseExpiry,
    /// 1–12 upper-case letters or digits; default [`DEFAULT_PREFIX`].
    pub prefix: Option<String>,
}

impl LicensePolicy {
    /// Each field that does not fit, named under `field` (e.g. `license_keys.prefix`).
    pub fn check(&self, field: &str, errs: &mut Vec<FieldError>) {
        if let Some(p) = &self.prefix {
            if !valid_prefix(p) {
                errs.push(FieldError::new(
                    format!("{field}.prefix"),
                    "must be 1 to 12 upper-case letters or digits",
                ));
            }
        }
        check_limit(
            self.activation_limit,
            &format!("{field}.activation_limit"),
            errs,
        );
    }
}

fn valid_prefix(p: &str) -> bool {
    (1..=12).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn check_limit(limit: Option<u32>, field: &str, errs: &mut Vec<FieldError>) {
    if limit.is_some_and(|l| l == 0 || l > MAX_ACTIVATION_LIMIT) {
        errs.push(FieldError::new(
            field,
            format!("must be between 1 and {MAX_ACTIVATION_LIMIT}"),
        ));
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LicenseKey {
    pub id: LicenseKeyId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    /// The subscription that issued it; none for a key issued by hand.
    pub subscription_id: Option<SubscriptionId>,
    /// The key itself.
    pub key: String,
    pub activation_limit: Option<u32>,
    /// Live activations.
    pub activations: u32,
    /// Expires when its subscription ends.
    pub with_subscription: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// When its subscription ended (read with the key; none while it runs).
    pub subscription_ended_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A key the merchant issues by hand.
#[derive(Debug, Clone)]
pub struct NewLicenseKey {
    pub customer_id: CustomerId,
    pub activation_limit: Option<u32>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl LicenseKey {
    /// A new key with a fresh secret.
    fn issue(
        tenant_id: &TenantId,
        customer_id: &CustomerId,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: LicenseKeyId::new(),
            tenant_id: tenant_id.clone(),
            customer_id: customer_id.clone(),
            subscription_id: None,
            key: generate(prefix),
            activation_limit: None,
            activations: 0,
            with_subscription: false,
            expires_at: None,
            subscription_ended_at: None,
            disabled_at: None,
            created_at: now,
        }
    }

    /// The key a subscription on a plan with `policy` gets.
    pub fn for_subscription(
        sub: &crate::subscription::Subscription,
        policy: &LicensePolicy,
        now: DateTime<Utc>,
    ) -> Self {
        let prefix = policy.prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
        Self {
            subscription_id: Some(sub.id.clone()),
            activation_limit: policy.activation_limit,
            with_subscription: policy.expires == LicenseExpiry::WithSubscription,
            ..Self::issue(&sub.tenant_id, &sub.customer_id, prefix, now)
        }
    }

    /// A key issued by hand; 422 naming a field that does not fit.
    pub fn by_hand(
        tenant_id: &TenantId,
        new: &NewLicenseKey,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        let mut errs = Vec::new();
        check_limit(new.activation_limit, "activation_limit", &mut errs);
        if new.expires_at.is_some_and(|at| at <= now) {
            errs.push(FieldError::new("expires_at", "must be in the future"));
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        Ok(Self {
            activation_limit: new.activation_limit,
            expires_at: new.expires_at,
            ..Self::issue(tenant_id, &new.customer_id, DEFAULT_PREFIX, now)
        })
    }

    pub fn status(&self, now: DateTime<Utc>) -> LicenseKeyStatus {
        if self.disabled_at.is_some() {
            LicenseKeyStatus::Disabled
        } else if self.expires_at.is_some_and(|at| at <= now)
            || (self.with_subscription && self.subscription_ended_at.is_some())
        {
            LicenseKeyStatus::Expired
        } else {
            LicenseKeyStatus::Active
        }
    }

    /// When it expires, as far as is known: its own date, or when its subscription ended.
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        self.expires_at.or(self
            .subscription_ended_at
            .filter(|_| self.with_subscription))
    }

    /// Refuses a key that is not active (422 `license_invalid` with the reason).
    pub fn usable(&self, now: DateTime<Utc>) -> DomainResult<()> {
        match self.status(now) {
            LicenseKeyStatus::Active => Ok(()),
            LicenseKeyStatus::Disabled => Err(refused(LicenseRefusal::Disabled)),
            LicenseKeyStatus::Expired => Err(refused(LicenseRefusal::Expired)),
        }
    }
}

/// One installation of a key.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseActivation {
    pub id: ActivationId,
    pub tenant_id: TenantId,
    pub license_key_id: LicenseKeyId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl LicenseActivation {
    /// A new activation of `key`; 422 naming `label` when it is blank or over 200 characters.
    pub fn new(key: &LicenseKey, label: &str, now: DateTime<Utc>) -> DomainResult<Self> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
            return Err(DomainError::validation(
                "label",
                format!("must be 1 to {MAX_LABEL_CHARS} characters"),
            ));
        }
        Ok(Self {
            id: ActivationId::new(),
            tenant_id: key.tenant_id.clone(),
            license_key_id: key.id.clone(),
            label: label.to_owned(),
            created_at: now,
            deactivated_at: None,
        })
    }
}

/// The answer to a refused key: 422 `license_invalid`, naming the field and the reason.
pub fn refused(reason: LicenseRefusal) -> DomainError {
    let (field, message) = match reason {
        LicenseRefusal::Unknown => ("key", "This license key is not valid."),
        LicenseRefusal::Disabled => ("key", "This license key has been disabled."),
        LicenseRefusal::Expired => ("key", "This license key has expired."),
        LicenseRefusal::ActivationUnknown => (
            "activation_id",
            "This license key has no active activation by that id.",
        ),
    };
    DomainError::Refused {
        code: ErrorCode::LicenseInvalid,
        field,
        reason: reason.as_str(),
        message: message.to_owned(),
    }
}

/// A fresh key: `PREFIX-` and 128 random bits in Crockford base32 (the ULID alphabet: no I, L,
/// O or U), in groups a person can read out.
fn generate(prefix: &str) -> String {
    let body = ulid::Ulid(rand::random::<u128>()).to_string();
    let groups = [
        &body[..6],
        &body[6..11],
        &body[11..16],
        &body[16..21],
        &body[21..],
    ];
    format!("{prefix}-{}", groups.join("-"))
}

/// The digest a key is stored and looked up by: SHA-256 of the key as issued (surrounding
/// space and letter case do not matter, as when a person types it). None for a string too
/// long to be a key.
pub fn digest(presented: &str) -> Option<String> {
    let key = presented.trim();
    (!key.is_empty() && key.len() <= MAX_KEY_LEN)
        .then(|| hex::encode(Sha256::digest(key.to_ascii_uppercase().as_bytes())))
}

/// The merchant's list of keys.
#[derive(Debug, Clone, Default)]
pub struct LicenseKeyFilter {
    pub customer_id: Option<CustomerId>,
    pub subscription_id: Option<SubscriptionId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_128_random_bits_after_a_readable_prefix() {
        let a = generate("ACME");
        let b = generate("ACME");
        assert_ne!(a, b);
        assert!(a.starts_with("ACME-"), "{a}");
        let body: String = a["ACME-".len()..].chars().filter(|c| *c != '-').collect();
        assert_eq!(body.len(), 26, "26 base32 characters hold 128 bits: {a}");
        assert_eq!(digest(&a), digest(&format!("  {}\n", a.to_lowercase())));
        assert_eq!(digest(&"A".repeat(65)), None);
        assert_eq!(digest("  "), None);
    }

    #[test]
    fn a_prefix_is_short_and_upper_case() {
        for (p, ok) in [("LK", true), ("ACME2", true), ("lk", false), ("", false)] {
            let mut errs = Vec::new();
            LicensePolicy {
                enabled: true,
                activation_limit: Some(0),
                expires: LicenseExpiry::Never,
                prefix: Some(p.into()),
            }
            .check("license_keys", &mut errs);
            let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
            let mut want = vec!["license_keys.activation_limit"];
            if !ok {
                want.insert(0, "license_keys.prefix");
            }
            assert_eq!(fields, want, "{p}");
        }
    }
}
