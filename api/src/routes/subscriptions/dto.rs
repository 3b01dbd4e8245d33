//! Subscriptions as clients send and see them.

use chrono::{DateTime, Utc};
use domain::ports::SubscriptionFilter;
use domain::subscription::{BillingAnchor, CancelAt, Collection, Subscription, SubscriptionStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{list_type, Fields};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "plan": "pro-monthly", "collection": "send_invoice"}))]
pub struct CreateSubscription {
    /// Give this or `external_customer_id`.
    pub customer_id: Option<String>,
    pub external_customer_id: Option<String>,
    /// The plan's code or id; it must be active.
    pub plan: String,
    /// Default: the plan's trial days. 0 starts without a trial.
    pub trial_days: Option<u32>,
    /// `anniversary` (periods count from the start or the trial's end, the default) or
    /// `calendar` (from the 1st of the month, January 1st, Monday or midnight, in the
    /// customer's time zone).
    pub billing_anchor: Option<String>,
    /// `send_invoice` (the default) or `wallet`: invoices are paid from the customer's wallet
    /// in the plan's currency, which must exist.
    pub collection: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSubscription {
    /// `period_end` (the default: the subscription runs to the end of the period already
    /// paid) or `immediately`.
    pub at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    #[schema(example = "sub_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: String,
    pub plan_id: String,
    /// `trialing`, `active`, `past_due`, `paused`, `canceled` or `ended`.
    #[schema(example = "active")]
    pub status: &'static str,
    /// `anniversary` or `calendar`.
    pub billing_anchor: &'static str,
    /// `send_invoice` or `wallet`.
    pub collection: &'static str,
    /// `day`, `week`, `month` or `year`, as the plan was when subscribed.
    pub interval: &'static str,
    pub interval_count: u32,
    pub started_at: DateTime<Utc>,
    pub current_period_start: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    /// When the next invoice is due; null when the subscription ends at the period's end.
    pub next_billing_at: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        Self {
            next_billing_at: s.next_billing_at(),
            id: s.id.into(),
            customer_id: s.customer_id.into(),
            plan_id: s.plan_id.into(),
            status: s.status.as_str(),
            billing_anchor: s.billing_anchor.as_str(),
            collection: s.collection.as_str(),
            interval: s.interval.as_str(),
            interval_count: s.interval_count,
            started_at: s.started_at,
            current_period_start: s.current_period_start,
            current_period_end: s.current_period_end,
            trial_end: s.trial_end,
            cancel_at_period_end: s.cancel_at_period_end,
            canceled_at: s.canceled_at,
            ended_at: s.ended_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

list_type!(SubscriptionList, SubscriptionView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListSubscriptions {
    pub customer_id: Option<String>,
    /// `trialing`, `active`, `past_due`, `paused`, `canceled` or `ended`.
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The parsed choices of a create request: anchor and collection.
pub fn choices(b: &CreateSubscription) -> Result<(BillingAnchor, Collection), ApiError> {
    let mut f = Fields::default();
    let anchor = f.one_of(
        "billing_anchor",
        b.billing_anchor.as_deref(),
        BillingAnchor::Anniversary,
        BillingAnchor::parse,
        "anniversary or calendar",
    );
    let collection = f.one_of(
        "collection",
        b.collection.as_deref(),
        Collection::SendInvoice,
        Collection::parse,
        "send_invoice or wallet",
    );
    f.done((anchor, collection))
}

impl CancelSubscription {
    pub fn at(&self) -> Result<CancelAt, ApiError> {
        let mut f = Fields::default();
        let at = f.one_of(
            "at",
            self.at.as_deref(),
            CancelAt::PeriodEnd,
            CancelAt::parse,
            "period_end or immediately",
        );
        f.done(at)
    }
}

impl ListSubscriptions {
    pub fn filter(&self) -> Result<SubscriptionFilter, ApiError> {
        let mut f = Fields::default();
        let status = self.status.as_deref().map(|s| {
            f.one_of(
                "status",
                Some(s),
                SubscriptionStatus::Active,
                SubscriptionStatus::parse,
                "trialing, active, past_due, paused, canceled or ended",
            )
        });
        f.done(SubscriptionFilter {
            customer_id: self.customer_id.clone(),
            status,
        })
    }
}
