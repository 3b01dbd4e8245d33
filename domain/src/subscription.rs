//! Subscriptions: a customer on a plan, period after period.
//!
//! Lifecycle: `trialing` (when the plan or the request gives trial days) → `active`; a
//! cancellation takes effect at the end of the current period (`cancel_at_period_end`, undone by
//! uncancel while the period runs) or at once (`canceled`). Periods are computed in the
//! customer's time zone from the anchor (`plan::boundary`): `anniversary` counts from the start
//! (or the trial's end), `calendar` from the start of the calendar unit (the 1st of the month,
//! January 1st, Monday, midnight). The billing cycle moves periods on, invoices them and ends
//! canceled subscriptions; this module only decides the states and the periods.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::id::{CustomerId, PlanId, SubscriptionId, TestClockId};
use crate::invoice::LineItem;
use crate::plan::{boundary, calendar_start, Interval, Plan};
use crate::{DomainError, DomainResult, ErrorCode};

crate::text_enum! {
    pub enum SubscriptionStatus {
        Trialing,
        Active,
        PastDue,
        Paused,
        Canceled,
        Ended,
    }
}

crate::text_enum! {
    /// What periods are counted from.
    pub enum BillingAnchor {
        Anniversary,
        Calendar,
    }
}

crate::text_enum! {
    /// How invoices are paid: from the customer's wallet credits, or sent to be paid.
    pub enum Collection {
        Wallet,
        SendInvoice,
    }
}

crate::text_enum! {
    pub enum CancelAt {
        PeriodEnd,
        Immediately,
    }
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub tenant_id: crate::id::TenantId,
    pub customer_id: CustomerId,
    pub plan_id: PlanId,
    pub status: SubscriptionStatus,
    pub billing_anchor: BillingAnchor,
    pub collection: Collection,
    /// The instant periods are counted from.
    pub anchor_at: DateTime<Utc>,
    pub interval: Interval,
    pub interval_count: u32,
    pub started_at: DateTime<Utc>,
    pub current_period_start: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    pub trial_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The customer's test clock: only advancing that clock bills this subscription.
    pub test_clock_id: Option<TestClockId>,
    /// The current paid period is the `period_index`th after the anchor (while trialing, the
    /// first paid period will be the 0th).
    pub period_index: u32,
    /// Past due: when collection is tried again (see `billing::DUNNING_DAYS`).
    pub collection_retry_at: Option<DateTime<Utc>>,
    /// Collection retries made since the subscription went past due.
    pub dunning_attempts: u32,
    /// Billing failed: not tried again before this time (never in a hot loop).
    pub billing_retry_at: Option<DateTime<Utc>>,
    pub billing_error: Option<String>,
    /// A plan change waiting for the period's end (a downgrade, by default).
    pub pending_plan_id: Option<PlanId>,
    /// Proration lines waiting for the next renewal invoice.
    pub pending_lines: Vec<LineItem>,
    /// Why it was canceled, and the canceller's words, as given with the cancellation (cleared
    /// when a cancellation at period end is taken back).
    pub cancellation_reason: Option<CancellationReason>,
    pub cancellation_comment: Option<String>,
    /// Seats: the plan's fixed fee is charged per unit (at least 1, within the plan's limits).
    pub quantity: u32,
    /// A seat change waiting for the period's end (a decrease, by default).
    pub pending_quantity: Option<u32>,
    /// The coupon applied to its invoices (see `crate::discount::AppliedDiscount`).
    pub discount: Option<crate::discount::AppliedDiscount>,
    /// When the customer accepted the account's retention offer (made once per subscription).
    pub retention_accepted_at: Option<DateTime<Utc>>,
}

crate::text_enum! {
    /// Why a subscription is canceled (Stripe's list).
    pub enum CancellationReason {
        TooExpensive,
        MissingFeatures,
        SwitchedService,
        Unused,
        CustomerService,
        TooComplex,
        LowQuality,
        Other,
    }
}

/// The longest cancellation comment kept.
pub const MAX_CANCELLATION_COMMENT: usize = 1000;

fn ended() -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::SubscriptionEnded,
        message: "the subscription has ended".into(),
    }
}

impl Subscription {
    /// A subscription to `plan` starting at `now`, its first period computed in `tz`.
    #[expect(
        clippy::too_many_arguments,
        reason = "what a subscription starts from: customer, plan, trial, anchor, collection, zone, time"
    )]
    pub fn start(
        tenant_id: &crate::id::TenantId,
        customer_id: CustomerId,
        plan: &Plan,
        trial_days: u32,
        billing_anchor: BillingAnchor,
        collection: Collection,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Self {
        let (interval, count) = (plan.interval, plan.interval_count);
        let trial_end = (trial_days > 0).then(|| boundary(now, Interval::Day, trial_days, 1, tz));
        let paid_from = trial_end.unwrap_or(now);
        let anchor_at = match billing_anchor {
            BillingAnchor::Anniversary => paid_from,
            BillingAnchor::Calendar => calendar_start(paid_from, interval, tz),
        };
        let (status, period_end) = match trial_end {
            Some(t) => (SubscriptionStatus::Trialing, t),
            None => (
                SubscriptionStatus::Active,
                boundary(anchor_at, interval, count, 1, tz),
            ),
        };
        Self {
            id: SubscriptionId::new(),
            tenant_id: tenant_id.clone(),
            customer_id,
            plan_id: plan.id.clone(),
            status,
            billing_anchor,
            collection,
            anchor_at,
            interval,
            interval_count: count,
            started_at: now,
            current_period_start: now,
            current_period_end: period_end,
            trial_end,
            cancel_at_period_end: false,
            canceled_at: None,
            ended_at: None,
            created_at: now,
            updated_at: now,
            test_clock_id: None,
            period_index: 0,
            collection_retry_at: None,
            dunning_attempts: 0,
            billing_retry_at: None,
            billing_error: None,
            pending_plan_id: None,
            pending_lines: Vec::new(),
            cancellation_reason: None,
            cancellation_comment: None,
            quantity: 1,
            pending_quantity: None,
            discount: None,
            retention_accepted_at: None,
        }
    }

    /// When billing next has something to do for this subscription: its period's end, a
    /// dunning retry, or the retry after a failure. `None` once it is over.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        if self.is_over() {
            return None;
        }
        if let Some(retry) = self.billing_retry_at {
            return Some(retry);
        }
        Some(match self.collection_retry_at {
            Some(r) if r < self.current_period_end => r,
            _ => self.current_period_end,
        })
    }

    /// Canceled or ended: nothing more happens to it.
    pub fn is_over(&self) -> bool {
        matches!(
            self.status,
            SubscriptionStatus::Canceled | SubscriptionStatus::Ended
        )
    }

    /// When the next invoice is due: the end of the current period, unless the subscription
    /// ends there or is paused.
    pub fn next_billing_at(&self) -> Option<DateTime<Utc>> {
        (!self.is_over() && !self.cancel_at_period_end && self.status != SubscriptionStatus::Paused)
            .then_some(self.current_period_end)
    }

    /// Stops billing until resumed. Pausing a paused subscription changes nothing.
    pub fn pause(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        if self.is_over() {
            return Err(ended());
        }
        if self.status != SubscriptionStatus::Paused {
            self.status = SubscriptionStatus::Paused;
            self.updated_at = now;
        }
        Ok(())
    }

    /// Back to trialing (while the trial runs) or active. Resuming a subscription that is not
    /// paused changes nothing.
    pub fn resume(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        if self.is_over() {
            return Err(ended());
        }
        if self.status == SubscriptionStatus::Paused {
            self.status = if self.trial_end.is_some_and(|t| t > now) {
                SubscriptionStatus::Trialing
            } else {
                SubscriptionStatus::Active
            };
            self.updated_at = now;
        }
        Ok(())
    }

    pub fn cancel(&mut self, at: CancelAt, now: DateTime<Utc>) -> DomainResult<()> {
        if self.is_over() {
            return Err(ended());
        }
        self.canceled_at = Some(now);
        match at {
            CancelAt::PeriodEnd => self.cancel_at_period_end = true,
            CancelAt::Immediately => self.end(now),
        }
        self.updated_at = now;
        Ok(())
    }

    /// Canceled as of `at`: nothing more is billed.
    pub fn end(&mut self, at: DateTime<Utc>) {
        self.status = SubscriptionStatus::Canceled;
        self.cancel_at_period_end = false;
        self.canceled_at.get_or_insert(at);
        self.ended_at = Some(at);
        self.collection_retry_at = None;
        self.pending_plan_id = None;
        self.updated_at = at;
    }

    /// The period after the current one: `(start, end, index)`. A trial is followed by the
    /// 0th paid period; `plan` is the plan in force from then on (a pending change applied):
    /// a different interval starts counting anew from the boundary.
    pub fn next_period(
        &self,
        plan: &Plan,
        tz: Tz,
    ) -> (DateTime<Utc>, DateTime<Utc>, u32, DateTime<Utc>) {
        let start = self.current_period_end;
        if plan.interval != self.interval || plan.interval_count != self.interval_count {
            let end = boundary(start, plan.interval, plan.interval_count, 1, tz);
            return (start, end, 0, start);
        }
        let index = if self.status == SubscriptionStatus::Trialing {
            0
        } else {
            self.period_index + 1
        };
        let end = boundary(
            self.anchor_at,
            self.interval,
            self.interval_count,
            index + 1,
            tz,
        );
        (start, end, index, self.anchor_at)
    }

    /// The billing period whose hours hold `hour` (a period `[s, e)` takes the hours from
    /// `hour_of(s)` up to `hour_of(e)`, as billing counts): the current one; the next one for an
    /// hour past the period's end that the billing cycle has not reached yet; an earlier one
    /// counted back from the anchor for a late event (the trial, and the time before an interval
    /// change, count as one period from the start). `None` before the subscription started.
    pub fn period_of_hour(
        &self,
        hour: DateTime<Utc>,
        tz: Tz,
    ) -> Option<crate::usage::CounterPeriod> {
        use crate::usage::{hour_of, CounterPeriod};
        let period = |start, end| Some(CounterPeriod { start, end });
        let (start, end) = (self.current_period_start, self.current_period_end);
        if hour >= hour_of(end) && !self.is_over() {
            let next = match self.status {
                SubscriptionStatus::Trialing => 1,
                _ => self.period_index + 2,
            };
            let after = boundary(self.anchor_at, self.interval, self.interval_count, next, tz);
            return period(end, after.max(end));
        }
        if hour >= hour_of(start) {
            return period(start, end);
        }
        if hour < hour_of(self.started_at) {
            return None;
        }
        let mut upper = start;
        let mut i = match self.status {
            SubscriptionStatus::Trialing => 0,
            _ => self.period_index,
        };
        while i > 0 {
            i -= 1;
            let from = boundary(self.anchor_at, self.interval, self.interval_count, i, tz)
                .max(self.started_at);
            if hour >= hour_of(from) {
                return period(from, upper);
            }
            upper = from;
        }
        period(self.started_at, upper)
    }

    /// Where the current period would start if it were whole: the boundary it counts from
    /// (earlier than `current_period_start` for a partial first calendar period).
    pub fn whole_period_start(&self, tz: Tz) -> DateTime<Utc> {
        boundary(
            self.anchor_at,
            self.interval,
            self.interval_count,
            self.period_index,
            tz,
        )
    }

    /// Moves on to the next period (see [`Self::next_period`]) on `plan`.
    pub fn roll(&mut self, plan: &Plan, tz: Tz) {
        let (start, end, index, anchor) = self.next_period(plan, tz);
        if self.status == SubscriptionStatus::Trialing {
            self.status = SubscriptionStatus::Active;
        }
        self.plan_id = plan.id.clone();
        self.interval = plan.interval;
        self.interval_count = plan.interval_count;
        self.anchor_at = anchor;
        self.current_period_start = start;
        self.current_period_end = end;
        self.period_index = index;
        self.pending_plan_id = None;
        if let Some(q) = self.pending_quantity.take() {
            self.quantity = q;
        }
        self.updated_at = start;
    }

    /// Takes back a cancellation at period end while the period runs. Uncanceling a
    /// subscription that is not canceling changes nothing.
    pub fn uncancel(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        if self.is_over() || (self.cancel_at_period_end && now >= self.current_period_end) {
            return Err(ended());
        }
        if self.cancel_at_period_end {
            self.cancel_at_period_end = false;
            self.canceled_at = None;
            self.cancellation_reason = None;
            self.cancellation_comment = None;
            self.updated_at = now;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    pub customer_id: Option<String>,
    pub status: Option<crate::subscription::SubscriptionStatus>,
}

pub type SubscriptionChange<'a> =
    &'a mut dyn FnMut(&mut crate::subscription::Subscription) -> crate::DomainResult<()>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::plan::{PlanStatus, Visibility};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn plan(interval: Interval, count: u32) -> Plan {
        Plan {
            id: PlanId::new(),
            tenant_id: "t".into(),
            code: "p".into(),
            name: "P".into(),
            description: None,
            currency: Currency::parse("USD").unwrap(),
            interval,
            interval_count: count,
            amount: 10.into(),
            trial_days: 0,
            charges: vec![],
            entitlements: vec![],
            visibility: Visibility::Public,
            status: PlanStatus::Active,
            past_due_action: crate::plan::PastDueAction::Cancel,
            tax_rate_ids: Vec::new(),
            quantity: Default::default(),
            created_at: utc("2027-01-01T00:00:00Z"),
            updated_at: utc("2027-01-01T00:00:00Z"),
            purchase: crate::plan::Purchase::SelfServe,
            contact_url: None,
            license_keys: None,
        }
    }

    fn start(p: &Plan, trial: u32, anchor: BillingAnchor, tz: &str, now: &str) -> Subscription {
        Subscription::start(
            &"t".into(),
            CustomerId::new(),
            p,
            trial,
            anchor,
            Collection::SendInvoice,
            tz.parse().unwrap(),
            utc(now),
        )
    }

    #[test]
    fn first_periods() {
        let monthly = plan(Interval::Month, 1);
        let s = start(
            &monthly,
            0,
            BillingAnchor::Anniversary,
            "UTC",
            "2027-01-31T09:00:00Z",
        );
        assert_eq!(s.status, SubscriptionStatus::Active);
        assert_eq!(s.current_period_end, utc("2027-02-28T09:00:00Z"));
        assert_eq!(s.next_billing_at(), Some(utc("2027-02-28T09:00:00Z")));
        // Calendar billing in Berlin: the first period runs to local midnight on the 1st.
        let c = start(
            &monthly,
            0,
            BillingAnchor::Calendar,
            "Europe/Berlin",
            "2027-01-15T12:00:00Z",
        );
        assert_eq!(c.anchor_at, utc("2026-12-31T23:00:00Z"));
        assert_eq!(c.current_period_end, utc("2027-01-31T23:00:00Z"));
        // A 14-day trial is the first period; paid periods count from its end.
        let t = start(
            &monthly,
            14,
            BillingAnchor::Anniversary,
            "UTC",
            "2027-01-01T00:00:00Z",
        );
        assert_eq!(t.status, SubscriptionStatus::Trialing);
        assert_eq!(t.trial_end, Some(utc("2027-01-15T00:00:00Z")));
        assert_eq!(t.current_period_end, utc("2027-01-15T00:00:00Z"));
        assert_eq!(t.anchor_at, utc("2027-01-15T00:00:00Z"));
    }

    #[test]
    fn cancel_and_uncancel() {
        let p = plan(Interval::Month, 1);
        let now = utc("2027-03-10T00:00:00Z");
        let mut s = start(
            &p,
            0,
            BillingAnchor::Anniversary,
            "UTC",
            "2027-03-01T00:00:00Z",
        );
        s.cancel(CancelAt::PeriodEnd, now).unwrap();
        assert!(s.cancel_at_period_end && s.status == SubscriptionStatus::Active);
        assert_eq!(s.next_billing_at(), None);
        s.uncancel(now).unwrap();
        assert!(!s.cancel_at_period_end && s.canceled_at.is_none());
        s.uncancel(now).unwrap();
        // Too late: the period it was to end with is over.
        s.cancel(CancelAt::PeriodEnd, now).unwrap();
        assert!(s.uncancel(utc("2027-04-01T00:00:00Z")).is_err());
        s.cancel(CancelAt::Immediately, now).unwrap();
        assert_eq!(s.status, SubscriptionStatus::Canceled);
        assert_eq!(s.ended_at, Some(now));
        assert!(s.cancel(CancelAt::PeriodEnd, now).is_err());
        assert!(s.uncancel(now).is_err());
    }
}
