//! Entitlements as clients see them. Quantities are exact decimal strings.

use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::services::entitlements::{Check, EntitlementStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementView {
    #[schema(example = "api_calls")]
    pub feature: String,
    /// Always true: a feature no subscription grants is not listed.
    pub enabled: bool,
    /// Per billing period; null: no limit.
    #[schema(example = "200000")]
    pub limit: Option<String>,
    /// A soft limit is reported, never enforced.
    pub soft: bool,
    /// Used in the current period (counted by the hour).
    #[schema(example = "51234")]
    pub used: String,
    pub remaining: Option<String>,
    #[schema(example = "25.62")]
    pub usage_percent: Option<String>,
    /// The end of the current period, when `used` starts again from 0.
    pub resets_at: DateTime<Utc>,
    pub source: EntitlementSource,
}

/// Where an entitlement comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementSource {
    pub subscription_id: String,
    pub plan_id: String,
}

impl From<EntitlementStatus> for EntitlementView {
    fn from(e: EntitlementStatus) -> Self {
        Self {
            feature: e.feature,
            enabled: true,
            limit: e.limit.as_ref().map(canonical),
            soft: e.soft,
            used: canonical(&e.used),
            remaining: e.remaining.as_ref().map(canonical),
            usage_percent: e.usage_percent.as_ref().map(|p| p.to_string()),
            resets_at: e.resets_at,
            source: EntitlementSource {
                subscription_id: e.subscription_id.into(),
                plan_id: e.plan_id.into(),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementList {
    pub data: Vec<EntitlementView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "feature": "api_calls", "quantity": "1"}))]
pub struct CheckEntitlement {
    pub customer_id: String,
    /// The feature key.
    pub feature: String,
    /// How much more the customer is about to use (default 1).
    pub quantity: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    /// Entitled, and within a hard limit. A soft limit never refuses; no entitlement refuses.
    pub allowed: bool,
    pub used: String,
    pub limit: Option<String>,
    pub remaining: Option<String>,
}

impl From<Check> for CheckResult {
    fn from(c: Check) -> Self {
        Self {
            allowed: c.allowed,
            used: canonical(&c.used),
            limit: c.limit.as_ref().map(canonical),
            remaining: c.remaining.as_ref().map(canonical),
        }
    }
}
