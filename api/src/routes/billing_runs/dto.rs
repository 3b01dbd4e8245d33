//! Billing runs as clients see them.

use chrono::{DateTime, Utc};
use domain::test_clock::BillingRun;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::list_type;

#[derive(Debug, Serialize, ToSchema)]
pub struct BillingRunView {
    #[schema(example = "brun_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub subscription_id: String,
    pub customer_id: String,
    /// `renewal` (a period boundary), `collection` (a dunning retry) or `failure`.
    #[schema(value_type = crate::schema::RunKind)]
    pub kind: &'static str,
    /// The boundary billed (renewals and failures).
    pub period_start: Option<DateTime<Utc>>,
    pub invoice_id: Option<String>,
    /// What the step did: renewed, paid, left past due, canceled (for good with its invoices
    /// unpaid, or because the customer was archived), or failed (retried later).
    #[schema(value_type = crate::schema::BillingOutcome)]
    pub outcome: String,
    /// Why it failed (failures only); the subscription is tried again later.
    pub error: Option<String>,
    #[schema(value_type = crate::schema::RunSource)]
    pub source: &'static str,
    /// When it happened (a test clock's time for its runs).
    pub created_at: DateTime<Utc>,
}

impl From<BillingRun> for BillingRunView {
    fn from(r: BillingRun) -> Self {
        Self {
            id: r.id,
            subscription_id: r.subscription_id.into(),
            customer_id: r.customer_id,
            kind: r.kind.as_str(),
            period_start: r.period_start,
            invoice_id: r.invoice_id,
            outcome: r.outcome,
            error: r.error,
            source: r.source.as_str(),
            created_at: r.created_at,
        }
    }
}

list_type!(BillingRunList, BillingRunView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListBillingRuns {
    /// Only this subscription's runs.
    pub subscription_id: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
