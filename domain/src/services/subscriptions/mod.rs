//! Subscribing customers to plans, and cancelling: by the merchant, or by the customer from the
//! portal when the session allows it (audited in the same transaction).

mod named;
use named::gone;
pub use named::{named_by, named_with};
mod discount;
mod plan_change;

pub use discount::DiscountRequest;
pub use plan_change::{ChangePreview, PlanChange, Proration};

use std::sync::Arc;

use crate::actor::Permission;
use crate::audit::actions;
use crate::billing::proration_lines;
use crate::customer::CustomerStatus;
use crate::id::{PlanId, SubscriptionId};
use crate::invoice::LineItem;
use crate::page::{Page, PageRequest};
use crate::plan::{Interval, Plan, PlanStatus, Visibility, MAX_TRIAL_DAYS};
use crate::portal_session::CustomerRef;
use crate::ports::{
    AccountRepo, AuditRepo, CustomerRepo, DiscountRepo, InvoiceRepo, PlanRepo, SubscriptionRepo,
    UnitOfWork, UsageRepo, WalletRepo,
};
use crate::scope::Scope;
use crate::services::billing::{timezone, BillingService};
use crate::services::customers::active_customer;
use crate::services::wallets::customer_wallets;
use crate::services::webhooks::Events;
use crate::subscription::SubscriptionFilter;
use crate::subscription::{BillingAnchor, CancelAt, Collection, Subscription, SubscriptionStatus};
use crate::wallet::WalletStatus;
use crate::webhook::EventType;
use crate::{DomainError, DomainResult, ErrorCode};
use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub customer: CustomerRef,
    /// The plan's id or code.
    pub plan: String,
    /// Default: the plan's trial days.
    pub trial_days: Option<u32>,
    pub billing_anchor: BillingAnchor,
    pub collection: Collection,
    /// Seats (default 1), within the plan's limits.
    pub quantity: Option<u32>,
    /// A coupon or a promotion code applied from the first invoice on.
    pub discount: Option<DiscountRequest>,
}

#[derive(Clone)]
pub struct SubscriptionService {
    subscriptions: Arc<dyn SubscriptionRepo>,
    plans: Arc<dyn PlanRepo>,
    customers: Arc<dyn CustomerRepo>,
    wallets: Arc<dyn WalletRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
    discounts: Arc<dyn DiscountRepo>,
    invoices: Arc<dyn InvoiceRepo>,
    accounts: Arc<dyn AccountRepo>,
    usage: Arc<dyn UsageRepo>,
    billing: BillingService,
    events: Events,
    licenses: crate::services::licenses::LicenseService,
}

/// What subscriptions need.
pub struct SubscriptionPorts {
    pub subscriptions: Arc<dyn SubscriptionRepo>,
    pub plans: Arc<dyn PlanRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub wallets: Arc<dyn WalletRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub discounts: Arc<dyn DiscountRepo>,
    pub invoices: Arc<dyn InvoiceRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub usage: Arc<dyn UsageRepo>,
    pub billing: BillingService,
    pub events: Events,
    /// Issues the license key of a subscription to a plan that issues them.
    pub licenses: crate::services::licenses::LicenseService,
}

/// A subscription with the names of its plans, as customers and merchants read it: the plan
/// it is on is named whatever its visibility or status (a grandfathered customer on an
/// archived or private plan still sees its name), and nothing else of the catalogue is shown.
#[derive(Debug, Clone)]
pub struct NamedSubscription {
    pub subscription: Subscription,
    pub plan_code: String,
    pub plan_name: String,
    /// The plan's currency: what the subscription is billed in (a plan change stays in it).
    pub currency: crate::money::Currency,
    /// The name of the plan a pending change moves to.
    pub pending_plan_name: Option<String>,
}

/// Who asks for a change (see [`crate::actor`]).
pub use crate::actor::Actor;

impl SubscriptionService {
    pub fn new(ports: SubscriptionPorts) -> Self {
        Self {
            subscriptions: ports.subscriptions,
            plans: ports.plans,
            customers: ports.customers,
            wallets: ports.wallets,
            audit: ports.audit,
            units: ports.units,
            discounts: ports.discounts,
            invoices: ports.invoices,
            accounts: ports.accounts,
            usage: ports.usage,
            billing: ports.billing,
            events: ports.events,
            licenses: ports.licenses,
        }
    }

    /// The plan named by id or by code.
    fn plan(&self, tenant_id: &crate::id::TenantId, plan: &str) -> DomainResult<Plan> {
        let found = match PlanId::parse(plan) {
            Some(id) => self.plans.get(tenant_id, &id)?,
            None => self.plans.get_by_code(tenant_id, plan)?,
        };
        found.ok_or_else(PlanId::not_found)
    }

    pub fn create(
        &self,
        tenant_id: &crate::id::TenantId,
        input: NewSubscription,
    ) -> DomainResult<Subscription> {
        if input.trial_days.is_some_and(|d| d > MAX_TRIAL_DAYS) {
            return Err(DomainError::validation(
                "trial_days",
                format!("must be at most {MAX_TRIAL_DAYS}"),
            ));
        }
        let customer = active_customer(
            self.customers.as_ref(),
            tenant_id,
            input.customer,
            "start subscriptions",
        )?;
        let plan = self.plan(tenant_id, &input.plan)?;
        if plan.status == PlanStatus::Archived {
            return Err(DomainError::Conflict {
                code: ErrorCode::PlanArchived,
                message: "the plan is archived and takes no new subscriptions".into(),
            });
        }
        if input.collection == Collection::Wallet {
            let theirs = crate::scope::CustomerScope::new(tenant_id, &customer.id);
            let has_wallet = customer_wallets(self.wallets.as_ref(), &theirs)?
                .iter()
                .any(|w| w.currency == plan.currency && w.status != WalletStatus::Closed);
            if !has_wallet {
                return Err(DomainError::Unprocessable {
                    code: ErrorCode::CurrencyMismatch,
                    message: format!(
                        "collection `wallet` needs an open {} wallet of the customer (the plan's currency)",
                        plan.currency
                    ),
                });
            }
        }
        let tz = timezone(&customer);
        let now = self
            .billing
            .now_for(tenant_id, customer.test_clock_id.as_ref())?;
        let mut subscription = Subscription::start(
            tenant_id,
            customer.id.clone(),
            &plan,
            input.trial_days.unwrap_or(plan.trial_days),
            input.billing_anchor,
            input.collection,
            tz,
            now,
        );
        subscription.test_clock_id = customer.test_clock_id.clone();
        let quantity = input.quantity.unwrap_or(plan.quantity.min.max(1));
        plan.quantity.admit("quantity", quantity)?;
        subscription.quantity = quantity;
        // The subscription and its first invoice (the first period's fee, in advance) together.
        self.units.atomically(&mut || {
            // Held until the commit: archiving waits for this subscription, then refuses.
            let locked = self
                .customers
                .lock(tenant_id, &customer.id)?
                .ok_or_else(crate::services::customers::not_found)?;
            if locked.status == CustomerStatus::Archived {
                return Err(crate::services::customers::archived_refusal(
                    "start subscriptions",
                ));
            }
            if let Some(wanted) = &input.discount {
                let d = self.redeem(&subscription, &plan, wanted, now)?;
                subscription.discount = Some(d);
            }
            self.subscriptions.insert(&subscription)?;
            self.licenses.issue_for(&subscription, &plan)?;
            let first = crate::usage::CounterPeriod {
                start: subscription.current_period_start,
                end: subscription.current_period_end,
            };
            if let Some(d) = &subscription.discount {
                self.events
                    .discount(EventType::DiscountApplied, &subscription, d)?;
            }
            self.billing.open(&mut subscription, &plan, &customer)?;
            // Its first period's counters start from what the customer already used in it
            // (the hour it starts in counts whole, as billing counts). After the first invoice,
            // which may lock the customer's wallet: wallets are locked before counters
            // everywhere (see `services::accrual`), so this never waits on ingestion in reverse.
            self.usage.recount(tenant_id, &customer.id, &[first])?;
            self.events
                .subscription(EventType::SubscriptionCreated, &subscription)?;
            if subscription.status == SubscriptionStatus::PastDue {
                self.events
                    .subscription(EventType::SubscriptionPastDue, &subscription)?;
            }
            Ok(())
        })?;
        Ok(subscription)
    }

    /// Names the subscriptions' plans (the plans of one account read at once).
    pub fn named(&self, subs: Vec<Subscription>) -> DomainResult<Vec<NamedSubscription>> {
        let mut plans: Vec<Plan> = Vec::new();
        let mut tenants: Vec<&crate::id::TenantId> = subs.iter().map(|s| &s.tenant_id).collect();
        tenants.dedup();
        for tenant in tenants {
            let mut ids: Vec<PlanId> = subs
                .iter()
                .filter(|s| s.tenant_id == *tenant)
                .flat_map(|s| std::iter::once(s.plan_id.clone()).chain(s.pending_plan_id.clone()))
                .collect();
            ids.sort();
            ids.dedup();
            plans.extend(self.plans.get_many(tenant, &ids)?);
        }
        named_by(subs, &mut |tenant, id| {
            let found = plans.iter().find(|p| p.tenant_id == *tenant && p.id == *id);
            found.cloned().ok_or_else(|| gone(id))
        })
    }

    /// [`Self::named`] for one subscription.
    pub fn named_one(&self, s: Subscription) -> DomainResult<NamedSubscription> {
        Ok(self.named(vec![s])?.remove(0))
    }

    /// [`Self::named`] for a page.
    pub fn named_page(&self, page: Page<Subscription>) -> DomainResult<Page<NamedSubscription>> {
        let (items, has_more, next_cursor) = (page.items, page.has_more, page.next_cursor);
        Ok(Page {
            items: self.named(items)?,
            has_more,
            next_cursor,
        })
    }

    pub fn get(&self, scope: &Scope, id: &SubscriptionId) -> DomainResult<Subscription> {
        self.subscriptions
            .get(scope, id)?
            .ok_or_else(SubscriptionId::not_found)
    }

    pub fn list(
        &self,
        scope: &Scope,
        filter: &SubscriptionFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Subscription>> {
        self.subscriptions.list(scope, filter, page)
    }

    /// The customer's subscriptions still running, newest first.
    pub fn running(
        &self,
        customer: &crate::scope::CustomerScope,
    ) -> DomainResult<Vec<Subscription>> {
        self.subscriptions.running(customer)
    }

    /// The discounts of the customer's running subscriptions, newest subscription first.
    pub fn discounts_of(
        &self,
        customer: &crate::scope::CustomerScope,
    ) -> DomainResult<Vec<crate::discount::AppliedDiscount>> {
        let running = self.subscriptions.running(customer)?;
        Ok(running.into_iter().filter_map(|s| s.discount).collect())
    }

    /// Cancels at period end or at once. A portal session needs the `subscription_cancel`
    /// permission, and `immediately` only when its mode allows it.
    ///
    /// At once: the usage so far (and any pending proration) is invoiced now, and with
    /// `unused = wallet_credit` the unused part of the period's fee is credited to the
    /// customer's wallet in the plan's currency.
    pub fn cancel(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        how: Cancellation,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        actor.may(Permission::CancelSubscription {
            immediate: how.at == CancelAt::Immediately,
        })?;
        let mut errs = Vec::new();
        crate::error::check_text(
            &mut errs,
            "comment",
            how.comment.as_ref(),
            crate::subscription::MAX_CANCELLATION_COMMENT,
            true,
        );
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_CANCELED,
            &mut |s, now| {
                // The feedback given with this cancellation (none given: whatever was kept).
                if how.reason.is_some() || how.comment.is_some() {
                    s.cancellation_reason = how.reason;
                    s.cancellation_comment = how.comment.clone();
                }
                match how.at {
                    CancelAt::PeriodEnd => s.cancel(how.at, now),
                    CancelAt::Immediately => self.end_now(s, how.unused, now),
                }
            },
        )
    }

    /// Takes back a cancellation at period end. A portal session needs `subscription_cancel`.
    pub fn uncancel(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        actor.may(Permission::CancelSubscription { immediate: false })?;
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_UNCANCELED,
            &mut |s, now| s.uncancel(now),
        )
    }

    /// Stops billing until resumed (merchant only).
    pub fn pause(&self, scope: &Scope, id: &SubscriptionId) -> DomainResult<Subscription> {
        self.changed(
            scope,
            id,
            &Actor::Merchant,
            actions::SUBSCRIPTION_PAUSED,
            &mut |s, now| s.pause(now),
        )
    }

    pub fn resume(&self, scope: &Scope, id: &SubscriptionId) -> DomainResult<Subscription> {
        self.changed(
            scope,
            id,
            &Actor::Merchant,
            actions::SUBSCRIPTION_RESUMED,
            &mut |s, now| s.resume(now),
        )
    }

    /// Ends `s` at `now`: the usage so far and pending lines are invoiced, and the unused fee
    /// credited when asked.
    fn end_now(
        &self,
        s: &mut Subscription,
        unused: UnusedFee,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        if s.is_over() {
            return s.cancel(CancelAt::Immediately, now);
        }
        let plan = self.plan_of(s)?;
        let tz = self.tz_of(s)?;
        let mut lines: Vec<LineItem> = std::mem::take(&mut s.pending_lines);
        if matches!(
            s.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue
        ) {
            lines.extend(self.billing.usage_so_far(s, &plan, now)?);
        }
        if unused == UnusedFee::WalletCredit {
            if let Some(line) = crate::billing::unused_fee_line(s, &plan, now, tz) {
                self.billing
                    .credit_lines(s, &plan, vec![line], "unused_subscription_fee", now)?;
            }
        }
        s.cancel(CancelAt::Immediately, now)?;
        if !lines.is_empty() {
            self.billing.invoice_now(s, &plan, lines, now)?;
        }
        Ok(())
    }

    fn plan_of(&self, s: &Subscription) -> DomainResult<Plan> {
        self.plans
            .get(&s.tenant_id, &s.plan_id)?
            .ok_or_else(PlanId::not_found)
    }

    fn tz_of(&self, s: &Subscription) -> DomainResult<chrono_tz::Tz> {
        let customer = self
            .customers
            .get(&s.tenant_id, &s.customer_id)?
            .ok_or_else(crate::id::CustomerId::not_found)?;
        Ok(timezone(&customer))
    }

    /// Locks the subscription, applies `f` at the customer's now (their test clock's time, if
    /// any) and writes it back; a customer's change is audited as `action` in the same
    /// transaction (the merchant's own changes are its API calls).
    fn changed(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        actor: &Actor<'_>,
        action: &str,
        f: &mut dyn FnMut(&mut Subscription, DateTime<Utc>) -> DomainResult<()>,
    ) -> DomainResult<Subscription> {
        self.units.run(&mut || {
            let mut s = self
                .subscriptions
                .lock(scope, id)?
                .ok_or_else(SubscriptionId::not_found)?;
            let now = self
                .billing
                .now_for(&s.tenant_id, s.test_clock_id.as_ref())?;
            let was_over = s.is_over();
            f(&mut s, now)?;
            self.subscriptions.update(&s)?;
            let reported = match (was_over, s.is_over()) {
                (false, true) => Some(EventType::SubscriptionCanceled),
                (false, false) => Some(EventType::SubscriptionChanged),
                (true, _) => None,
            };
            if let Some(t) = reported {
                self.events.subscription(t, &s)?;
            }
            if let Some(entry) = actor.audit(action) {
                self.audit
                    .record(&entry.detail("subscription_id", s.id.as_str()))?;
            }
            Ok(s)
        })
    }
}

/// A cancellation as asked for: when, what happens to the unused fee, and the canceller's
/// feedback (stored, shown to the merchant, sent with the subscription's events).
#[derive(Debug, Clone)]
pub struct Cancellation {
    pub at: CancelAt,
    pub unused: UnusedFee,
    pub reason: Option<crate::subscription::CancellationReason>,
    /// At most [`crate::subscription::MAX_CANCELLATION_COMMENT`] characters.
    pub comment: Option<String>,
}

crate::text_enum! {
    /// What happens to the unused part of the period's fee at an immediate cancellation.
    pub enum UnusedFee {
        /// Credited to the customer's wallet in the plan's currency.
        WalletCredit,
        /// Kept.
        None,
    }
}
