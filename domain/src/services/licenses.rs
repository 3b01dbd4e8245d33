//! License keys (`crate::license`): issued once per subscription of a plan that issues them
//! (in the subscription's own transaction) or by hand; read by the merchant and the customer;
//! validated, activated and deactivated by the merchant's software with the key itself.
//!
//! The key is sealed at rest ([`Sealer`]) and found by digest, so the database holds nothing a
//! holder could paste; a key whose seal no key of this server opens still validates, and reads
//! show it empty.

use std::sync::Arc;

use serde_json::json;

use crate::actor::{Actor, Permission};
use crate::audit::actions;
use crate::clock;
use crate::id::{ActivationId, LicenseKeyId, TenantId};
use crate::license::{
    digest, refused, LicenseActivation, LicenseKey, LicenseKeyFilter, LicenseRefusal, NewLicenseKey,
};
use crate::page::{Page, PageRequest};
use crate::plan::Plan;
use crate::ports::{AuditRepo, CustomerRepo, LicenseKeyRepo, Sealer, UnitOfWork};
use crate::scope::CustomerScope;
use crate::services::customers::active_customer;
use crate::services::webhooks::Events;
use crate::subscription::Subscription;
use crate::webhook::EventType;
use crate::DomainResult;

pub struct LicensePorts {
    pub licenses: Arc<dyn LicenseKeyRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub sealer: Arc<dyn Sealer>,
    pub events: Events,
}

#[derive(Clone)]
pub struct LicenseService {
    licenses: Arc<dyn LicenseKeyRepo>,
    customers: Arc<dyn CustomerRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
    sealer: Arc<dyn Sealer>,
    events: Events,
}

/// A key with its activations, oldest first.
#[derive(Debug, Clone)]
pub struct KeyWithActivations {
    pub key: LicenseKey,
    pub activations: Vec<LicenseActivation>,
}

/// What a valid key's holder learns from validating it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub key: LicenseKey,
    pub activation: Option<LicenseActivation>,
}

/// A new activation, with its key as it now stands.
#[derive(Debug, Clone)]
pub struct Activated {
    pub key: LicenseKey,
    pub activation: LicenseActivation,
}

impl LicenseService {
    pub fn new(ports: LicensePorts) -> Self {
        Self {
            licenses: ports.licenses,
            customers: ports.customers,
            audit: ports.audit,
            units: ports.units,
            sealer: ports.sealer,
            events: ports.events,
        }
    }

    // ---- issuing --------------------------------------------------------------------------

    /// In the unit of work that starts `sub` (or moves it to `plan`): its key, if the plan
    /// issues keys and the subscription has none yet. Exactly one per subscription: the key is
    /// unique per subscription in storage, so a retry or a racing replica stores nothing more.
    pub fn issue_for(&self, sub: &Subscription, plan: &Plan) -> DomainResult<()> {
        let Some(policy) = plan.license_keys.as_ref().filter(|p| p.enabled) else {
            return Ok(());
        };
        let key = LicenseKey::for_subscription(sub, policy, clock::now());
        self.store(&key)?;
        Ok(())
    }

    /// Issues a key by hand to a customer of the account (409 `customer_archived` for an
    /// archived one).
    pub fn create(&self, tenant_id: &TenantId, new: NewLicenseKey) -> DomainResult<LicenseKey> {
        let key = LicenseKey::by_hand(tenant_id, &new, clock::now())?;
        self.units.run(&mut || {
            active_customer(
                self.customers.as_ref(),
                tenant_id,
                crate::portal_session::CustomerRef::Id(new.customer_id.to_string()),
                "receive license keys",
            )?;
            self.store(&key)
        })?;
        Ok(key)
    }

    /// Stores the key sealed, and sends `license_key.created` if it was stored.
    fn store(&self, key: &LicenseKey) -> DomainResult<bool> {
        let digest = digest(&key.key).expect("an issued key has a digest");
        let sealed = LicenseKey {
            key: self.sealer.seal(&key.key)?,
            ..key.clone()
        };
        let stored = self.licenses.insert(&sealed, &digest)?;
        if stored {
            self.emit(EventType::LicenseKeyCreated, key, None)?;
        }
        Ok(stored)
    }

    // ---- the merchant's reads and switches --------------------------------------------------

    pub fn list(
        &self,
        tenant_id: &TenantId,
        filter: &LicenseKeyFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<KeyWithActivations>> {
        let found = self.licenses.list(tenant_id, filter, page)?;
        let keys = self.with_activations(tenant_id, found.items)?;
        Ok(Page {
            items: keys,
            has_more: found.has_more,
            next_cursor: found.next_cursor,
        })
    }

    pub fn get(&self, tenant_id: &TenantId, id: &LicenseKeyId) -> DomainResult<KeyWithActivations> {
        let key = self
            .licenses
            .get(tenant_id, id)?
            .ok_or_else(LicenseKeyId::not_found)?;
        Ok(self.with_activations(tenant_id, vec![key])?.remove(0))
    }

    /// Disables the key: validating or activating it is refused (`license_invalid`,
    /// `disabled`) until it is enabled again; its activations stay. Sends
    /// `license_key.disabled` when it changes.
    pub fn disable(
        &self,
        tenant_id: &TenantId,
        id: &LicenseKeyId,
    ) -> DomainResult<KeyWithActivations> {
        self.switch(tenant_id, id, true)
    }

    pub fn enable(
        &self,
        tenant_id: &TenantId,
        id: &LicenseKeyId,
    ) -> DomainResult<KeyWithActivations> {
        self.switch(tenant_id, id, false)
    }

    fn switch(
        &self,
        tenant_id: &TenantId,
        id: &LicenseKeyId,
        disable: bool,
    ) -> DomainResult<KeyWithActivations> {
        self.units.run(&mut || {
            let at = disable.then(clock::now);
            let changed = self.licenses.set_disabled(tenant_id, id, at)?;
            let key = self.get(tenant_id, id)?;
            if changed && disable {
                self.emit(EventType::LicenseKeyDisabled, &key.key, None)?;
            }
            Ok(key)
        })
    }

    // ---- the customer's ---------------------------------------------------------------------

    /// The customer's keys with their activations, newest first.
    pub fn of_customer(&self, customer: &CustomerScope) -> DomainResult<Vec<KeyWithActivations>> {
        let filter = LicenseKeyFilter {
            customer_id: Some(customer.customer_id.clone()),
            subscription_id: None,
        };
        let mut all: Vec<KeyWithActivations> = Vec::new();
        loop {
            let page = PageRequest {
                limit: crate::page::MAX_LIMIT,
                after: all.last().map(|k| k.key.id.to_string()),
                binding: None,
            };
            let found = self.list(&customer.tenant_id, &filter, &page)?;
            all.extend(found.items);
            if !found.has_more {
                return Ok(all);
            }
        }
    }

    /// The customer frees one of their activations (permission `license_manage`; audited). The
    /// key must be theirs (else 404 `license_key_not_found`), the activation the key's and live
    /// (else 404 `activation_not_found`).
    pub fn release_activation(
        &self,
        customer: &CustomerScope,
        key_id: &LicenseKeyId,
        activation: &ActivationId,
        actor: Actor<'_>,
    ) -> DomainResult<()> {
        actor.may(Permission::ManageLicenses)?;
        self.units.run(&mut || {
            let key = self
                .licenses
                .get(&customer.tenant_id, key_id)?
                .filter(|k| k.customer_id == customer.customer_id)
                .ok_or_else(LicenseKeyId::not_found)?;
            if !self.end(&key, activation)? {
                return Err(ActivationId::not_found());
            }
            if let Some(event) = actor.audit(actions::LICENSE_DEACTIVATED) {
                self.audit.record(
                    &event
                        .detail("license_key_id", key.id.as_str())
                        .detail("activation_id", activation.as_str()),
                )?;
            }
            Ok(())
        })
    }

    // ---- the public routes: the key is the credential ---------------------------------------

    /// A key's state, and the activation it names (which must be live).
    pub fn validate(&self, presented: &str, activation: Option<&str>) -> DomainResult<Checked> {
        let key = self.presented(presented)?;
        key.usable(clock::now())?;
        let activation = match activation {
            None => None,
            Some(id) => Some(self.live_activation(&key, id)?),
        };
        Ok(Checked { key, activation })
    }

    /// Registers an installation of the key (422 naming `label` when it is blank or over 200
    /// characters; 409 `activation_limit_reached` at the key's limit). Sends
    /// `license_key.activated`.
    pub fn activate(&self, presented: &str, label: &str) -> DomainResult<Activated> {
        let key = self.presented(presented)?;
        let now = clock::now();
        key.usable(now)?;
        let activation = LicenseActivation::new(&key, label, now)?;
        self.units.run(&mut || {
            if !self.licenses.activate(&activation)? {
                // Refused by the conditional update: disabled meanwhile, or at its limit.
                let current = self.presented(presented)?;
                current.usable(now)?;
                return Err(crate::DomainError::Conflict {
                    code: crate::ErrorCode::ActivationLimitReached,
                    message: format!(
                        "This license key is at its limit of {} activations; deactivate one first.",
                        current.activation_limit.unwrap_or_default()
                    ),
                });
            }
            self.emit(EventType::LicenseKeyActivated, &key, Some(&activation))
        })?;
        Ok(Activated {
            key: self.presented(presented)?,
            activation,
        })
    }

    /// Ends an activation of the key, whatever the key's state (freeing an installation is
    /// always allowed). Sends `license_key.deactivated`.
    pub fn deactivate(&self, presented: &str, activation: &str) -> DomainResult<()> {
        let key = self.presented(presented)?;
        let unknown = || refused(LicenseRefusal::ActivationUnknown);
        let id = ActivationId::parse(activation).ok_or_else(unknown)?;
        self.units.run(&mut || {
            if self.end(&key, &id)? {
                Ok(())
            } else {
                Err(unknown())
            }
        })
    }

    /// Ends a live activation and sends `license_key.deactivated`; false if there was none.
    fn end(&self, key: &LicenseKey, id: &ActivationId) -> DomainResult<bool> {
        let now = clock::now();
        if !self.licenses.deactivate(&key.tenant_id, &key.id, id, now)? {
            return Ok(false);
        }
        let ended = self
            .licenses
            .activations(&key.tenant_id, std::slice::from_ref(&key.id))?
            .into_iter()
            .find(|a| &a.id == id);
        self.emit(EventType::LicenseKeyDeactivated, key, ended.as_ref())?;
        Ok(true)
    }

    /// The key presented, opened; `license_invalid` (`unknown`) for one that is not a key.
    fn presented(&self, presented: &str) -> DomainResult<LicenseKey> {
        let unknown = || refused(LicenseRefusal::Unknown);
        let digest = digest(presented).ok_or_else(unknown)?;
        let key = self.licenses.by_digest(&digest)?.ok_or_else(unknown)?;
        Ok(self.opened(key))
    }

    fn live_activation(&self, key: &LicenseKey, id: &str) -> DomainResult<LicenseActivation> {
        let unknown = || refused(LicenseRefusal::ActivationUnknown);
        let id = ActivationId::parse(id).ok_or_else(unknown)?;
        self.licenses
            .activations(&key.tenant_id, std::slice::from_ref(&key.id))?
            .into_iter()
            .find(|a| a.id == id && a.deactivated_at.is_none())
            .ok_or_else(unknown)
    }

    fn with_activations(
        &self,
        tenant_id: &TenantId,
        keys: Vec<LicenseKey>,
    ) -> DomainResult<Vec<KeyWithActivations>> {
        let ids: Vec<LicenseKeyId> = keys.iter().map(|k| k.id.clone()).collect();
        let mut activations = self.licenses.activations(tenant_id, &ids)?;
        Ok(keys
            .into_iter()
            .map(|k| {
                let (mine, rest) = activations
                    .drain(..)
                    .partition(|a| a.license_key_id == k.id);
                activations = rest;
                KeyWithActivations {
                    key: self.opened(k),
                    activations: mine,
                }
            })
            .collect())
    }

    /// The key as stored, with its secret opened (empty if no key of this server opens it).
    fn opened(&self, mut key: LicenseKey) -> LicenseKey {
        key.key = self.sealer.open(&key.key).unwrap_or_default();
        key
    }

    /// A `license_key.*` event: the key's id, owner and state, never the key itself.
    fn emit(
        &self,
        event: EventType,
        key: &LicenseKey,
        activation: Option<&LicenseActivation>,
    ) -> DomainResult<()> {
        self.events.emit(
            &key.tenant_id,
            event,
            json!({
                "id": key.id.as_str(),
                "customer_id": key.customer_id.as_str(),
                "subscription_id": key.subscription_id.as_ref().map(|s| s.as_str()),
                "status": key.status(clock::now()).as_str(),
                "activation_limit": key.activation_limit,
                "activation": activation.map(|a| json!({
                    "id": a.id.as_str(),
                    "label": a.label,
                    "created_at": a.created_at,
                    "deactivated_at": a.deactivated_at,
                })),
            }),
        )
    }
}
