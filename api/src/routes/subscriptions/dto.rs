//! Subscriptions as clients send and see them.

use chrono::{DateTime, Utc};
use domain::services::billing::Upcoming;
use domain::services::subscriptions::{
    Cancellation, ChangePreview, DiscountRequest, NamedSubscription, PlanChange, Proration,
    UnusedFee,
};
use domain::subscription::SubscriptionFilter;
use domain::subscription::{
    BillingAnchor, CancelAt, CancellationReason, Collection, SubscriptionStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{list_type, Fields};
use crate::routes::invoices::dto::LineView;

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
    #[schema(value_type = Option<crate::schema::BillingAnchor>)]
    pub billing_anchor: Option<String>,
    /// `send_invoice` (the default) or `wallet`: invoices are paid from the customer's wallet
    /// in the plan's currency, which must exist.
    #[schema(value_type = Option<crate::schema::Collection>)]
    pub collection: Option<String>,
    /// Seats: the plan's fixed fee is charged per seat (default: the plan's `quantity.min`).
    #[schema(minimum = 1)]
    pub quantity: Option<u32>,
    /// A coupon to apply from the first invoice on (or give `promotion_code`).
    pub coupon_id: Option<String>,
    /// A promotion code, matched whatever its case.
    #[schema(example = "LAUNCH20")]
    pub promotion_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSubscription {
    /// `period_end` (the default: the subscription runs to the end of the period already
    /// paid) or `immediately` (the usage so far is invoiced at once).
    #[schema(value_type = Option<crate::schema::CancelAt>)]
    pub at: Option<String>,
    /// With `immediately`: `none` (the default) or `wallet_credit`: the unused part of the
    /// period's fee (by calendar days, rounded once to the minor unit) is credited to the
    /// customer's active wallet in the plan's currency.
    #[schema(value_type = Option<crate::schema::UnusedFee>)]
    pub unused: Option<String>,
    /// Why: `too_expensive`, `missing_features`, `switched_service`, `unused`,
    /// `customer_service`, `too_complex`, `low_quality` or `other`.
    #[schema(value_type = Option<crate::schema::CancellationReason>)]
    pub reason: Option<String>,
    /// In the canceller's words, at most 1,000 characters.
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"plan": "pro-monthly"}))]
pub struct ChangePlan {
    /// The new plan's code or id: active, in the same currency. Leave it out to change only
    /// the seats.
    pub plan: Option<String>,
    /// The new number of seats, within the plan's limits (default: as many as now). More
    /// seats is an upgrade (at once by default), fewer a downgrade (at the period's end by
    /// default), prorated per seat like a plan change.
    #[schema(minimum = 1)]
    pub quantity: Option<u32>,
    /// `immediately` (the default for an upgrade) or `period_end` (the default for a
    /// downgrade: the customer keeps what they paid for until then). A plan with another
    /// billing interval always starts at the period's end.
    #[schema(value_type = Option<crate::schema::CancelAt>)]
    pub at: Option<String>,
    /// For an immediate upgrade: `invoice_now` (the default) invoices the price difference for
    /// the rest of the period at once; `next_renewal` adds it to the next renewal invoice. An
    /// immediate downgrade credits the difference to the customer's wallet.
    pub proration: Option<String>,
}

/// What a plan change does (the change's answer, or its preview).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChangePreview {
    pub plan_id: String,
    pub plan_code: String,
    /// The seats after the change.
    pub quantity: u32,
    #[schema(value_type = crate::schema::CancelAt)]
    pub at: &'static str,
    pub effective_at: DateTime<Utc>,
    /// The new plan costs more per unit of time.
    pub upgrade: bool,
    #[schema(value_type = crate::schema::Proration)]
    pub proration: &'static str,
    pub currency: String,
    /// Immediate changes: the unused time on the old plan (negative) and the remaining time on
    /// the new one, each rounded once to the minor unit.
    pub lines: Vec<LineView>,
    /// The lines' sum: charged (positive) or credited to the wallet (negative), before
    /// discount and tax.
    #[schema(example = "12.50")]
    pub net: String,
    /// What the subscription's discount takes off the lines charged or credited now.
    #[schema(example = "0.00")]
    pub total_discount: String,
    /// When the change is invoiced now or credited to the wallet: the tax per rate (the new
    /// plan's, else the customer's, else the account's), as it will be charged or credited.
    pub tax_amounts: Vec<crate::routes::invoices::dto::TaxAmountView>,
    #[schema(example = "2.38")]
    pub total_tax: String,
    /// What the change charges (positive) or credits to the wallet (negative) now, tax
    /// included.
    #[schema(example = "14.88")]
    pub total: String,
}

impl From<ChangePreview> for PlanChangePreview {
    fn from(p: ChangePreview) -> Self {
        let net: bigdecimal::BigDecimal = p.lines.iter().map(|l| &l.amount).sum();
        let c = p.plan.currency;
        let zero = c.display(&bigdecimal::BigDecimal::from(0));
        let (tax_amounts, total_tax, total, total_discount) = match &p.invoice {
            Some(i) => (
                crate::routes::invoices::dto::tax_amounts(i),
                c.display(&i.total_tax()),
                c.display(&i.total),
                c.display(&i.total_discount()),
            ),
            None => (Vec::new(), zero.clone(), c.display(&net), zero),
        };
        Self {
            total_discount,
            quantity: p.quantity,
            tax_amounts,
            total_tax,
            total,
            net: p.plan.currency.display(&net),
            currency: p.plan.currency.to_string(),
            plan_id: p.plan.id.into(),
            plan_code: p.plan.code,
            at: p.at.as_str(),
            effective_at: p.effective_at,
            upgrade: p.upgrade,
            proration: p.proration.as_str(),
            // Invoiced now: the lines as the invoice will carry them, taxed.
            lines: match p.invoice {
                Some(i) => i.lines,
                None => p.lines,
            }
            .into_iter()
            .map(LineView::from)
            .collect(),
        }
    }
}

/// The next invoice as it stands: the renewal's own computation with the usage so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpcomingInvoice {
    pub subscription_id: String,
    pub customer_id: String,
    pub currency: String,
    /// When it will be issued: the end of the current period.
    pub billing_at: DateTime<Utc>,
    /// The fee for the next period (in advance), the usage of this one so far (in arrears) and
    /// any pending proration.
    pub lines: Vec<LineView>,
    /// Sum of the line amounts, before discounts.
    #[schema(example = "58.35")]
    pub subtotal: String,
    /// The subscription's discount, with what it will take off.
    pub discounts: Vec<crate::routes::invoices::dto::InvoiceDiscountView>,
    #[schema(example = "0.00")]
    pub total_discount: String,
    /// Tax per rate, as the renewal will charge it.
    pub tax_amounts: Vec<crate::routes::invoices::dto::TaxAmountView>,
    #[schema(example = "0.00")]
    pub total_tax: String,
    /// Subtotal less discounts, plus exclusive tax: what will be charged if no more usage
    /// comes in.
    #[schema(example = "58.35")]
    pub total: String,
}

impl From<Upcoming> for UpcomingInvoice {
    fn from(u: Upcoming) -> Self {
        let i = u.invoice;
        Self {
            subscription_id: u.subscription.id.into(),
            customer_id: u.subscription.customer_id.into(),
            currency: i.currency.to_string(),
            billing_at: u.subscription.current_period_end,
            subtotal: i.currency.display(&i.subtotal),
            discounts: crate::routes::invoices::dto::discount_views(&i),
            total_discount: i.currency.display(&i.total_discount()),
            tax_amounts: crate::routes::invoices::dto::tax_amounts(&i),
            total_tax: i.currency.display(&i.total_tax()),
            total: i.currency.display(&i.total),
            lines: i.lines.into_iter().map(LineView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    #[schema(example = "sub_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: String,
    pub plan_id: String,
    /// The plan's code and name: the plan the customer is on is always named, even when it is
    /// private or archived (a grandfathered price).
    #[schema(example = "pro-monthly")]
    pub plan_code: String,
    #[schema(example = "Pro")]
    pub plan_name: String,
    /// ISO 4217: what the subscription is billed in (its plan's currency); a plan change
    /// stays in it.
    #[schema(example = "USD")]
    pub currency: &'static str,
    #[schema(value_type = crate::schema::SubscriptionStatus)]
    pub status: &'static str,
    #[schema(value_type = crate::schema::BillingAnchor)]
    pub billing_anchor: &'static str,
    #[schema(value_type = crate::schema::Collection)]
    pub collection: &'static str,
    /// `day`, `week`, `month` or `year`, as the plan was when subscribed.
    #[schema(value_type = crate::schema::Interval)]
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
    /// Why it was canceled, as given with the cancellation.
    #[schema(value_type = Option<crate::schema::CancellationReason>)]
    pub cancellation_reason: Option<&'static str>,
    /// The canceller's words.
    pub cancellation_comment: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A plan change waiting for the end of the period.
    pub pending_plan_id: Option<String>,
    /// The name of the plan of `pending_plan_id`.
    pub pending_plan_name: Option<String>,
    /// The customer's test clock, when they are on one.
    pub test_clock_id: Option<String>,
    /// Why billing last failed for this subscription (it is tried again later).
    pub billing_error: Option<String>,
    /// Seats: the plan's fixed fee is charged per seat.
    pub quantity: u32,
    /// A seat change waiting for the end of the period.
    pub pending_quantity: Option<u32>,
    /// The coupon applied to its invoices, if any.
    pub discount: Option<DiscountView>,
}

/// A coupon as applied to a subscription (a copy: archiving the coupon changes nothing here).
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountView {
    #[schema(example = "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub coupon_id: String,
    /// Set when it came from a promotion code.
    pub promotion_code_id: Option<String>,
    #[schema(example = "Launch 20%")]
    pub name: String,
    /// A percentage taken off every line of the subscription's invoices.
    #[schema(example = "20")]
    pub percent_off: Option<String>,
    /// An amount taken off each period invoice (in `currency`).
    pub amount_off: Option<String>,
    pub currency: Option<String>,
    #[schema(value_type = crate::schema::CouponDuration)]
    pub duration: String,
    /// Period invoices it still discounts; null: every one (`forever`).
    pub periods_left: Option<u32>,
    pub applied_at: DateTime<Utc>,
}

impl From<domain::discount::AppliedDiscount> for DiscountView {
    fn from(d: domain::discount::AppliedDiscount) -> Self {
        Self {
            amount_off: d.amount_off_text(),
            coupon_id: d.coupon_id.into(),
            promotion_code_id: d.promotion_code_id.map(String::from),
            name: d.name,
            percent_off: d.percent_off.as_ref().map(domain::money::canonical),
            currency: d.currency,
            duration: d.duration,
            periods_left: d.periods_left,
            applied_at: d.applied_at,
        }
    }
}

/// A coupon to apply to a subscription: give exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"promotion_code": "LAUNCH20"}))]
pub struct ApplyDiscount {
    pub coupon_id: Option<String>,
    /// Matched whatever its case.
    pub promotion_code: Option<String>,
}

impl ApplyDiscount {
    pub fn request(self) -> Result<Option<DiscountRequest>, ApiError> {
        discount_request(self.coupon_id, self.promotion_code)
    }
}

/// A promotion code a customer redeems on their subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"promotion_code": "LAUNCH20"}))]
pub struct RedeemPromotionCode {
    /// Matched whatever its case.
    pub promotion_code: String,
}

/// At most one of a coupon id and a promotion code (422 naming `promotion_code` when both).
pub fn discount_request(
    coupon_id: Option<String>,
    promotion_code: Option<String>,
) -> Result<Option<DiscountRequest>, ApiError> {
    match (coupon_id, promotion_code) {
        (Some(_), Some(_)) => Err(domain::DomainError::validation(
            "promotion_code",
            "give coupon_id or promotion_code, not both",
        )
        .into()),
        (Some(c), None) => Ok(Some(DiscountRequest::Coupon(c))),
        (None, Some(p)) => Ok(Some(DiscountRequest::PromotionCode(p))),
        (None, None) => Ok(None),
    }
}

/// The account's retention offer on a subscription: `offer` is null when there is none to
/// make (no retention coupon set, already accepted once, the subscription is discounted by it
/// or it cannot apply to the plan).
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionOfferView {
    pub subscription_id: String,
    pub offer: Option<OfferedCoupon>,
}

/// The coupon a retention offer applies when accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferedCoupon {
    #[schema(example = "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub coupon_id: String,
    #[schema(example = "Stay with us: 50% off for 3 months")]
    pub name: String,
    #[schema(example = "50")]
    pub percent_off: Option<String>,
    pub amount_off: Option<String>,
    pub currency: Option<String>,
    #[schema(value_type = crate::schema::CouponDuration)]
    pub duration: &'static str,
    pub duration_in_periods: Option<u32>,
}

impl RetentionOfferView {
    pub fn of(subscription_id: String, offer: Option<domain::discount::Coupon>) -> Self {
        let offer = offer.map(|c| {
            let applied = domain::discount::AppliedDiscount::of(&c, None, c.created_at);
            OfferedCoupon {
                amount_off: applied.amount_off_text(),
                percent_off: applied.percent_off.as_ref().map(domain::money::canonical),
                currency: applied.currency,
                coupon_id: c.id.into(),
                name: c.name,
                duration: c.duration.as_str(),
                duration_in_periods: c.duration_in_periods,
            }
        });
        Self {
            subscription_id,
            offer,
        }
    }
}

impl From<NamedSubscription> for SubscriptionView {
    fn from(named: NamedSubscription) -> Self {
        let s = named.subscription;
        Self {
            next_billing_at: s.next_billing_at(),
            id: s.id.into(),
            customer_id: s.customer_id.into(),
            plan_id: s.plan_id.into(),
            plan_code: named.plan_code,
            currency: named.currency.code(),
            plan_name: named.plan_name,
            pending_plan_name: named.pending_plan_name,
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
            cancellation_reason: s.cancellation_reason.map(|r| r.as_str()),
            cancellation_comment: s.cancellation_comment,
            ended_at: s.ended_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            pending_plan_id: s.pending_plan_id.map(String::from),
            test_clock_id: s.test_clock_id.map(String::from),
            billing_error: s.billing_error,
            quantity: s.quantity,
            pending_quantity: s.pending_quantity,
            discount: s.discount.map(DiscountView::from),
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
    #[param(value_type = Option<crate::schema::SubscriptionStatus>)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The parsed choices of a create request: anchor and collection.
pub fn choices(b: &CreateSubscription) -> Result<(BillingAnchor, Collection), ApiError> {
    let mut f = Fields::default();
    let anchor = f.variant(
        "billing_anchor",
        b.billing_anchor.as_deref(),
        BillingAnchor::Anniversary,
    );
    let collection = f.variant(
        "collection",
        b.collection.as_deref(),
        Collection::SendInvoice,
    );
    f.done((anchor, collection))
}

impl CancelSubscription {
    pub fn choices(self) -> Result<Cancellation, ApiError> {
        let mut f = Fields::default();
        let at = f.variant("at", self.at.as_deref(), CancelAt::PeriodEnd);
        let unused = f.variant("unused", self.unused.as_deref(), UnusedFee::None);
        let reason = self
            .reason
            .as_deref()
            .map(|r| f.variant("reason", Some(r), CancellationReason::Other));
        f.done(Cancellation {
            at,
            unused,
            reason,
            comment: self.comment,
        })
    }
}

impl ChangePlan {
    pub fn change(&self) -> Result<PlanChange, ApiError> {
        let mut f = Fields::default();
        let at = self
            .at
            .as_deref()
            .map(|a| f.variant("at", Some(a), CancelAt::PeriodEnd));
        let proration = self
            .proration
            .as_deref()
            .map(|p| f.variant("proration", Some(p), Proration::InvoiceNow));
        f.done(PlanChange {
            plan: self.plan.clone(),
            quantity: self.quantity,
            at,
            proration,
        })
    }
}

impl ListSubscriptions {
    pub fn filter(&self) -> Result<SubscriptionFilter, ApiError> {
        let mut f = Fields::default();
        let status = self
            .status
            .as_deref()
            .map(|s| f.variant("status", Some(s), SubscriptionStatus::Active));
        f.done(SubscriptionFilter {
            customer_id: self.customer_id.clone(),
            status,
        })
    }
}
