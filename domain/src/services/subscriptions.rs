//! Subscribing customers to plans, and cancelling: by the merchant, or by the customer from the
//! portal when the session allows it (audited in the same transaction).

use std::sync::Arc;

use crate::audit::{actions, AuditEvent};
use crate::id::{PlanId, SubscriptionId};
use crate::page::{Page, PageRequest};
use crate::plan::{Plan, PlanStatus, MAX_TRIAL_DAYS};
use crate::portal_session::{CancelMode, CustomerRef, PortalSession};
use crate::ports::{
    AuditRepo, CustomerRepo, PlanRepo, SubscriptionFilter, SubscriptionRepo, UnitOfWork, WalletRepo,
};
use crate::scope::Scope;
use crate::services::customers::active_customer;
use crate::services::wallets::customer_wallets;
use crate::subscription::{BillingAnchor, CancelAt, Collection, Subscription};
use crate::wallet::WalletStatus;
use crate::{clock, DomainError, DomainResult, ErrorCode};

#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub customer: CustomerRef,
    /// The plan's id or code.
    pub plan: String,
    /// Default: the plan's trial days.
    pub trial_days: Option<u32>,
    pub billing_anchor: BillingAnchor,
    pub collection: Collection,
}

#[derive(Clone)]
pub struct SubscriptionService {
    subscriptions: Arc<dyn SubscriptionRepo>,
    plans: Arc<dyn PlanRepo>,
    customers: Arc<dyn CustomerRepo>,
    wallets: Arc<dyn WalletRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
}

/// Who asks for a change: the merchant's key, or a portal session (checked and audited).
pub enum Actor<'a> {
    Merchant,
    Customer(&'a PortalSession),
}

impl SubscriptionService {
    pub fn new(
        subscriptions: Arc<dyn SubscriptionRepo>,
        plans: Arc<dyn PlanRepo>,
        customers: Arc<dyn CustomerRepo>,
        wallets: Arc<dyn WalletRepo>,
        audit: Arc<dyn AuditRepo>,
        units: Arc<dyn UnitOfWork>,
    ) -> Self {
        Self {
            subscriptions,
            plans,
            customers,
            wallets,
            audit,
            units,
        }
    }

    /// The plan named by id or by code.
    fn plan(&self, tenant_id: &str, plan: &str) -> DomainResult<Plan> {
        let found = match PlanId::parse(plan) {
            Some(id) => self.plans.get(tenant_id, &id)?,
            None => self.plans.get_by_code(tenant_id, plan)?,
        };
        found.ok_or_else(PlanId::not_found)
    }

    pub fn create(&self, tenant_id: &str, input: NewSubscription) -> DomainResult<Subscription> {
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
        let tz: chrono_tz::Tz = customer.timezone.parse().unwrap_or(chrono_tz::UTC);
        let subscription = Subscription::start(
            tenant_id,
            customer.id,
            &plan,
            input.trial_days.unwrap_or(plan.trial_days),
            input.billing_anchor,
            input.collection,
            tz,
            clock::now(),
        );
        self.subscriptions.insert(&subscription)?;
        Ok(subscription)
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

    /// Cancels at period end or at once. A portal session needs the `subscription_cancel`
    /// permission, and `immediately` only when its mode allows it.
    pub fn cancel(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        at: CancelAt,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        if let Actor::Customer(session) = &actor {
            session.require_write()?;
            let allowed = &session.permissions.subscription_cancel;
            if !allowed.enabled {
                return Err(not_allowed("This session may not cancel subscriptions."));
            }
            if at == CancelAt::Immediately && allowed.mode != CancelMode::Immediately {
                return Err(not_allowed(
                    "This session may only cancel at the end of the period.",
                ));
            }
        }
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_CANCELED,
            &mut |s| s.cancel(at, clock::now()),
        )
    }

    /// Takes back a cancellation at period end. A portal session needs `subscription_cancel`.
    pub fn uncancel(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        actor: Actor<'_>,
    ) -> DomainResult<Subscription> {
        if let Actor::Customer(session) = &actor {
            session.require_write()?;
            if !session.permissions.subscription_cancel.enabled {
                return Err(not_allowed("This session may not change cancellations."));
            }
        }
        self.changed(
            scope,
            id,
            &actor,
            actions::SUBSCRIPTION_UNCANCELED,
            &mut |s| s.uncancel(clock::now()),
        )
    }

    /// Stops billing until resumed (merchant only).
    pub fn pause(&self, scope: &Scope, id: &SubscriptionId) -> DomainResult<Subscription> {
        self.changed(
            scope,
            id,
            &Actor::Merchant,
            actions::SUBSCRIPTION_PAUSED,
            &mut |s| s.pause(clock::now()),
        )
    }

    pub fn resume(&self, scope: &Scope, id: &SubscriptionId) -> DomainResult<Subscription> {
        self.changed(
            scope,
            id,
            &Actor::Merchant,
            actions::SUBSCRIPTION_RESUMED,
            &mut |s| s.resume(clock::now()),
        )
    }

    /// Applies `f` to the locked subscription; a customer's change is audited as `action` in
    /// the same transaction (the merchant's own changes are its API calls).
    fn changed(
        &self,
        scope: &Scope,
        id: &SubscriptionId,
        actor: &Actor<'_>,
        action: &str,
        f: &mut dyn FnMut(&mut Subscription) -> DomainResult<()>,
    ) -> DomainResult<Subscription> {
        let mut done = None;
        self.units.atomically(&mut || {
            let s = self.subscriptions.change(scope, id, f)?;
            if let Actor::Customer(session) = actor {
                self.audit.record(
                    &AuditEvent::new(&s.tenant_id, action, format!("session:{}", session.id))
                        .session(&session.customer_id, &session.id)
                        .detail("subscription_id", s.id.as_str()),
                )?;
            }
            done = Some(s);
            Ok(())
        })?;
        done.ok_or_else(|| DomainError::internal("unit of work returned without a result"))
    }
}

fn not_allowed(message: &str) -> DomainError {
    DomainError::Forbidden {
        code: ErrorCode::ActionNotAllowed,
        message: message.into(),
    }
}
