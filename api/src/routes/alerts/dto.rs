//! Alert JSON shapes.

use chrono::{DateTime, Utc};
use domain::alert::{Alert, AlertType, NewAlert};
use domain::error::FieldError;
use domain::money::{canonical, parse_amount, Currency};
use domain::DomainError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "usage", "feature": "api_calls", "threshold": "10000"}))]
pub struct CreateAlert {
    /// `usage`: a feature's use this period reaches the threshold; `spend`: the invoices
    /// issued this calendar month (UTC) in `currency` reach it; `credit_balance`: a wallet's balance (in
    /// `currency`, or any) falls below it, in credits.
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::AlertType)]
    pub alert_type: AlertType,
    /// The feature's key (usage alerts only).
    #[schema(example = "api_calls")]
    pub feature: Option<String>,
    /// ISO 4217: required for a spend alert, optional for a credit-balance alert.
    #[schema(example = "USD")]
    pub currency: Option<String>,
    /// A decimal string greater than 0: a quantity, an amount or credits, as the type says.
    #[schema(example = "10000")]
    pub threshold: String,
}

impl CreateAlert {
    /// The alert asked for; a malformed currency or threshold is a 422 naming it.
    pub fn into_new(self) -> Result<NewAlert, DomainError> {
        let mut errors = Vec::new();
        let currency = match self.currency.as_deref().map(Currency::parse).transpose() {
            Ok(c) => c,
            Err(_) => {
                errors.push(FieldError::new(
                    "currency",
                    "must be an ISO 4217 currency code such as \"USD\"",
                ));
                None
            }
        };
        let threshold = match parse_amount(&self.threshold) {
            Ok(t) => Some(t),
            Err(_) => {
                errors.push(FieldError::new(
                    "threshold",
                    "must be a decimal string such as \"100\"",
                ));
                None
            }
        };
        match threshold {
            Some(threshold) if errors.is_empty() => Ok(NewAlert {
                alert_type: self.alert_type,
                feature_key: self.feature,
                currency,
                threshold,
            }),
            _ => Err(DomainError::Validation(errors)),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    #[schema(example = "alrt_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::AlertType)]
    pub alert_type: &'static str,
    pub feature: Option<String>,
    #[schema(example = "USD")]
    pub currency: Option<String>,
    #[schema(example = "10000")]
    pub threshold: String,
    /// Who set it: the customer in the portal, or the merchant.
    #[schema(value_type = crate::schema::AlertOwner)]
    pub created_by: &'static str,
    pub created_at: DateTime<Utc>,
    /// When it last fired (once per crossing per period).
    pub triggered_at: Option<DateTime<Utc>>,
}

impl From<Alert> for AlertView {
    fn from(a: Alert) -> Self {
        Self {
            id: a.id.to_string(),
            customer_id: a.customer_id.to_string(),
            alert_type: a.alert_type.as_str(),
            feature: a.feature_key,
            currency: a.currency.map(|c| c.code().to_owned()),
            threshold: canonical(&a.threshold),
            created_by: a.created_by.as_str(),
            created_at: a.created_at,
            triggered_at: a.triggered_at,
        }
    }
}

/// A customer's alerts, oldest first (at most 25: no paging).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub data: Vec<AlertView>,
}

impl From<Vec<Alert>> for AlertList {
    fn from(alerts: Vec<Alert>) -> Self {
        Self {
            data: alerts.into_iter().map(AlertView::from).collect(),
        }
    }
}
