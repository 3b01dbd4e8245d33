//! The billing engine: renewals, collection from wallets, dunning and test clocks.
//!
//! Exactly once: a unit of work claims a batch of due subscription rows (`claim_due`: locked,
//! rows other workers hold skipped) and takes each one step (one period boundary, or one
//! dunning retry) in a savepoint of its own: the invoice, its payment, the moved-on
//! subscription and the billing run. A step that fails is undone alone and recorded as a
//! failure; the others go on. The batch's invoices are numbered last and the unit commits.
//! A crash before the commit leaves nothing; after it, those subscriptions are no longer due.
//! The invoice's unique key (subscription, period start) backs this up in the database. A
//! server that was down catches up: a subscription three periods behind is due three times in
//! a row, and each boundary is billed once, in order.
//!
//! Within a batch, subscriptions are taken in customer order: the only rows a step locks besides
//! its own (claimed) subscription are its customer's wallet and its new invoice, so two workers
//! whose batches share a customer wait for each other but cannot deadlock.
//!
//! Collection (`collection = wallet`): the invoice is paid from the customer's open wallet in its
//! currency as far as the credits cover it, to the minor unit (a partial payment when they
//! cover part). Anything left makes the subscription `past_due`; collection is retried
//! [`DUNNING_DAYS`] after the invoice's issue, and after the last failed retry the subscription
//! is canceled (its invoices stay open). Paying the open invoices another way (admin payment,
//! a top-up then the next retry) brings it back to `active`.

mod charges;
mod clocks;
mod collection;
mod issue;
mod runs;

use crate::services::recovery::open_invoices;
pub use charges::Upcoming;
use runs::run;

use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::billing::{
    self, fee_line, usage_hours, usage_lines, usage_totals, Renewal, DUNNING_DAYS,
    PAYMENT_TERMS_DAYS,
};
use crate::customer::Customer;
use crate::id::{CustomerId, PlanId, SubscriptionId, TaxRateId, TenantId, TestClockId};
use crate::invoice::{format_number, number_period, Invoice, LineItem};
use crate::page::{Page, PageRequest};
use crate::plan::{PastDueAction, Plan};
use crate::ports::{
    BillingRunRepo, CustomerRepo, InvoiceRepo, PlanRepo, SubscriptionRepo, TestClockRepo,
    UnitOfWork, UsageRepo, WalletRepo,
};
use crate::scope::{CustomerScope, Scope};
use crate::services::payments::PaymentService;
use crate::services::wallets::active_wallet;
use crate::services::webhooks::Events;
use crate::subscription::{Collection, Subscription, SubscriptionStatus};
use crate::test_clock::{
    BillingRun, ClockStatus, RunKind, RunSource, TestClock, MAX_ADVANCE_INTERVALS,
    MAX_ADVANCE_YEARS,
};
use crate::wallet::Wallet;
use crate::webhook::EventType;
use crate::{clock, DomainError, DomainResult, ErrorCode};

/// How long billing waits before trying a failed subscription again.
const RETRY_AFTER_FAILURE: Duration = Duration::hours(1);

/// How many due subscriptions the worker claims and bills in one unit of work. One commit, one
/// claim query and one take of invoice numbers per batch instead of per renewal; small enough
/// that a batch holds its rows for a fraction of a second.
const BATCH: usize = 64;

#[derive(Clone)]
pub struct BillingService {
    subscriptions: Arc<dyn SubscriptionRepo>,
    plans: Arc<dyn PlanRepo>,
    customers: Arc<dyn CustomerRepo>,
    usage: Arc<dyn UsageRepo>,
    invoices: Arc<dyn InvoiceRepo>,
    wallets: Arc<dyn WalletRepo>,
    clocks: Arc<dyn TestClockRepo>,
    runs: Arc<dyn BillingRunRepo>,
    units: Arc<dyn UnitOfWork>,
    payments: PaymentService,
    events: Events,
    taxes: crate::services::taxes::TaxService,
}

/// Plans and features read during one drain: what they charge never changes, so a drain
/// reads each once.
#[derive(Default)]
struct Catalog {
    plans: std::collections::HashMap<PlanId, Plan>,
    features: std::collections::HashMap<crate::id::TenantId, Vec<crate::usage::Feature>>,
}

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    pub steps: usize,
    pub failures: usize,
    /// The drain stopped at its step budget with more still due.
    pub more: bool,
    /// The latest time a step billed at (a clock's boundaries run in time order).
    pub reached: Option<DateTime<Utc>>,
}

/// Repositories the engine needs.
pub struct BillingPorts {
    pub subscriptions: Arc<dyn SubscriptionRepo>,
    pub plans: Arc<dyn PlanRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub usage: Arc<dyn UsageRepo>,
    pub invoices: Arc<dyn InvoiceRepo>,
    pub wallets: Arc<dyn WalletRepo>,
    pub clocks: Arc<dyn TestClockRepo>,
    pub runs: Arc<dyn BillingRunRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub events: Events,
}

impl BillingService {
    pub fn new(
        ports: BillingPorts,
        payments: PaymentService,
        taxes: crate::services::taxes::TaxService,
    ) -> Self {
        Self {
            subscriptions: ports.subscriptions,
            plans: ports.plans,
            customers: ports.customers,
            usage: ports.usage,
            invoices: ports.invoices,
            wallets: ports.wallets,
            clocks: ports.clocks,
            runs: ports.runs,
            units: ports.units,
            payments,
            events: ports.events,
            taxes,
        }
    }

    /// Now for a customer: their test clock's frozen time, or the real time.
    pub fn now_for(
        &self,
        tenant_id: &crate::id::TenantId,
        clock: Option<&TestClockId>,
    ) -> DomainResult<DateTime<Utc>> {
        match clock {
            None => Ok(clock::now()),
            Some(id) => Ok(self
                .clocks
                .get(tenant_id, id)?
                .ok_or_else(TestClockId::not_found)?
                .frozen_time),
        }
    }

    /// Bills everything due at `now` for subscriptions on no test clock (the worker's pass).
    pub fn run_due(&self, now: DateTime<Utc>) -> DomainResult<Drained> {
        // Per account, so that each claim's locks stay on one shard (see `services::claims`).
        let mut done = Drained::default();
        let accounts = self
            .subscriptions
            .accounts_due(now, crate::services::claims::ACCOUNTS_PER_PASS)?;
        for tenant in &accounts {
            let d = self.drain(tenant, None, now, RunSource::Worker, None)?;
            done.steps += d.steps;
            done.failures += d.failures;
            done.reached = done.reached.max(d.reached);
        }
        Ok(done)
    }

    /// Steps until nothing is due at `until`, a batch of claimed subscriptions per unit of
    /// work. A test clock takes one subscription at a time, so its boundaries are billed in
    /// time order across its customers.
    /// `budget`: stop after about this many steps (a batch is finished), reporting `more`.
    fn drain(
        &self,
        tenant: &TenantId,
        clock: Option<&TestClockId>,
        until: DateTime<Utc>,
        source: RunSource,
        budget: Option<usize>,
    ) -> DomainResult<Drained> {
        let limit = if clock.is_some() { 1 } else { BATCH };
        let mut done = Drained::default();
        let mut catalog = Catalog::default();
        // Where the previous claim ended, in (due time, id) order: each claim starts after it.
        let mut cursor: Option<(DateTime<Utc>, SubscriptionId)> = None;
        loop {
            let mut batch = Drained::default();
            let mut last: Option<(DateTime<Utc>, SubscriptionId)> = None;
            self.units.atomically(&mut || {
                batch = Drained::default();
                let after = cursor.as_ref().map(|(t, id)| (*t, id));
                let mut claimed = self
                    .subscriptions
                    .claim_due(tenant, clock, until, after, limit)?;
                last = claimed
                    .last()
                    .and_then(|s| s.due_at().map(|t| (t, s.id.clone())));
                claimed.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
                let mut issued = Vec::new();
                for sub in claimed {
                    // A clock bills each boundary at its own time; the worker at the real time.
                    let at = match clock {
                        Some(_) => sub.due_at().unwrap_or(until).min(until),
                        None => until,
                    };
                    let mut invoice = None;
                    let stepped = self.units.attempt(&mut || {
                        invoice = self.step(sub.clone(), at, source, &mut catalog)?;
                        Ok(())
                    });
                    match stepped {
                        Ok(()) => {
                            batch.steps += 1;
                            batch.reached = batch.reached.max(Some(at));
                            issued.extend(invoice.take());
                        }
                        Err(e) => {
                            batch.failures += 1;
                            // On a clock, a failed subscription waits for the next advance; the
                            // worker tries it again in an hour. Either way the others go on.
                            let retry = match clock {
                                Some(_) => until + Duration::seconds(1),
                                None => at + RETRY_AFTER_FAILURE,
                            };
                            self.record_failure(&sub, at, retry, &e, source)?;
                        }
                    }
                }
                self.number(&mut issued)
            })?;
            done.steps += batch.steps;
            done.failures += batch.failures;
            done.reached = done.reached.max(batch.reached);
            if last.is_some() && budget.is_some_and(|b| done.steps + done.failures >= b) {
                done.more = true;
                return Ok(done);
            }
            match last {
                Some(l) => cursor = Some(l),
                // The end of the order: once more from the start (rows another worker held, or
                // that came due meanwhile), then done.
                None if cursor.is_some() => cursor = None,
                None => return Ok(done),
            }
        }
    }

    fn record_failure(
        &self,
        sub: &Subscription,
        at: DateTime<Utc>,
        retry: DateTime<Utc>,
        error: &DomainError,
        source: RunSource,
    ) -> DomainResult<()> {
        let message = error.to_string();
        self.units.attempt(&mut || {
            self.subscriptions
                .change(&Scope::account(&sub.tenant_id), &sub.id, &mut |s| {
                    s.billing_retry_at = Some(retry);
                    s.billing_error = Some(message.clone());
                    Ok(())
                })?;
            self.runs.record(&run(
                sub,
                RunKind::Failure,
                Some(sub.current_period_end),
                None,
                "failed",
                Some(message.clone()),
                source,
                at,
            ))
        })
    }

    /// One step for a claimed subscription at `at`: its period boundary, or a dunning retry.
    /// Returns the invoice it issued, still to be numbered.
    fn step(
        &self,
        mut sub: Subscription,
        at: DateTime<Utc>,
        source: RunSource,
        catalog: &mut Catalog,
    ) -> DomainResult<Option<Invoice>> {
        sub.billing_retry_at = None;
        sub.billing_error = None;
        let customer = self.customer(&sub.tenant_id, &sub.customer_id)?;
        if customer.status == crate::customer::CustomerStatus::Archived {
            // Archiving refuses a customer with running subscriptions; one archived before
            // that rule (or by hand in the database) is never billed again: its subscription
            // ends at its next due step, with no invoice and no debit.
            return self.end_for_archived(sub, at, source);
        }
        let tz = timezone(&customer);
        if at >= sub.current_period_end {
            self.renew(sub, tz, customer.auto_pay, at, source, catalog)
        } else if sub.collection_retry_at.is_some_and(|r| r <= at) {
            self.retry_collection(sub, at, source, catalog)?;
            Ok(None)
        } else {
            // Due only for a retry after a failure that has nothing else due: write it back.
            self.subscriptions.update(&sub)?;
            Ok(None)
        }
    }

    fn end_for_archived(
        &self,
        mut sub: Subscription,
        at: DateTime<Utc>,
        source: RunSource,
    ) -> DomainResult<Option<Invoice>> {
        let ended_at = at.min(sub.current_period_end);
        sub.end(ended_at);
        self.subscriptions.update(&sub)?;
        self.events
            .subscription(EventType::SubscriptionCanceled, &sub)?;
        self.runs.record(&run(
            &sub,
            RunKind::Renewal,
            None,
            None,
            "canceled_customer_archived",
            None,
            source,
            at,
        ))?;
        Ok(None)
    }

    fn customer(&self, tenant_id: &crate::id::TenantId, id: &CustomerId) -> DomainResult<Customer> {
        self.customers
            .get(tenant_id, id)?
            .ok_or_else(CustomerId::not_found)
    }

    /// A plan, read once per drain (what a plan charges never changes).
    fn plan(
        &self,
        catalog: &mut Catalog,
        tenant_id: &crate::id::TenantId,
        id: &PlanId,
    ) -> DomainResult<Plan> {
        if let Some(p) = catalog.plans.get(id) {
            return Ok(p.clone());
        }
        let p = self
            .plans
            .get(tenant_id, id)?
            .ok_or_else(PlanId::not_found)?;
        catalog.plans.insert(id.clone(), p.clone());
        Ok(p)
    }

    /// What the subscription's current period's end will bill, with usage up to `until`.
    fn renewal_of(
        &self,
        sub: &Subscription,
        tz: Tz,
        catalog: &mut Catalog,
    ) -> DomainResult<(Renewal, Plan)> {
        let ended_plan = self.plan(catalog, &sub.tenant_id, &sub.plan_id)?;
        let next_plan = match &sub.pending_plan_id {
            Some(p) => self.plan(catalog, &sub.tenant_id, p)?,
            None => ended_plan.clone(),
        };
        let usage = self.period_usage(sub, &ended_plan, catalog)?;
        let r = billing::renewal(sub, &ended_plan, &next_plan, &usage, tz);
        Ok((r, next_plan))
    }

    fn period_usage(
        &self,
        sub: &Subscription,
        plan: &Plan,
        catalog: &mut Catalog,
    ) -> DomainResult<std::collections::HashMap<String, BigDecimal>> {
        if plan.charges.is_empty() {
            return Ok(Default::default());
        }
        let (from, to) = usage_hours(sub.current_period_start, sub.current_period_end);
        let rollups = self
            .usage
            .rollups(&sub.tenant_id, &sub.customer_id, from, to)?;
        if !catalog.features.contains_key(&sub.tenant_id) {
            let all = self.usage.features(&sub.tenant_id)?;
            catalog.features.insert(sub.tenant_id.clone(), all);
        }
        Ok(usage_totals(&rollups, &catalog.features[&sub.tenant_id]))
    }

    fn renew(
        &self,
        sub: Subscription,
        tz: Tz,
        auto_pay: bool,
        at: DateTime<Utc>,
        source: RunSource,
        catalog: &mut Catalog,
    ) -> DomainResult<Option<Invoice>> {
        let (r, next_plan) = self.renewal_of(&sub, tz, catalog)?;
        let mut after = r.after;
        after.updated_at = at;
        let mut outcome = if after.is_over() {
            "canceled"
        } else {
            "renewed"
        };
        let mut invoice = None;
        if !r.lines.is_empty() {
            let issued = self.issue(&sub, &next_plan, r.lines, Some(r.period_start), at)?;
            // The period it discounted is counted on the subscription as it goes on.
            self.count_discount_period(&mut after)?;
            let (settled, collected) = self.settle_new(&mut after, &issued, auto_pay, at)?;
            outcome = settled.unwrap_or(outcome);
            invoice = Some(collected);
        }
        self.subscriptions.update(&after)?;
        let reported = if after.is_over() {
            EventType::SubscriptionCanceled
        } else {
            EventType::SubscriptionRenewed
        };
        self.events.subscription(reported, &after)?;
        if after.status == SubscriptionStatus::PastDue && sub.status != SubscriptionStatus::PastDue
        {
            self.events
                .subscription(EventType::SubscriptionPastDue, &after)?;
        }
        self.runs.record(&run(
            &sub,
            RunKind::Renewal,
            Some(r.period_start),
            invoice.as_ref().map(|i| i.id.to_string()),
            outcome,
            None,
            source,
            at,
        ))?;
        Ok(invoice)
    }
}

/// The customer's time zone (UTC when it no longer parses).
pub fn timezone(customer: &Customer) -> Tz {
    customer.timezone.parse().unwrap_or(chrono_tz::UTC)
}
