//! A customer's saved payment methods: recorded by the merchant's backend (which holds the
//! provider relationship), listed, made default and removed by the merchant or, when the
//! session allows it, by the customer in the portal (audited).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::audit::{actions, AuditEvent};
use crate::customer::CustomerStatus;
use crate::id::{CustomerId, PaymentMethodId};
use crate::page::{Page, PageRequest};
use crate::payment_method::MethodFilter;
use crate::payment_method::{MethodChange, NewPaymentMethod, PaymentMethod};
use crate::portal_session::PortalSession;
use crate::ports::{AccountRepo, AuditRepo, CustomerRepo, PaymentMethodRepo, UnitOfWork};
use crate::scope::CustomerScope;
use crate::services::customers::known_customer;
use crate::{clock, DomainError, DomainResult, ErrorCode};

#[derive(Clone)]
pub struct PaymentMethodService {
    methods: Arc<dyn PaymentMethodRepo>,
    customers: Arc<dyn CustomerRepo>,
    accounts: Arc<dyn AccountRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
}

/// Where the portal sends a customer to add a payment method: the merchant's page, told which
/// customer is coming (for correlation only: that page signs its own user in) and where to
/// send them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupHandOff {
    pub page: String,
    pub customer_id: String,
    pub return_url: Option<String>,
}

impl PaymentMethodService {
    pub fn new(
        methods: Arc<dyn PaymentMethodRepo>,
        customers: Arc<dyn CustomerRepo>,
        accounts: Arc<dyn AccountRepo>,
        audit: Arc<dyn AuditRepo>,
        units: Arc<dyn UnitOfWork>,
    ) -> Self {
        Self {
            methods,
            customers,
            accounts,
            audit,
            units,
        }
    }

    /// The hand-off to the merchant's setup page, if the session's `payment_method_manage`
    /// permission allows it and the account has a `payment_method_setup_url`. Card data is
    /// entered on the payment provider's page, never here; the merchant's backend then records
    /// the method with the admin API.
    pub fn setup(&self, session: &PortalSession) -> DomainResult<SetupHandOff> {
        allowed(&Actor::Customer(session))?;
        let page = self
            .accounts
            .get(&session.tenant_id)?
            .and_then(|a| a.settings.payment_method_setup_url)
            .ok_or_else(|| DomainError::Conflict {
                code: ErrorCode::PaymentMethodSetupUnavailable,
                message: "The merchant has not set up adding payment methods.".into(),
            })?;
        Ok(SetupHandOff {
            page,
            customer_id: session.customer_id.to_string(),
            return_url: session.return_url.clone(),
        })
    }

    /// Records a method the provider holds for the customer. One sent with `make_default`
    /// becomes the default (an expired card cannot: 409), and so does the customer's first
    /// method when it is usable; the previous default stays attached.
    pub fn add(
        &self,
        owner: &CustomerScope,
        input: NewPaymentMethod,
    ) -> DomainResult<PaymentMethod> {
        let customer_id =
            CustomerId::parse(&owner.customer_id).ok_or_else(CustomerId::not_found)?;
        let now = clock::now();
        let mut method = PaymentMethod::new(&owner.tenant_id, customer_id, input, now)?;
        self.in_unit(owner, &mut |(status, _)| {
            if status == CustomerStatus::Archived {
                return Err(DomainError::Conflict {
                    code: ErrorCode::CustomerArchived,
                    message: "archived customers cannot get payment methods".into(),
                });
            }
            if method.is_default {
                method.usable_at(now)?;
            }
            let first = !self.methods.has_attached(owner)?;
            if method.is_default || (first && method.usable_at(now).is_ok()) {
                self.demote_default(owner, now)?;
                method.is_default = true;
            }
            self.methods.insert(&method)?;
            Ok(method.clone())
        })
    }

    pub fn get(&self, owner: &CustomerScope, id: &PaymentMethodId) -> DomainResult<PaymentMethod> {
        self.methods
            .get(owner, id)?
            .ok_or_else(PaymentMethodId::not_found)
    }

    pub fn list(
        &self,
        owner: &CustomerScope,
        filter: &MethodFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<PaymentMethod>> {
        let found = self.methods.list(owner, filter, page)?;
        if found.items.is_empty() {
            known_customer(self.customers.as_ref(), owner)?;
        }
        Ok(found)
    }

    /// Display fields from the provider (e.g. a card updater's new expiry). Merchant only.
    pub fn update(
        &self,
        owner: &CustomerScope,
        id: &PaymentMethodId,
        change: MethodChange,
    ) -> DomainResult<PaymentMethod> {
        self.in_unit(owner, &mut |_| {
            let mut m = self.get(owner, id)?;
            m.apply(change.clone(), clock::now())?;
            self.methods.update(&m)?;
            Ok(m)
        })
    }

    /// Makes an active method the customer's default. A portal session needs
    /// `payment_method_manage`.
    pub fn make_default(
        &self,
        owner: &CustomerScope,
        id: &PaymentMethodId,
        actor: Actor<'_>,
    ) -> DomainResult<PaymentMethod> {
        allowed(&actor)?;
        self.in_unit(owner, &mut |_| {
            let now = clock::now();
            let mut m = self.get(owner, id)?;
            m.usable_at(now)?;
            if !m.is_default {
                self.demote_default(owner, now)?;
                m.is_default = true;
                m.updated_at = now;
                self.methods.update(&m)?;
            }
            self.audited(&actor, actions::PAYMENT_METHOD_DEFAULT_SET, &m)?;
            Ok(m)
        })
    }

    /// Detaches a method: it stays on record but can no longer be used. Removing the default
    /// leaves the customer without one (no other method is promoted behind their back). A
    /// portal session needs `payment_method_manage`.
    pub fn detach(
        &self,
        owner: &CustomerScope,
        id: &PaymentMethodId,
        actor: Actor<'_>,
    ) -> DomainResult<PaymentMethod> {
        allowed(&actor)?;
        self.in_unit(owner, &mut |(_, auto_pay)| {
            let mut m = self.get(owner, id)?;
            // The customer's own auto-pay needs its default; the merchant (whose provider may
            // have removed the method) can always detach, and auto-pay then uses the wallet only.
            if auto_pay && m.is_default && matches!(actor, Actor::Customer(_)) {
                return Err(DomainError::Conflict {
                    code: ErrorCode::PaymentMethodInUse,
                    message: "Auto-pay charges this default method: choose another default or turn auto-pay off first.".into(),
                });
            }
            m.detach(clock::now())?;
            self.methods.update(&m)?;
            self.audited(&actor, actions::PAYMENT_METHOD_DETACHED, &m)?;
            Ok(m)
        })
    }

    /// Runs `f` with the customer's status in one unit of work holding the customer's row, so
    /// that one customer's default changes one at a time; an unknown customer is a 404.
    fn in_unit(
        &self,
        owner: &CustomerScope,
        f: &mut dyn FnMut((CustomerStatus, bool)) -> DomainResult<PaymentMethod>,
    ) -> DomainResult<PaymentMethod> {
        self.units.run(&mut || {
            let owner_state = self
                .methods
                .lock_owner(owner)?
                .ok_or_else(CustomerId::not_found)?;
            f(owner_state)
        })
    }

    fn demote_default(&self, owner: &CustomerScope, now: DateTime<Utc>) -> DomainResult<()> {
        if let Some(mut previous) = self.methods.default_of(owner)? {
            previous.is_default = false;
            previous.updated_at = now;
            self.methods.update(&previous)?;
        }
        Ok(())
    }

    fn audited(&self, actor: &Actor<'_>, action: &str, m: &PaymentMethod) -> DomainResult<()> {
        let Actor::Customer(session) = actor else {
            return Ok(());
        };
        self.audit.record(
            &AuditEvent::by_session(session, action).detail("payment_method_id", m.id.as_str()),
        )
    }
}

/// A portal session may change payment methods only with `payment_method_manage`.
fn allowed(actor: &Actor<'_>) -> DomainResult<()> {
    actor.may(crate::actor::Permission::ManagePaymentMethods)
}
