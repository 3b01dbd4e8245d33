//! Test clocks: a frozen time for the customers attached to one, moved forward only by
//! `advance`, which runs every renewal, trial end and dunning step due up to the new time for
//! those customers' subscriptions. Merchants rehearse months of billing in seconds; nothing
//! else is touched (the billing worker skips clock-bound subscriptions).
//!
//! Advancing is asynchronous, as Stripe's is: the request only sets the target
//! (`status: advancing`, `advancing_to`) and answers at once; the billing workers (the node
//! that took the request starts at once, every node's worker and housekeeping pick up any
//! clock left behind) run the boundaries in time order in bounded batches, moving
//! `frozen_time` forward as they go, and set `status: ready` at the target. One advance goes at
//! most two intervals of the shortest running subscription on the clock past `frozen_time`
//! (two years with none), so the work one request starts is bounded too.

use chrono::{DateTime, Utc};

use crate::id::{SubscriptionId, TestClockId};

#[derive(Debug, Clone)]
pub struct TestClock {
    pub id: TestClockId,
    pub tenant_id: crate::id::TenantId,
    pub name: Option<String>,
    pub frozen_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: ClockStatus,
    /// While advancing: the time the clock is moving to.
    pub advancing_to: Option<DateTime<Utc>>,
    /// While a worker advances the clock: until when it holds it.
    pub lease_until: Option<DateTime<Utc>>,
}

crate::text_enum! {
    pub enum ClockStatus {
        /// Everything due up to `frozen_time` has run.
        Ready,
        /// Moving to `advancing_to`; the billing workers are running what is due.
        Advancing,
    }
}

/// How far one advance may go with no running subscription on the clock.
pub const MAX_ADVANCE_YEARS: u32 = 2;
/// How many intervals of the shortest running subscription one advance may cover.
pub const MAX_ADVANCE_INTERVALS: u32 = 2;

crate::text_enum! {
    /// What a billing run handled.
    pub enum RunKind {
        /// A period boundary: the renewal invoice, a trial's end, a cancellation taking effect.
        Renewal,
        /// A dunning retry of a past-due subscription's open invoices.
        Collection,
        /// Billing this subscription failed; it is tried again later.
        Failure,
    }
}

crate::text_enum! {
    pub enum RunSource {
        /// The in-process billing worker.
        Worker,
        /// A test clock's advance.
        TestClock,
    }
}

/// One record of what billing did for one subscription.
#[derive(Debug, Clone)]
pub struct BillingRun {
    pub id: String,
    pub tenant_id: crate::id::TenantId,
    pub subscription_id: SubscriptionId,
    pub customer_id: String,
    pub kind: RunKind,
    pub period_start: Option<DateTime<Utc>>,
    pub invoice_id: Option<String>,
    /// e.g. `invoiced`, `paid`, `past_due`, `canceled`, `nothing_to_bill`, `failed`.
    pub outcome: String,
    pub error: Option<String>,
    pub source: RunSource,
    pub created_at: DateTime<Utc>,
}
