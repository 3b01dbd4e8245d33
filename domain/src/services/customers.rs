use std::sync::Arc;

use crate::actor::Actor;
use crate::audit::actions;
use crate::customer::{Customer, CustomerFilter, CustomerPatch, CustomerStatus, NewCustomer};
use crate::id::{CustomerId, TestClockId};
use crate::page::{Page, PageRequest};
use crate::portal_session::CustomerRef;
use crate::ports::{AuditRepo, CustomerRepo, SubscriptionRepo, TestClockRepo, UnitOfWork};
use crate::scope::CustomerScope;
use crate::services::webhooks::Events;
use crate::webhook::EventType;
use crate::ErrorCode;
use crate::{id, DomainError, DomainResult};

#[derive(Clone)]
pub struct CustomerService {
    repo: Arc<dyn CustomerRepo>,
    subscriptions: Arc<dyn SubscriptionRepo>,
    clocks: Arc<dyn TestClockRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
    events: Events,
    taxes: crate::services::taxes::TaxService,
}

pub fn not_found() -> DomainError {
    CustomerId::not_found()
}

impl CustomerService {
    pub fn new(
        repo: Arc<dyn CustomerRepo>,
        subscriptions: Arc<dyn SubscriptionRepo>,
        clocks: Arc<dyn TestClockRepo>,
        audit: Arc<dyn AuditRepo>,
        units: Arc<dyn UnitOfWork>,
        events: Events,
        taxes: crate::services::taxes::TaxService,
    ) -> Self {
        Self {
            repo,
            subscriptions,
            clocks,
            audit,
            units,
            events,
            taxes,
        }
    }

    pub fn create(
        &self,
        tenant_id: &crate::id::TenantId,
        input: NewCustomer,
    ) -> DomainResult<Customer> {
        let input = input.validate()?;
        self.taxes
            .check_assignable(tenant_id, "tax_rate_ids", &input.tax_rate_ids)?;
        // A customer on a test clock lives in the clock's time, for good.
        let test_clock = match &input.test_clock {
            Some(raw) => {
                let id = id::parse::<TestClockId>(raw)?;
                self.clocks
                    .get(tenant_id, &id)?
                    .ok_or_else(TestClockId::not_found)?;
                Some(id)
            }
            None => None,
        };
        let now = crate::clock::now();
        let customer = Customer {
            billing: input.billing,
            auto_pay: input.auto_pay,
            id: crate::id::CustomerId::new(),
            tenant_id: tenant_id.clone(),
            external_id: input.external_id,
            name: input.name,
            email: input.email,
            phone: input.phone,
            address: input.address,
            timezone: input.timezone.unwrap_or_else(|| "UTC".to_owned()),
            locale: input.locale,
            metadata: input.metadata,
            status: CustomerStatus::Active,
            created_at: now,
            updated_at: now,
            archived_at: None,
            test_clock_id: test_clock,
            tax_exempt: input.tax_exempt,
            tax_rate_ids: input.tax_rate_ids,
        };
        self.units.run(&mut || {
            self.repo.insert(&customer)?;
            self.events.customer(EventType::CustomerCreated, &customer)
        })?;
        Ok(customer)
    }

    pub fn get(&self, tenant_id: &crate::id::TenantId, id: &CustomerId) -> DomainResult<Customer> {
        self.repo.get(tenant_id, id)?.ok_or_else(not_found)
    }

    pub fn get_by_external_id(
        &self,
        tenant_id: &crate::id::TenantId,
        external_id: &str,
    ) -> DomainResult<Customer> {
        self.repo
            .get_by_external_id(tenant_id, external_id)?
            .ok_or_else(not_found)
    }

    /// Changes a customer; archived customers are read-only (409 `customer_archived`). A
    /// customer changes their own profile from the portal: only the fields their session's
    /// `profile_update` allows, audited with the names of the fields (never their values) in
    /// the same transaction.
    pub fn update(
        &self,
        actor: &Actor<'_>,
        tenant_id: &crate::id::TenantId,
        id: &CustomerId,
        patch: CustomerPatch,
    ) -> DomainResult<Customer> {
        let mut names: Vec<&str> = Vec::new();
        if let Actor::Customer(session) = actor {
            session.require_write()?;
            let fields = patch
                .profile_fields()
                .ok_or_else(|| DomainError::Forbidden {
                    code: ErrorCode::FieldNotAllowed,
                    message:
                        "external_id, metadata and the tax settings are the merchant's to change"
                            .into(),
                })?;
            session.require_profile_fields(&fields)?;
            names = fields.iter().map(|f| f.as_str()).collect();
        }
        let patch = patch.validate()?;
        if let Some(ids) = &patch.tax_rate_ids {
            self.taxes
                .check_assignable(tenant_id, "tax_rate_ids", ids)?;
        }
        self.units.run(&mut || {
            let mut patch = Some(patch.clone());
            let c = self.repo.update(tenant_id, id, &mut |c| {
                if c.status == CustomerStatus::Archived {
                    return Err(archived());
                }
                patch
                    .take()
                    .expect("applied once")
                    .apply(c, crate::clock::now());
                Ok(())
            })?;
            self.events.customer(EventType::CustomerUpdated, &c)?;
            if let Some(entry) = actor.audit(actions::PROFILE_UPDATED) {
                self.audit.record(&entry.detail("fields", names.clone()))?;
            }
            Ok(c)
        })
    }

    /// Archives a customer. Archiving an archived customer is a no-op that returns it unchanged.
    ///
    /// An archived customer is read-only and moves no money: no subscription, invoice, wallet,
    /// top-up, debit or payment (409 `customer_archived`); its history stays readable and its
    /// portal sessions end. Refunds and the settling of payments already pending stay possible
    /// (money owed back is still owed, and a provider's answer is still recorded), as does
    /// closing its wallets. A customer with a running subscription (active, trialing, past
    /// due, paused) is not archived: 409 `customer_has_subscriptions` — cancel them first,
    /// with the proration the merchant chooses. The check runs under the customer's lock,
    /// which starting a subscription takes too, so the two cannot cross.
    pub fn archive(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &CustomerId,
    ) -> DomainResult<Customer> {
        self.units.run(&mut || {
            let mut changed = false;
            let c = self.repo.update(tenant_id, id, &mut |c| {
                if c.status != CustomerStatus::Archived {
                    let now = crate::clock::now();
                    c.status = CustomerStatus::Archived;
                    c.archived_at = Some(now);
                    c.updated_at = now;
                    changed = true;
                }
                Ok(())
            })?;
            let theirs = CustomerScope::new(tenant_id, id);
            let running = self.subscriptions.running(&theirs)?;
            if changed && !running.is_empty() {
                let ids: Vec<&str> = running.iter().map(|s| s.id.as_str()).collect();
                return Err(DomainError::Conflict {
                    code: ErrorCode::CustomerHasSubscriptions,
                    message: format!(
                        "the customer has running subscriptions ({}); cancel them before archiving",
                        ids.join(", ")
                    ),
                });
            }
            if changed {
                self.events.customer(EventType::CustomerUpdated, &c)?;
            }
            Ok(c)
        })
    }

    pub fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Customer>> {
        if let (Some(from), Some(to)) = (filter.created_from, filter.created_to) {
            if from > to {
                return Err(DomainError::validation(
                    "created_from",
                    "must not be after created_to",
                ));
            }
        }
        if filter.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(DomainError::validation(
                "q",
                "must be at most 200 characters",
            ));
        }
        self.repo.list(tenant_id, filter, page)
    }
}

/// The account's customer that new objects (wallets, invoices, portal sessions) may be made for:
/// 404 if it is not the account's, 409 `customer_archived` if archived. `what` completes
/// "archived customers cannot …".
pub fn active_customer(
    repo: &dyn CustomerRepo,
    tenant_id: &crate::id::TenantId,
    by: CustomerRef,
    what: &str,
) -> DomainResult<Customer> {
    let customer = match by {
        CustomerRef::Id(cid) => match CustomerId::parse(&cid) {
            Some(cid) => repo.get(tenant_id, &cid)?,
            None => None,
        },
        CustomerRef::ExternalId(ext) => repo.get_by_external_id(tenant_id, &ext)?,
    }
    .ok_or_else(not_found)?;
    if customer.status == CustomerStatus::Archived {
        return Err(archived_refusal(what));
    }
    Ok(customer)
}

/// 409 `customer_archived`; `what` completes "archived customers cannot …".
pub fn archived_refusal(what: &str) -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::CustomerArchived,
        message: format!("archived customers cannot {what}"),
    }
}

/// Refuses a money movement for a customer that is archived (inside the movement's unit of
/// work, so an archive that committed first is seen).
pub fn refuse_if_archived(
    repo: &dyn CustomerRepo,
    tenant_id: &crate::id::TenantId,
    customer_id: &CustomerId,
    what: &str,
) -> DomainResult<()> {
    match repo.get(tenant_id, customer_id)? {
        Some(c) if c.status == CustomerStatus::Archived => Err(archived_refusal(what)),
        _ => Ok(()),
    }
}

/// 404 `customer_not_found` unless the scope's customer is the account's (archived or not):
/// for lists that would otherwise answer an empty page for a customer that does not exist.
pub fn known_customer(repo: &dyn CustomerRepo, owner: &CustomerScope) -> DomainResult<()> {
    repo.get(&owner.tenant_id, &owner.customer_id)?
        .map(|_| ())
        .ok_or_else(not_found)
}

fn archived() -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::CustomerArchived,
        message: "archived customers cannot be changed".into(),
    }
}
