//! License key JSON shapes: the merchant's and the customer's view of a key (with the key
//! itself), and the narrower answers of the public routes, which tell a key's holder only
//! about that key.

use chrono::{DateTime, Utc};
use domain::id::{CustomerId, SubscriptionId};
use domain::license::{LicenseActivation, LicenseKey, LicenseKeyFilter, LicensePolicy};
use domain::services::licenses::{Activated, Checked, KeyWithActivations};
use domain::DomainError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::{list_type, Fields};

/// A plan's license keys: whether subscriptions started on it get one, and what they admit.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseKeysBody {
    pub enabled: bool,
    /// Live activations each key admits; null: no limit.
    #[schema(minimum = 1, maximum = 100000, example = 3)]
    pub activation_limit: Option<u32>,
    /// `with_subscription` (the default): a key expires when its subscription ends; `never`.
    #[schema(value_type = Option<crate::schema::LicenseExpiry>)]
    pub expires: Option<String>,
    /// The readable start of each key: 1–12 upper-case letters or digits (default `LK`).
    #[schema(example = "ACME")]
    pub prefix: Option<String>,
}

impl LicenseKeysBody {
    pub fn into_policy(self, r: &mut Fields) -> LicensePolicy {
        LicensePolicy {
            enabled: self.enabled,
            activation_limit: self.activation_limit,
            expires: r.variant(
                "license_keys.expires",
                self.expires.as_deref(),
                domain::license::LicenseExpiry::WithSubscription,
            ),
            prefix: self.prefix,
        }
    }

    pub fn from_policy(p: LicensePolicy) -> Self {
        Self {
            enabled: p.enabled,
            activation_limit: p.activation_limit,
            expires: Some(p.expires.as_str().to_owned()),
            prefix: p.prefix,
        }
    }
}

/// A key the merchant issues by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLicenseKey {
    #[schema(example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub customer_id: String,
    /// Live activations the key admits; null or left out: no limit.
    #[schema(minimum = 1, maximum = 100000, example = 3)]
    pub activation_limit: Option<u32>,
    /// When it stops validating (in the future); left out: never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl CreateLicenseKey {
    pub fn into_new(self) -> Result<domain::license::NewLicenseKey, DomainError> {
        Ok(domain::license::NewLicenseKey {
            customer_id: CustomerId::parse(&self.customer_id).ok_or_else(CustomerId::not_found)?,
            activation_limit: self.activation_limit,
            expires_at: self.expires_at,
        })
    }
}

/// One installation of a key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationView {
    #[schema(example = "act_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[schema(example = "Ada's laptop")]
    pub label: String,
    pub created_at: DateTime<Utc>,
    /// When it was deactivated; null while it is live.
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl From<LicenseActivation> for ActivationView {
    fn from(a: LicenseActivation) -> Self {
        Self {
            id: a.id.to_string(),
            label: a.label,
            created_at: a.created_at,
            deactivated_at: a.deactivated_at,
        }
    }
}

/// A license key as its merchant and its customer see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseKeyView {
    #[schema(example = "lk_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: String,
    /// The subscription that issued it; null for a key issued by hand.
    pub subscription_id: Option<String>,
    /// The key to paste into the software (empty if this server can no longer open it).
    #[schema(example = "LK-01JD3X-6V9F5-M2Q8R-7T4W0-Y1Z3A")]
    pub key: String,
    /// `active`; `disabled` by the merchant; `expired` past `expires_at` or once the
    /// subscription it follows has ended.
    #[schema(value_type = crate::schema::LicenseKeyStatus)]
    pub status: &'static str,
    /// Live activations it admits; null: no limit.
    pub activation_limit: Option<u32>,
    /// Its live activations.
    pub activation_count: u32,
    /// Whether it expires when its subscription ends.
    pub expires_with_subscription: bool,
    /// When it expires or expired, as far as is known (a key that follows a running
    /// subscription has none yet).
    pub expires_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Every activation, oldest first (live and deactivated).
    pub activations: Vec<ActivationView>,
}

impl From<KeyWithActivations> for LicenseKeyView {
    fn from(k: KeyWithActivations) -> Self {
        let KeyWithActivations { key, activations } = k;
        Self {
            status: key.status(domain::clock::now()).as_str(),
            expires_at: key.expiry(),
            id: key.id.to_string(),
            customer_id: key.customer_id.to_string(),
            subscription_id: key.subscription_id.map(|s| s.to_string()),
            key: key.key,
            activation_limit: key.activation_limit,
            activation_count: key.activations,
            expires_with_subscription: key.with_subscription,
            disabled_at: key.disabled_at,
            created_at: key.created_at,
            activations: activations.into_iter().map(ActivationView::from).collect(),
        }
    }
}

list_type!(LicenseKeyList, LicenseKeyView);

/// The customer's keys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalLicenseKeyList {
    pub data: Vec<LicenseKeyView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListLicenseKeys {
    /// Only this customer's keys.
    #[param(example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub customer_id: Option<String>,
    /// Only the key this subscription issued.
    #[param(example = "sub_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub subscription_id: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListLicenseKeys {
    /// The filter; a malformed id is a 422 naming it.
    pub fn filter(&self) -> Result<LicenseKeyFilter, DomainError> {
        let bad = |field: &str, what: &str| DomainError::validation(field, what);
        Ok(LicenseKeyFilter {
            customer_id: self
                .customer_id
                .as_deref()
                .map(|c| {
                    CustomerId::parse(c).ok_or_else(|| bad("customer_id", "is not a customer id"))
                })
                .transpose()?,
            subscription_id: self
                .subscription_id
                .as_deref()
                .map(|s| {
                    SubscriptionId::parse(s)
                        .ok_or_else(|| bad("subscription_id", "is not a subscription id"))
                })
                .transpose()?,
        })
    }
}

// ---- the public routes ----------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateLicense {
    /// The license key, as issued (case and surrounding space do not matter).
    #[schema(example = "LK-01JD3X-6V9F5-M2Q8R-7T4W0-Y1Z3A")]
    pub key: String,
    /// Also check that this activation (from activate) is live.
    #[schema(example = "act_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub activation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateLicense {
    #[schema(example = "LK-01JD3X-6V9F5-M2Q8R-7T4W0-Y1Z3A")]
    pub key: String,
    /// What the installation is (1–200 characters), shown to the customer.
    #[schema(example = "Ada's laptop", max_length = 200)]
    pub label: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeactivateLicense {
    #[schema(example = "LK-01JD3X-6V9F5-M2Q8R-7T4W0-Y1Z3A")]
    pub key: String,
    #[schema(example = "act_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub activation_id: String,
}

/// What a key's holder may know of it: its state and limits, not its owner or other
/// activations.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseState {
    #[schema(example = "lk_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[schema(value_type = crate::schema::LicenseKeyStatus)]
    pub status: &'static str,
    pub activation_limit: Option<u32>,
    pub activation_count: u32,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A valid key (and the live activation asked about).
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseValidation {
    /// Always true: a key that is not valid is answered with 422 `license_invalid`.
    pub valid: bool,
    pub license_key: LicenseState,
    pub activation: Option<ActivationView>,
}

/// A new activation, with the key's state after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseActivated {
    pub activation: ActivationView,
    pub license_key: LicenseState,
}

fn state(key: &LicenseKey) -> LicenseState {
    LicenseState {
        id: key.id.to_string(),
        status: key.status(domain::clock::now()).as_str(),
        activation_limit: key.activation_limit,
        activation_count: key.activations,
        expires_at: key.expiry(),
    }
}

impl From<Checked> for LicenseValidation {
    fn from(c: Checked) -> Self {
        Self {
            valid: true,
            license_key: state(&c.key),
            activation: c.activation.map(ActivationView::from),
        }
    }
}

impl From<Activated> for LicenseActivated {
    fn from(a: Activated) -> Self {
        Self {
            license_key: state(&a.key),
            activation: ActivationView::from(a.activation),
        }
    }
}
