//! Webhooks: managing endpoints, reading the event catalogue and the delivery log, and the
//! delivery worker's steps (fan out new events to endpoints, claim due deliveries, record each
//! attempt). The sending itself (HTTP, address checks) is the api crate's.

mod delivery;
mod subscriptions;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::credit_note::CreditNote;

use crate::customer::Customer;
use crate::invoice::Invoice;
use crate::money::canonical;
use crate::payment::Payment;
use crate::portal_session::PortalSession;
use crate::wallet::{TxType, Wallet, WalletTransaction};

use crate::id::{TenantId, WebhookDeliveryId, WebhookEndpointId, WebhookEventId};
use crate::page::{Page, PageRequest};
use crate::ports::{Outbox, UnitOfWork, WebhookRepo};
use crate::webhook::{
    next_attempt, DeliveryAttempt, DeliveryStatus, DisabledReason, Dispatch, EndpointPatch,
    EndpointStatus, EventType, NewEndpoint, WebhookDelivery, WebhookEndpoint, WebhookEvent,
    DISABLE_AFTER, LEASE,
};
use crate::{DomainError, DomainResult, ErrorCode};

/// Events fanned out per unit of work.
const FAN_OUT_BATCH: i64 = 200;
/// At most this many events are replayed by one request.
pub const REPLAY_LIMIT: i64 = 10_000;
/// How far back a replay may reach.
pub const REPLAY_WINDOW: Duration = Duration::days(30);

/// Records webhook events in the caller's unit of work (the outbox). Services that make changes
/// hold one and call [`Events::emit`] inside the same `units.run` as the change.
#[derive(Clone)]
pub struct Events {
    outbox: Arc<dyn Outbox>,
    /// Customers' alerts, checked where an invoice is issued or a ledger moves (see
    /// `crate::services::alerts`); none in the events the alerts themselves send.
    alerts: Option<Arc<crate::services::alerts::AlertService>>,
}

impl Events {
    pub fn new(outbox: Arc<dyn Outbox>) -> Self {
        Self {
            outbox,
            alerts: None,
        }
    }

    /// These events, also firing customers' alerts the changes they report cross.
    pub fn with_alerts(&self, alerts: crate::services::alerts::AlertService) -> Self {
        Self {
            outbox: self.outbox.clone(),
            alerts: Some(Arc::new(alerts)),
        }
    }

    pub fn emit(
        &self,
        tenant_id: &crate::id::TenantId,
        event_type: EventType,
        data: serde_json::Value,
    ) -> DomainResult<()> {
        self.outbox
            .emit(&WebhookEvent::new(tenant_id, event_type, data))
    }

    // Thin payloads: the object's id, its owner and the fields a receiver acts on. Receivers
    // fetch the full object by id when they need more.

    pub fn customer(&self, t: EventType, c: &Customer) -> DomainResult<()> {
        self.emit(
            &c.tenant_id,
            t,
            json!({
                "customer_id": c.id.as_str(),
                "external_id": c.external_id,
                "status": c.status.as_str(),
                "updated_at": c.updated_at,
            }),
        )
    }

    pub fn invoice(&self, t: EventType, i: &Invoice) -> DomainResult<()> {
        if let (EventType::InvoiceFinalized, Some(alerts)) = (t, &self.alerts) {
            alerts.invoice_issued(i)?;
        }
        self.emit(
            &i.tenant_id,
            t,
            json!({
                "invoice_id": i.id.as_str(),
                "customer_id": i.customer_id.as_str(),
                "subscription_id": i.subscription_id.as_ref().map(|s| s.as_str()),
                "number": i.number,
                "status": i.status.as_str(),
                "payment_status": i.payment_status.as_str(),
                "currency": i.currency.code(),
                "subtotal": i.currency.display(&i.subtotal),
                "total_tax": i.currency.display(&i.total_tax()),
                "total": i.currency.display(&i.total),
                "amount_paid": i.currency.display(&i.amount_paid),
                "amount_due": i.currency.display(&i.amount_due()),
                "due_at": i.due_at,
                "updated_at": i.updated_at,
            }),
        )
    }

    pub fn payment(&self, t: EventType, p: &Payment) -> DomainResult<()> {
        self.emit(
            &p.tenant_id,
            t,
            json!({
                "payment_id": p.id.as_str(),
                "invoice_id": p.invoice_id.as_str(),
                "customer_id": p.customer_id.as_str(),
                "method": p.method.as_str(),
                "status": p.status.as_str(),
                "currency": p.currency.code(),
                "amount": p.currency.display(&p.amount),
                "amount_refunded": p.currency.display(&p.amount_refunded),
                "payment_method_id": p.payment_method_id.as_ref().map(|m| m.as_str()),
                "payment_url": p.payment_url,
                "failure_reason": p.failure_reason,
                "created_at": p.created_at,
            }),
        )
    }

    pub fn credit_note(&self, t: EventType, n: &CreditNote) -> DomainResult<()> {
        let c = n.currency;
        self.emit(
            &n.tenant_id,
            t,
            json!({
                "credit_note_id": n.id.as_str(),
                "invoice_id": n.invoice_id.as_str(),
                "customer_id": n.customer_id.as_str(),
                "number": n.number,
                "status": n.status.as_str(),
                "reason": n.reason.as_str(),
                "refund_to": n.refund_to.as_str(),
                "currency": c.code(),
                "subtotal": c.display(&n.subtotal),
                "total_tax": c.display(&n.total_tax),
                "total": c.display(&n.total),
                "wallet_id": n.wallet_id.as_ref().map(|w| w.as_str()),
                "refund_ids": n.refund_ids,
                "created_at": n.created_at,
                "voided_at": n.voided_at,
            }),
        )
    }

    /// A wallet movement: the entry and the balance after it.
    fn wallet(&self, t: EventType, w: &Wallet, tx: &WalletTransaction) -> DomainResult<()> {
        self.emit(
            &w.tenant_id,
            t,
            json!({
                "wallet_id": w.id.as_str(),
                "customer_id": w.customer_id.as_str(),
                "transaction_id": tx.id,
                "credits": canonical(&tx.credits),
                "value": w.currency.display(&tx.value),
                "currency": w.currency.code(),
                "balance": canonical(&tx.balance_after),
                "balance_value": w.display_value(&tx.balance_after),
                "low_balance_threshold": w.low_balance_threshold.as_ref().map(canonical),
                "reason": tx.reason,
                "trigger": "transaction",
                "created_at": tx.created_at,
            }),
        )
    }

    /// `wallet.low_balance` for accepted usage that took the wallet's ongoing balance from at
    /// least its threshold to below it (`crate::services::accrual`): no ledger entry, so no
    /// `transaction_id`; `trigger` says which.
    pub fn ongoing_balance_low(&self, w: &Wallet) -> DomainResult<()> {
        let ongoing = w.ongoing_balance();
        self.emit(
            &w.tenant_id,
            EventType::WalletLowBalance,
            json!({
                "wallet_id": w.id.as_str(),
                "customer_id": w.customer_id.as_str(),
                "transaction_id": null,
                "currency": w.currency.code(),
                "balance": canonical(&w.balance),
                "balance_value": w.display_value(&w.balance),
                "ongoing_balance": canonical(&ongoing),
                "ongoing_balance_value": w.display_value(&ongoing),
                "low_balance_threshold": w.low_balance_threshold.as_ref().map(canonical),
                "trigger": "usage",
                "created_at": crate::clock::now(),
            }),
        )
    }

    /// The events of the ledger entries one change of `w` appended (`txs`, in order): each
    /// top-up, debit and expiry, and `wallet.low_balance` at the entry that took the balance
    /// from at least the threshold to below it. Closing a wallet (its void entry) sends none.
    pub fn wallet_movements(&self, w: &Wallet, txs: &[WalletTransaction]) -> DomainResult<()> {
        for tx in txs {
            let t = match tx.tx_type {
                TxType::Credit => EventType::WalletToppedUp,
                TxType::Debit => EventType::WalletDebited,
                TxType::Expiry => EventType::WalletCreditsExpired,
                TxType::Void => continue,
            };
            self.wallet(t, w, tx)?;
            let crossed = w
                .low_balance_threshold
                .as_ref()
                .is_some_and(|limit| tx.balance_before >= *limit && tx.balance_after < *limit);
            if crossed {
                self.wallet(EventType::WalletLowBalance, w, tx)?;
            }
        }
        match &self.alerts {
            Some(alerts) => alerts.wallet_moved(w, txs),
            None => Ok(()),
        }
    }

    pub fn session(&self, t: EventType, s: &PortalSession) -> DomainResult<()> {
        self.emit(
            &s.tenant_id,
            t,
            json!({
                "portal_session_id": s.id.as_str(),
                "customer_id": s.customer_id.as_str(),
                "mode": s.mode.as_str(),
                "expires_at": s.expires_at,
                "ended_at": s.ended_at,
                "end_reason": s.end_reason.map(|r| r.as_str()),
            }),
        )
    }
}

#[derive(Clone)]
pub struct WebhookService {
    repo: Arc<dyn WebhookRepo>,
    units: Arc<dyn UnitOfWork>,
    /// `http` and private targets allowed (development and tests only).
    allow_insecure: bool,
}

pub fn endpoint_not_found() -> DomainError {
    WebhookEndpointId::not_found()
}

/// What a fan-out pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FannedOut {
    pub events: usize,
    pub deliveries: usize,
}

impl WebhookService {
    pub fn new(
        repo: Arc<dyn WebhookRepo>,
        units: Arc<dyn UnitOfWork>,
        allow_insecure: bool,
    ) -> Self {
        Self {
            repo,
            units,
            allow_insecure,
        }
    }

    pub fn create(
        &self,
        tenant_id: &crate::id::TenantId,
        input: NewEndpoint,
    ) -> DomainResult<WebhookEndpoint> {
        let endpoint = input.validate(tenant_id, self.allow_insecure)?;
        self.repo.insert_endpoint(&endpoint)?;
        Ok(endpoint)
    }

    pub fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEndpointId,
    ) -> DomainResult<WebhookEndpoint> {
        self.repo
            .endpoint(tenant_id, id)?
            .ok_or_else(endpoint_not_found)
    }

    pub fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<WebhookEndpoint>> {
        self.repo.endpoints(tenant_id, page)
    }

    /// Changes an endpoint. Disabling it fails its pending deliveries (a replay sends them
    /// again); enabling it clears the failure streak.
    pub fn update(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEndpointId,
        patch: EndpointPatch,
    ) -> DomainResult<WebhookEndpoint> {
        self.change(tenant_id, id, &mut |e, now| {
            patch.apply(e, self.allow_insecure, now)
        })
    }

    /// Replaces the secret; the old one keeps signing for a grace period.
    pub fn rotate_secret(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEndpointId,
    ) -> DomainResult<WebhookEndpoint> {
        self.change(tenant_id, id, &mut |e, now| {
            e.rotate(now);
            Ok(())
        })
    }

    fn change(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEndpointId,
        edit: &mut dyn FnMut(&mut WebhookEndpoint, DateTime<Utc>) -> DomainResult<()>,
    ) -> DomainResult<WebhookEndpoint> {
        self.units.run(&mut || {
            let mut e = self
                .repo
                .lock_endpoint(tenant_id, id)?
                .ok_or_else(endpoint_not_found)?;
            let was = e.status;
            let now = crate::clock::now();
            edit(&mut e, now)?;
            self.repo.save_endpoint(&e)?;
            if was == EndpointStatus::Enabled && e.status == EndpointStatus::Disabled {
                self.repo.fail_pending_deliveries(tenant_id, id, now)?;
            }
            Ok(e)
        })
    }

    pub fn delete(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEndpointId,
    ) -> DomainResult<()> {
        if self.repo.delete_endpoint(tenant_id, id)? {
            Ok(())
        } else {
            Err(endpoint_not_found())
        }
    }

    /// Sends a `ping` event to this endpoint only (enabled or not: a merchant tests an endpoint
    /// before turning it on). Returns the event and its delivery.
    pub fn test(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEndpointId,
    ) -> DomainResult<(WebhookEvent, WebhookDelivery)> {
        self.units.run(&mut || {
            let e = self
                .repo
                .lock_endpoint(tenant_id, id)?
                .ok_or_else(endpoint_not_found)?;
            let event = WebhookEvent::new(
                tenant_id,
                EventType::Ping,
                serde_json::json!({ "webhook_endpoint_id": e.id.as_str() }),
            );
            self.repo.emit_dispatched(&event)?;
            let delivery = WebhookDelivery::due(&event, &e.id, event.created_at);
            self.repo
                .insert_deliveries(std::slice::from_ref(&delivery))?;
            Ok((event, delivery))
        })
    }

    pub fn event(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEventId,
    ) -> DomainResult<WebhookEvent> {
        self.repo
            .event(tenant_id, id)?
            .ok_or_else(WebhookEventId::not_found)
    }

    pub fn events(
        &self,
        tenant_id: &crate::id::TenantId,
        event_type: Option<EventType>,
        page: &PageRequest,
    ) -> DomainResult<Page<WebhookEvent>> {
        self.repo.events(tenant_id, event_type, page)
    }

    pub fn deliveries(
        &self,
        tenant_id: &crate::id::TenantId,
        endpoint_id: &WebhookEndpointId,
        page: &PageRequest,
    ) -> DomainResult<Page<WebhookDelivery>> {
        self.get(tenant_id, endpoint_id)?;
        self.repo.deliveries(tenant_id, endpoint_id, page)
    }

    /// Makes a delivery due now, whatever its state: one more attempt, outside the schedule.
    /// The endpoint must be enabled.
    pub fn retry(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookDeliveryId,
    ) -> DomainResult<WebhookDelivery> {
        self.units.run(&mut || {
            let mut d = self
                .repo
                .lock_delivery(tenant_id, id)?
                .ok_or_else(WebhookDeliveryId::not_found)?;
            let endpoint = self
                .repo
                .endpoint(tenant_id, &d.endpoint_id)?
                .ok_or_else(WebhookDeliveryId::not_found)?;
            if endpoint.status != EndpointStatus::Enabled {
                return Err(disabled());
            }
            let now = crate::clock::now();
            d.status = DeliveryStatus::Pending;
            d.next_attempt_at = Some(now);
            d.updated_at = now;
            self.repo.save_delivery(&d, None)?;
            self.repo
                .delivery(tenant_id, id)?
                .ok_or_else(WebhookDeliveryId::not_found)
        })
    }

    /// Sends the endpoint every event it subscribes to created since `since` again (new
    /// deliveries, the same `webhook-id`s). Returns how many.
    pub fn replay(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WebhookEndpointId,
        since: DateTime<Utc>,
    ) -> DomainResult<usize> {
        let now = crate::clock::now();
        if since < now - REPLAY_WINDOW || since > now {
            return Err(DomainError::validation(
                "since",
                format!("must be within the last {} days", REPLAY_WINDOW.num_days()),
            ));
        }
        self.units.run(&mut || {
            let e = self
                .repo
                .lock_endpoint(tenant_id, id)?
                .ok_or_else(endpoint_not_found)?;
            if e.status != EndpointStatus::Enabled {
                return Err(disabled());
            }
            let deliveries: Vec<_> = self
                .repo
                .events_since(tenant_id, since, REPLAY_LIMIT)?
                .iter()
                .filter(|ev| e.wants(ev.event_type))
                .map(|ev| WebhookDelivery::due(ev, &e.id, now))
                .collect();
            self.repo.insert_deliveries(&deliveries)?;
            Ok(deliveries.len())
        })
    }
}

fn disabled() -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::WebhookEndpointDisabled,
        message: "the webhook endpoint is disabled; enable it first".into(),
    }
}
