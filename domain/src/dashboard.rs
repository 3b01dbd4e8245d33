//! The customer dashboard's read model: what the overview is computed from, read together so
//! that the dashboard costs two database statements whatever it shows (see
//! [`crate::ports::DashboardRepo`]). Rows as stored; the overview applies the rules
//! ([`crate::services::overview`]).

use chrono::{DateTime, Utc};

use crate::invoice::OpenAmount;
use crate::plan::Plan;
use crate::subscription::Subscription;
use crate::usage::{Counter, Feature, Rollup};
use crate::wallet::Wallet;

#[derive(Debug, Clone)]
pub struct DashboardReads {
    /// The customer's time zone (IANA name), in which usage days begin.
    pub timezone: String,
    /// The account's features.
    pub features: Vec<Feature>,
    /// The customer's hourly usage in the chart's window, oldest first (empty without a chart).
    pub rollups: Vec<Rollup>,
    /// Every wallet of the customer, newest first, with its next credit expiry as stored.
    pub wallets: Vec<(Wallet, Option<DateTime<Utc>>)>,
    /// The running subscriptions (trialing, active, past due, paused), newest first.
    pub running: Vec<Subscription>,
    /// The plans of the running subscriptions, and the plans they change to.
    pub plans: Vec<Plan>,
    /// The usage counters of the running subscriptions' current periods.
    pub counters: Vec<Counter>,
    /// The finalized invoices still unpaid or partly paid (empty without a chart).
    pub open_invoices: Vec<OpenAmount>,
}
