//! Prefixed, time-ordered, URL-safe identifiers (`cus_01j…`).
//!
//! A ULID (48-bit millisecond timestamp + 80 random bits) in lower-case Crockford base32:
//! ids sort by creation time, so lists order by id alone and cursors are just ids.

pub const CUSTOMER: &str = "cus";
pub const API_KEY: &str = "key";
pub const TENANT: &str = "ten";
pub const PORTAL_SESSION: &str = "ps";
pub const GUEST_SESSION: &str = "gs";
pub const AUDIT_EVENT: &str = "aud";
pub const WALLET: &str = "wal";
pub const WALLET_TX: &str = "wtx";
pub const CREDIT_LOT: &str = "lot";
pub const INVOICE: &str = "inv";
pub const PAYMENT: &str = "pay";
pub const REFUND: &str = "re";
pub const FEATURE: &str = "feat";
pub const EVENT: &str = "evt";
pub const PLAN: &str = "plan";
pub const SUBSCRIPTION: &str = "sub";
pub const TEST_CLOCK: &str = "clock";
pub const BILLING_RUN: &str = "brun";
pub const PAYMENT_METHOD: &str = "pm";
pub const WEBHOOK_ENDPOINT: &str = "we";
/// A webhook event (a "message" in Standard Webhooks terms; `evt` names usage events).
pub const WEBHOOK_EVENT: &str = "msg";
pub const WEBHOOK_DELIVERY: &str = "whd";
pub const WEBHOOK_ATTEMPT: &str = "wha";
pub const TAX_RATE: &str = "txr";
pub const CREDIT_NOTE: &str = "cn";
pub const COUPON: &str = "cpn";
pub const PROMOTION_CODE: &str = "promo";
/// An alert a customer set (`crate::alert`).
pub const ALERT: &str = "alrt";
/// A license key (`crate::license`).
pub const LICENSE_KEY: &str = "lk";
/// An activation of a license key.
pub const ACTIVATION: &str = "act";
/// A message of the e-mail outbox.
pub const EMAIL: &str = "em";
/// An invoice line.
pub const INVOICE_LINE: &str = "il";

pub fn new_id(prefix: &str) -> String {
    // Monotonic within the process: ids made in the same millisecond still sort in the order
    // they were made (a plain ULID is random within its millisecond).
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    let ulid = GENERATOR
        .lock()
        .map_err(|_| ())
        .and_then(|mut g| g.generate().map_err(|_| ()))
        .unwrap_or_else(|()| ulid::Ulid::new());
    format!("{prefix}_{}", ulid.to_string().to_ascii_lowercase())
}

/// True when `id` has the given prefix and a well-formed ULID body. Used to answer a malformed
/// id with the same 404 as a missing one without a database round trip.
pub fn is_valid(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| body.len() == 26 && ulid::Ulid::from_string(body).is_ok())
}

use crate::ErrorCode;

/// An id of one resource: parsed once where it enters (a path, a body), so a `cus_` id cannot
/// be passed where a `wal_` id is meant, and a malformed one is that resource's 404 without a
/// database round trip.
pub trait PrefixedId: Sized {
    const PREFIX: &'static str;
    /// The resource's not-found answer, for a malformed id as for a missing one.
    fn not_found() -> crate::DomainError;
    fn parse(id: &str) -> Option<Self>;
    fn as_str(&self) -> &str;
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:expr, $resource:literal, $code:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new() -> Self {
                Self(new_id($prefix))
            }

            /// The resource's not-found answer, for a malformed id as for a missing one.
            pub fn not_found() -> crate::DomainError {
                crate::DomainError::NotFound {
                    resource: $resource,
                    code: $code,
                }
            }

            pub fn parse(id: &str) -> Option<Self> {
                is_valid($prefix, id).then(|| Self(id.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl PrefixedId for $name {
            const PREFIX: &'static str = $prefix;

            fn not_found() -> crate::DomainError {
                Self::not_found()
            }

            fn parse(id: &str) -> Option<Self> {
                Self::parse(id)
            }

            fn as_str(&self) -> &str {
                self.as_str()
            }
        }

        /// As its text, in documents the product stores (an invoice line's tax rates).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("not a {} id: {text}", $resource))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

prefixed_id!(
    CustomerId,
    CUSTOMER,
    "customer",
    ErrorCode::CustomerNotFound
);
prefixed_id!(WalletId, WALLET, "wallet", ErrorCode::WalletNotFound);
prefixed_id!(InvoiceId, INVOICE, "invoice", ErrorCode::InvoiceNotFound);
prefixed_id!(PaymentId, PAYMENT, "payment", ErrorCode::PaymentNotFound);
prefixed_id!(FeatureId, FEATURE, "feature", ErrorCode::FeatureNotFound);
prefixed_id!(
    PortalSessionId,
    PORTAL_SESSION,
    "portal session",
    ErrorCode::PortalSessionNotFound
);
prefixed_id!(
    GuestSessionId,
    GUEST_SESSION,
    "portal session",
    ErrorCode::PortalSessionNotFound
);
prefixed_id!(ApiKeyId, API_KEY, "API key", ErrorCode::ApiKeyNotFound);
prefixed_id!(PlanId, PLAN, "plan", ErrorCode::PlanNotFound);
prefixed_id!(
    PaymentMethodId,
    PAYMENT_METHOD,
    "payment method",
    ErrorCode::PaymentMethodNotFound
);
prefixed_id!(
    TestClockId,
    TEST_CLOCK,
    "test clock",
    ErrorCode::TestClockNotFound
);
prefixed_id!(
    SubscriptionId,
    SUBSCRIPTION,
    "subscription",
    ErrorCode::SubscriptionNotFound
);

prefixed_id!(
    WebhookEndpointId,
    WEBHOOK_ENDPOINT,
    "webhook endpoint",
    ErrorCode::WebhookEndpointNotFound
);
prefixed_id!(
    WebhookEventId,
    WEBHOOK_EVENT,
    "webhook event",
    ErrorCode::WebhookEventNotFound
);
prefixed_id!(
    WebhookDeliveryId,
    WEBHOOK_DELIVERY,
    "webhook delivery",
    ErrorCode::WebhookDeliveryNotFound
);

prefixed_id!(TaxRateId, TAX_RATE, "tax rate", ErrorCode::TaxRateNotFound);
prefixed_id!(CouponId, COUPON, "coupon", ErrorCode::CouponNotFound);
prefixed_id!(
    PromotionCodeId,
    PROMOTION_CODE,
    "promotion code",
    ErrorCode::PromotionCodeNotFound
);
prefixed_id!(
    CreditNoteId,
    CREDIT_NOTE,
    "credit note",
    ErrorCode::CreditNoteNotFound
);
prefixed_id!(EmailId, EMAIL, "e-mail", ErrorCode::EmailNotFound);
prefixed_id!(AlertId, ALERT, "alert", ErrorCode::AlertNotFound);
prefixed_id!(
    LicenseKeyId,
    LICENSE_KEY,
    "license key",
    ErrorCode::LicenseKeyNotFound
);
prefixed_id!(
    ActivationId,
    ACTIVATION,
    "activation",
    ErrorCode::ActivationNotFound
);

/// A list filter by a resource's id, as the client gave it: `Some(None)` no filter,
/// `Some(Some(id))` that id, `None` a malformed id, which matches nothing (as an unknown one).
pub fn filter<T: PrefixedId>(given: Option<&str>) -> Option<Option<T>> {
    match given {
        None => Some(None),
        Some(id) => T::parse(id).map(Some),
    }
}

/// Parses a client's id for a resource, or that resource's 404.
pub fn parse<T: PrefixedId>(id: &str) -> crate::DomainResult<T> {
    T::parse(id).ok_or_else(T::not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_url_safe_and_ordered() {
        let a = new_id(CUSTOMER);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(CUSTOMER);
        assert!(a.starts_with("cus_") && a.len() == 30);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(a < b, "later ids sort after earlier ones");
        assert!(is_valid(CUSTOMER, &a));
        assert!(!is_valid(API_KEY, &a));
        assert!(!is_valid(CUSTOMER, "cus_nope"));
    }

    #[test]
    fn typed_ids_parse_only_their_own_prefix() {
        let w = WalletId::new();
        assert_eq!(WalletId::parse(&w), Some(w.clone()));
        assert!(
            CustomerId::parse(&w).is_none(),
            "a wallet id is not a customer id"
        );
        assert!(matches!(
            parse::<InvoiceId>("inv_nope"),
            Err(crate::DomainError::NotFound {
                code: crate::ErrorCode::InvoiceNotFound,
                ..
            })
        ));
    }
}

/// The account (tenant) every stored object belongs to, and every repository call names. Made
/// by the product (`ten_…`) or read back from storage, never parsed from a client: a request's
/// account comes from its key or session.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    pub fn new() -> Self {
        Self(new_id(TENANT))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An account a client names where no key or session can: the self sign-in page, which
    /// only looks the account up (and answers the same whether it exists or not). A malformed
    /// id is `None`.
    pub fn named_by_client(id: &str) -> Option<Self> {
        is_valid(TENANT, id).then(|| Self(id.to_owned()))
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::new()
    }
}

/// From storage (or a test's fixture): the tenant as stored.
impl From<String> for TenantId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for TenantId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<TenantId> for String {
    fn from(id: TenantId) -> String {
        id.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for TenantId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for TenantId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TenantId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
