//! Alerts customers set on their usage, spend and credit balance (`crate::alert`): managing
//! them, and firing them in the transaction that crosses them.
//!
//! The three places a value moves call in here inside their own unit of work: usage ingestion
//! ([`AlertService::usage_before`] / [`AlertService::usage_after`] around the counters'
//! update), an invoice issued and a ledger movement (through [`crate::services::webhooks::Events`],
//! which every such change already calls). A crossing is recorded as a trigger unique per
//! (alert, period) — a concurrent transaction that saw the same crossing records nothing — and
//! only the transaction that recorded it sends `alert.triggered` (with its e-mail).
//!
//! Cost where no alert is set: one indexed read per ingested batch, invoice issued or ledger
//! change, of the alerts of the customers involved.

use std::collections::HashMap;
use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};
use serde_json::json;

use crate::actor::{Actor, Permission};
use crate::alert::{Alert, AlertOwner, AlertTrigger, AlertType, NewAlert, MAX_PER_CUSTOMER};
use crate::audit::{actions, AuditEvent};
use crate::clock;
use crate::id::{AlertId, CustomerId, TenantId};
use crate::invoice::Invoice;
use crate::money::canonical;
use crate::ports::{AlertRepo, AuditRepo, CustomerRepo, UnitOfWork, UsageRepo};
use crate::scope::CustomerScope;
use crate::services::webhooks::Events;
use crate::usage::{Aggregation, CounterPeriod, UsageEvent};
use crate::wallet::{TxType, Wallet, WalletTransaction};
use crate::webhook::EventType;
use crate::{DomainError, DomainResult};

pub struct AlertPorts {
    pub alerts: Arc<dyn AlertRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub usage: Arc<dyn UsageRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub units: Arc<dyn UnitOfWork>,
    /// Sends `alert.triggered` (and the e-mail it brings). Not the alerting `Events` itself:
    /// a trigger is not a movement that could cross another alert.
    pub events: Events,
}

#[derive(Clone)]
pub struct AlertService {
    alerts: Arc<dyn AlertRepo>,
    customers: Arc<dyn CustomerRepo>,
    usage: Arc<dyn UsageRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
    events: Events,
}

/// The usage alerts a batch of events may cross, with each watched counter's value before the
/// batch: ((customer, feature, period start) → (aggregation, value before)).
pub struct UsageWatch {
    tenant_id: TenantId,
    alerts: Vec<Alert>,
    before: HashMap<(String, String, chrono::DateTime<chrono::Utc>), (Aggregation, BigDecimal)>,
}

impl AlertService {
    pub fn new(ports: AlertPorts) -> Self {
        Self {
            alerts: ports.alerts,
            customers: ports.customers,
            usage: ports.usage,
            audit: ports.audit,
            units: ports.units,
            events: ports.events,
        }
    }

    /// Sets an alert for the customer (422 naming the field: a threshold ≤ 0, a usage alert on
    /// a feature the account does not have, fields that do not fit the type; 409
    /// `alert_limit_reached` past [`MAX_PER_CUSTOMER`]). A portal session needs
    /// `alerts_manage`; the customer's own are audited.
    pub fn create(
        &self,
        customer: &CustomerScope,
        new: NewAlert,
        actor: Actor<'_>,
    ) -> DomainResult<Alert> {
        actor.may(Permission::ManageAlerts)?;
        let owner = match actor {
            Actor::Customer(_) => AlertOwner::Customer,
            Actor::Merchant | Actor::System => AlertOwner::Merchant,
        };
        let alert = new.build(
            &customer.tenant_id,
            &customer.customer_id,
            owner,
            clock::now(),
        )?;
        if let Some(feature) = &alert.feature_key {
            let known = self.usage.features(&customer.tenant_id)?;
            if !known.iter().any(|f| &f.key == feature) {
                return Err(DomainError::validation(
                    "feature",
                    "is not a feature of this account",
                ));
            }
        }
        self.units.run(&mut || {
            self.customers
                .lock(&customer.tenant_id, &customer.customer_id)?
                .ok_or_else(CustomerId::not_found)?;
            if self.alerts.of_customer(customer)?.len() >= MAX_PER_CUSTOMER {
                return Err(DomainError::Conflict {
                    code: crate::ErrorCode::AlertLimitReached,
                    message: format!("A customer has at most {MAX_PER_CUSTOMER} alerts."),
                });
            }
            self.alerts.insert(&alert)?;
            self.audited(&actor, actions::ALERT_CREATED, &alert.id)?;
            Ok(alert.clone())
        })
    }

    /// The customer's alerts, oldest first.
    pub fn of_customer(&self, customer: &CustomerScope) -> DomainResult<Vec<Alert>> {
        self.alerts.of_customer(customer)
    }

    /// The merchant's read of a customer's alerts: 404 for a customer the account lacks.
    pub fn of_known_customer(&self, customer: &CustomerScope) -> DomainResult<Vec<Alert>> {
        self.customers
            .get(&customer.tenant_id, &customer.customer_id)?
            .ok_or_else(CustomerId::not_found)?;
        self.alerts.of_customer(customer)
    }

    /// Removes one of the customer's alerts (another customer's is a 404). A portal session
    /// needs `alerts_manage`.
    pub fn delete(
        &self,
        customer: &CustomerScope,
        id: &AlertId,
        actor: Actor<'_>,
    ) -> DomainResult<()> {
        actor.may(Permission::ManageAlerts)?;
        self.units.run(&mut || {
            if !self.alerts.delete(customer, id)? {
                return Err(AlertId::not_found());
            }
            self.audited(&actor, actions::ALERT_DELETED, id)
        })
    }

    fn audited(&self, actor: &Actor<'_>, action: &str, id: &AlertId) -> DomainResult<()> {
        let Actor::Customer(session) = actor else {
            return Ok(());
        };
        self.audit
            .record(&AuditEvent::by_session(session, action).detail("alert_id", id.as_str()))
    }

    // ---- firing, in the caller's unit of work ----------------------------------------------

    /// Before a batch of new usage is counted: the usage alerts of its customers on its
    /// features, and the watched counters' values. None when no alert watches the batch.
    pub fn usage_before(
        &self,
        tenant_id: &TenantId,
        events: &[UsageEvent],
    ) -> DomainResult<Option<UsageWatch>> {
        let mut customers: Vec<CustomerId> = events
            .iter()
            .filter_map(|e| CustomerId::parse(&e.customer_id))
            .collect();
        customers.sort();
        customers.dedup();
        let alerts: Vec<Alert> = self
            .alerts
            .watching(tenant_id, AlertType::Usage, &customers)?
            .into_iter()
            .filter(|a| {
                events.iter().any(|e| {
                    e.customer_id == a.customer_id.as_str()
                        && a.feature_key.as_deref() == Some(e.feature_key.as_str())
                })
            })
            .collect();
        if alerts.is_empty() {
            return Ok(None);
        }
        let aggregation: HashMap<String, Aggregation> = self
            .usage
            .features(tenant_id)?
            .into_iter()
            .map(|f| (f.key, f.aggregation))
            .collect();
        let mut before = HashMap::new();
        for customer in &customers {
            let watched: Vec<&str> = alerts
                .iter()
                .filter(|a| &a.customer_id == customer)
                .filter_map(|a| a.feature_key.as_deref())
                .collect();
            let periods: Vec<CounterPeriod> = events
                .iter()
                .filter(|e| {
                    e.customer_id == customer.as_str() && watched.contains(&e.feature_key.as_str())
                })
                .flat_map(|e| e.periods.iter().copied())
                .collect();
            let starts: Vec<_> = periods.iter().map(|p| p.start).collect();
            let counters = self.usage.counters(tenant_id, customer, &starts)?;
            for e in events.iter().filter(|e| e.customer_id == customer.as_str()) {
                if !watched.contains(&e.feature_key.as_str()) {
                    continue;
                }
                let agg = aggregation
                    .get(&e.feature_key)
                    .copied()
                    .unwrap_or(Aggregation::Sum);
                for p in &e.periods {
                    let value = counters
                        .iter()
                        .find(|c| c.feature_key == e.feature_key && c.period.start == p.start)
                        .map_or_else(BigDecimal::zero, |c| c.used(agg));
                    before.insert(
                        (e.customer_id.clone(), e.feature_key.clone(), p.start),
                        (agg, value),
                    );
                }
            }
        }
        Ok(Some(UsageWatch {
            tenant_id: tenant_id.clone(),
            alerts,
            before,
        }))
    }

    /// After the batch is counted: fires each watched usage alert whose counter it took to the
    /// threshold, once per period.
    pub fn usage_after(&self, watch: Option<UsageWatch>) -> DomainResult<()> {
        let Some(watch) = watch else {
            return Ok(());
        };
        let now = clock::now();
        let mut by_customer: HashMap<&str, Vec<chrono::DateTime<chrono::Utc>>> = HashMap::new();
        for (customer, _, start) in watch.before.keys() {
            by_customer
                .entry(customer.as_str())
                .or_default()
                .push(*start);
        }
        for (customer, starts) in by_customer {
            let Some(customer_id) = CustomerId::parse(customer) else {
                continue;
            };
            let counters = self
                .usage
                .counters(&watch.tenant_id, &customer_id, &starts)?;
            for alert in watch.alerts.iter().filter(|a| a.customer_id == customer_id) {
                let feature = alert.feature_key.clone().unwrap_or_default();
                for c in counters.iter().filter(|c| c.feature_key == feature) {
                    let key = (customer.to_owned(), feature.clone(), c.period.start);
                    let Some((agg, before)) = watch.before.get(&key) else {
                        continue;
                    };
                    let after = c.used(*agg);
                    if alert.crossed(before, &after) {
                        self.fire(AlertTrigger {
                            alert: alert.clone(),
                            period: c.period.start.to_rfc3339(),
                            value: after,
                            wallet_id: None,
                            at: now,
                        })?;
                    }
                }
            }
        }
        Ok(())
    }

    /// An invoice was issued: fires the customer's spend alerts in its currency that this
    /// month's issued total reaches with it.
    pub fn invoice_issued(&self, invoice: &Invoice) -> DomainResult<()> {
        let alerts: Vec<Alert> = self
            .alerts
            .watching(
                &invoice.tenant_id,
                AlertType::Spend,
                std::slice::from_ref(&invoice.customer_id),
            )?
            .into_iter()
            .filter(|a| a.currency == Some(invoice.currency))
            .collect();
        if alerts.is_empty() {
            return Ok(());
        }
        let now = clock::now();
        // The calendar month in UTC: the month invoice numbering serialises an account's
        // finalizations by (until commit), so two invoices issued at once cannot both miss the
        // crossing they make together.
        let month = CounterPeriod::month_of(invoice.issued_at.unwrap_or(now), chrono_tz::UTC);
        let after = self.alerts.spend(
            &CustomerScope::new(&invoice.tenant_id, &invoice.customer_id),
            invoice.currency,
            month.start,
            month.end,
        )?;
        let before = &after - &invoice.total;
        for alert in alerts {
            if alert.crossed(&before, &after) {
                self.fire(AlertTrigger {
                    alert,
                    period: month.start.to_rfc3339(),
                    value: after.clone(),
                    wallet_id: None,
                    at: now,
                })?;
            }
        }
        Ok(())
    }

    /// Ledger entries were appended to `wallet`: fires the customer's credit-balance alerts
    /// (on this wallet's currency or on any wallet) at the entry that took the balance below
    /// the threshold. Closing a wallet (its void entry) is not a fall in the balance.
    pub fn wallet_moved(&self, wallet: &Wallet, txs: &[WalletTransaction]) -> DomainResult<()> {
        let falls: Vec<&WalletTransaction> = txs
            .iter()
            .filter(|t| t.tx_type != TxType::Void && t.balance_after < t.balance_before)
            .collect();
        if falls.is_empty() {
            return Ok(());
        }
        let alerts: Vec<Alert> = self
            .alerts
            .watching(
                &wallet.tenant_id,
                AlertType::CreditBalance,
                std::slice::from_ref(&wallet.customer_id),
            )?
            .into_iter()
            .filter(|a| a.currency.is_none_or(|c| c == wallet.currency))
            .collect();
        let now = clock::now();
        for tx in falls {
            for alert in alerts
                .iter()
                .filter(|a| a.crossed(&tx.balance_before, &tx.balance_after))
            {
                self.fire(AlertTrigger {
                    alert: alert.clone(),
                    period: tx.id.clone(),
                    value: tx.balance_after.clone(),
                    wallet_id: Some(wallet.id.to_string()),
                    at: now,
                })?;
            }
        }
        Ok(())
    }

    /// Records the trigger; if this transaction is the one that recorded it, sends
    /// `alert.triggered`.
    fn fire(&self, trigger: AlertTrigger) -> DomainResult<()> {
        if !self.alerts.fire(&trigger)? {
            return Ok(());
        }
        let a = &trigger.alert;
        self.events.emit(
            &a.tenant_id,
            EventType::AlertTriggered,
            json!({
                "alert_id": a.id.as_str(),
                "customer_id": a.customer_id.as_str(),
                "type": a.alert_type.as_str(),
                "feature": a.feature_key,
                "currency": a.currency.map(|c| c.code()),
                "threshold": canonical(&a.threshold),
                "value": canonical(&trigger.value),
                "wallet_id": trigger.wallet_id,
                "period": trigger.period,
                "triggered_at": trigger.at,
            }),
        )
    }
}
