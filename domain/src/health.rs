//! What a node tells its operators about the work waiting for its workers (`/metrics`).

use chrono::{DateTime, Utc};

/// The queues the workers drain.
pub const BILLING: &str = "billing";
pub const WEBHOOK_EVENTS: &str = "webhook_events";
pub const WEBHOOK_DELIVERIES: &str = "webhook_deliveries";
pub const EMAILS: &str = "emails";

/// Work waiting in one queue, across every account.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub queue: &'static str,
    pub pending: i64,
    /// Since when the oldest item has waited: a due subscription's due time (test clocks
    /// aside), an event's or a message's creation. None when the queue is empty.
    pub oldest: Option<DateTime<Utc>>,
}
