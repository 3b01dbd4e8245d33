//! Test clocks: a frozen time for the customers attached to one, moved forward only by
//! `advance`, which runs every renewal, trial end and dunning step due up to the new time for
//! those customers' subscriptions. Merchants rehearse months of billing in seconds; nothing
//! else is touched (the billing worker skips clock-bound subscriptions).

use chrono::{DateTime, Utc};

use crate::id::{SubscriptionId, TestClockId};

#[derive(Debug, Clone)]
pub struct TestClock {
    pub id: TestClockId,
    pub tenant_id: String,
    pub name: Option<String>,
    pub frozen_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A clock moves at most this far in one `advance` (the work is done in the request).
pub const MAX_ADVANCE_DAYS: i64 = 3 * 366;

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
    pub tenant_id: String,
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
