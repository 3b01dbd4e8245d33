//! Entitlements as clients see them. Quantities are exact decimal strings.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::services::entitlements::{Check, Consume, Consumed, EntitlementStatus};
use domain::DomainError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

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
#[schema(example = json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "feature": "api_calls", "quantity": "1",
                          "consume": true, "event_id": "req_7f3a9c"}))]
pub struct CheckEntitlement {
    pub customer_id: String,
    /// The feature key.
    pub feature: String,
    /// How much more the customer is about to use (default 1; a `count` feature consumes 1).
    pub quantity: Option<String>,
    /// Also record the use, atomically with the check: in one transaction the limit is
    /// evaluated (a hard limit refuses and stores nothing) and the usage event recorded exactly
    /// as `POST /v1/events` records it. Racing consumers never pass a hard limit.
    #[serde(default)]
    pub consume: bool,
    /// With `consume` (required then): the event's dedupe key. The same `event_id` again is
    /// answered `duplicate` and counted once.
    pub event_id: Option<String>,
    /// With `consume`: when the use happened (default now).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub timestamp: Option<DateTime<Utc>>,
    /// With `consume`: the event's properties (a `sum` or `max` feature's value is `quantity`).
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What the request asks for: a check, or a check that consumes.
pub enum Wanted {
    Check(BigDecimal),
    Consume(Consume),
}

impl CheckEntitlement {
    /// The customer, the feature and what is asked; 422 naming the field otherwise.
    pub fn wanted(self) -> Result<(String, String, Wanted), ApiError> {
        let quantity = match self.quantity.as_deref() {
            Some(q) => crate::routes::common::decimal("quantity", q)?,
            None => BigDecimal::from(1),
        };
        let positive = if self.consume {
            quantity > 0
        } else {
            quantity >= 0
        };
        if !positive {
            let must = if self.consume {
                "must be greater than 0"
            } else {
                "must not be negative"
            };
            return Err(DomainError::validation("quantity", must).into());
        }
        if !self.consume {
            if self.event_id.is_some() || self.timestamp.is_some() || self.properties.is_some() {
                return Err(DomainError::validation(
                    "consume",
                    "event_id, timestamp and properties go with consume: true",
                )
                .into());
            }
            return Ok((self.customer_id, self.feature, Wanted::Check(quantity)));
        }
        let event_id = self
            .event_id
            .ok_or_else(|| DomainError::validation("event_id", "is required with consume"))?;
        let consume = Consume {
            feature: self.feature.clone(),
            quantity,
            event_id,
            timestamp: self.timestamp,
            properties: self.properties.unwrap_or_default(),
        };
        Ok((self.customer_id, self.feature, Wanted::Consume(consume)))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    /// Entitled, and within a hard limit. A soft limit never refuses; no entitlement refuses.
    pub allowed: bool,
    /// `within_limit`, `soft_limit_exceeded` (allowed), `limit_reached` (refused, nothing
    /// stored) or `no_entitlement` (refused).
    #[schema(value_type = crate::schema::ConsumeReason)]
    pub reason: &'static str,
    /// Used in the current period; after a consume, including it.
    pub used: String,
    pub limit: Option<String>,
    pub remaining: Option<String>,
    /// With `consume`: `accepted`, or `duplicate` (the `event_id` was recorded before and is
    /// counted once); null when refused.
    #[schema(value_type = Option<crate::schema::EventStatus>)]
    pub event_status: Option<&'static str>,
}

impl From<Check> for CheckResult {
    fn from(c: Check) -> Self {
        Self {
            allowed: c.allowed,
            reason: c.reason.as_str(),
            used: canonical(&c.used),
            limit: c.limit.as_ref().map(canonical),
            remaining: c.remaining.as_ref().map(canonical),
            event_status: None,
        }
    }
}

impl From<Consumed> for CheckResult {
    fn from(c: Consumed) -> Self {
        Self {
            event_status: c.event_status.map(|s| s.as_str()),
            ..Self::from(c.check)
        }
    }
}
