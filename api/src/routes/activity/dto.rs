//! Activity entries as clients see them.

use chrono::{DateTime, Utc};
use domain::activity::{Activity, ActivityFilter, ActivityKind};
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::list_type;

/// Query of an activity history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListActivity {
    /// Only these kinds, comma-separated: `payment_succeeded`, `payment_failed`, `refund`,
    /// `wallet_top_up`, `wallet_debit`, `credits_expired`, `invoice_issued`, `invoice_voided`,
    /// `subscription_changed`, `payment_method_changed`, `profile_updated`.
    #[serde(rename = "type")]
    #[param(rename = "type", example = "payment_succeeded,refund")]
    pub kinds: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListActivity {
    pub fn filter(&self) -> Result<ActivityFilter, ApiError> {
        let mut kinds = Vec::new();
        for k in self.kinds.iter().flat_map(|t| t.split(',')) {
            let kind = ActivityKind::parse(k.trim()).ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "type",
                    format!(
                        "must be a comma-separated list of {}",
                        ActivityKind::choices()
                    ),
                )])
            })?;
            kinds.push(kind);
        }
        Ok(ActivityFilter {
            kinds,
            from: self.from,
            to: self.to,
        })
    }
}

/// One entry of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    pub occurred_at: DateTime<Utc>,
    /// e.g. `payment_succeeded`, `wallet_top_up`, `invoice_issued` (see the `type` filter).
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::ActivityKind)]
    pub kind: &'static str,
    #[schema(example = "Payment from the wallet")]
    pub description: String,
    /// In `currency`, when the entry moves money.
    #[schema(example = "25.00")]
    pub amount: Option<String>,
    #[schema(example = "USD")]
    pub currency: Option<String>,
    pub invoice_id: Option<String>,
    pub payment_id: Option<String>,
    /// The wallet transaction, for wallet entries.
    pub transaction_id: Option<String>,
    /// `success` or `error` (a failed payment).
    #[schema(value_type = crate::schema::ActivityStatus)]
    pub status: &'static str,
}

impl From<Activity> for ActivityView {
    fn from(a: Activity) -> Self {
        let amount = match (&a.amount, a.currency) {
            (Some(v), Some(c)) => Some(c.display(v)),
            (Some(v), None) => Some(domain::money::canonical(v)),
            _ => None,
        };
        Self {
            occurred_at: a.at,
            kind: a.kind.as_str(),
            description: a.description,
            amount,
            currency: a.currency.map(|c| c.code().to_owned()),
            invoice_id: a.invoice_id,
            payment_id: a.payment_id,
            transaction_id: a.transaction_id,
            status: a.status.as_str(),
        }
    }
}

list_type!(ActivityList, ActivityView);
