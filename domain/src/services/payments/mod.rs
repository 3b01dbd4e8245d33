//! Payments of invoices: recorded by the merchant, started by the customer in the portal,
//! collected by billing, settled and refunded. One file per way a payment comes about.

mod collect;
mod portal;
mod record;
mod settle;

use record::{count_toward, within_due};
pub(crate) use settle::refund_in;

use crate::ErrorCode;
use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};

use crate::actor::{Actor, Permission};
use crate::audit::{actions, AuditEvent};
use crate::error::check_text;
use crate::id::{CustomerId, InvoiceId, PaymentId, PaymentMethodId, WalletId};
use crate::invoice::{Invoice, InvoiceStatus};
use crate::money::Currency;
use crate::page::{Page, PageRequest};
use crate::payment::PaymentFilter;
use crate::payment::{credits_for, Payment, PaymentMethod, PaymentState, Refund};
use crate::portal_session::PortalSession;
use crate::ports::{
    AccountRepo, AuditRepo, CustomerRepo, InvoiceRepo, PaymentMethodRepo, PaymentRepo,
    SubscriptionRepo, UnitOfWork, WalletRepo,
};
use crate::scope::{CustomerScope, Scope};
use crate::services::customers::refuse_if_archived;
use crate::services::wallets::active_wallet;
use crate::services::webhooks::Events;
use crate::wallet::LotKind;
use crate::wallet::{check_movement, Debit, TopUp};
use crate::webhook::EventType;
use crate::{clock, id, DomainError, DomainResult, FieldError};

#[derive(Clone)]
pub struct PaymentService {
    payments: Arc<dyn PaymentRepo>,
    customers: Arc<dyn CustomerRepo>,
    subscriptions: Arc<dyn SubscriptionRepo>,
    invoices: Arc<dyn InvoiceRepo>,
    wallets: Arc<dyn WalletRepo>,
    methods: Arc<dyn PaymentMethodRepo>,
    accounts: Arc<dyn AccountRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
    events: Events,
}

/// Repositories payments need.
pub struct PaymentPorts {
    pub payments: Arc<dyn PaymentRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub subscriptions: Arc<dyn SubscriptionRepo>,
    pub invoices: Arc<dyn InvoiceRepo>,
    pub wallets: Arc<dyn WalletRepo>,
    pub methods: Arc<dyn PaymentMethodRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub events: Events,
}

/// How the merchant's backend settles a pending payment its provider reported on.
#[derive(Debug, Clone)]
pub enum Settlement {
    /// The provider collected the money: the payment succeeds and counts toward the invoice.
    Confirm { reference: Option<String> },
    /// The provider could not collect: the payment fails (history only).
    Fail { failure_reason: String },
}

/// How an invoice is paid.
#[derive(Debug, Clone)]
pub enum PaymentSource {
    /// The merchant records a payment it took (any method and outcome).
    Recorded(NewPayment),
    /// From a wallet of the invoice's customer, some or all of what is due.
    Wallet(CustomerPayment),
    /// With a saved method (the customer's default unless named): a pending payment the
    /// merchant's payment page completes.
    SavedMethod(Option<PaymentMethodId>),
}

/// What a customer pays from a wallet in the portal.
#[derive(Debug, Clone, Default)]
pub struct CustomerPayment {
    /// Default: the customer's active wallet in the invoice's currency.
    pub wallet_id: Option<WalletId>,
    /// Default: what is left to pay.
    pub amount: Option<BigDecimal>,
}

pub fn not_found() -> DomainError {
    PaymentId::not_found()
}

fn unprocessable(code: ErrorCode, message: String) -> DomainError {
    DomainError::Unprocessable { code, message }
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub amount: BigDecimal,
    pub method: PaymentMethod,
    /// As the client sent it; a malformed one is a 404 once the rest of the request is valid.
    pub wallet_id: Option<String>,
    pub reference: Option<String>,
    /// `Failed` records an unsuccessful external payment (history only).
    pub status: PaymentState,
    pub failure_reason: Option<String>,
}

/// An amount in the currency: positive, with no more decimals than its minor unit.
fn check_amount(field: &str, amount: &BigDecimal, c: Currency) -> DomainResult<()> {
    if amount <= &BigDecimal::zero() {
        return Err(DomainError::validation(field, "must be greater than zero"));
    }
    if c.round(amount) != *amount {
        return Err(DomainError::validation(
            field,
            format!("has more decimals than {} allows", c.code()),
        ));
    }
    Ok(())
}

impl PaymentService {
    pub fn new(ports: PaymentPorts) -> Self {
        Self {
            payments: ports.payments,
            customers: ports.customers,
            subscriptions: ports.subscriptions,
            invoices: ports.invoices,
            wallets: ports.wallets,
            methods: ports.methods,
            accounts: ports.accounts,
            audit: ports.audit,
            units: ports.units,
            events: ports.events,
        }
    }

    /// Pays an invoice, as `actor` may: the merchant records any payment
    /// ([`PaymentSource::Recorded`]); a customer's session pays one of its own invoices from a
    /// wallet or starts a payment with a saved method, if it grants `invoice_pay` (see
    /// `portal.rs`). Paying a subscription's last open invoice brings a past-due subscription
    /// back to active, in the same transaction.
    pub fn pay(
        &self,
        actor: &Actor<'_>,
        tenant_id: &crate::id::TenantId,
        invoice_id: &InvoiceId,
        source: PaymentSource,
    ) -> DomainResult<(Invoice, Payment)> {
        actor.may(Permission::PayInvoices)?;
        let now = clock::now();
        match (actor, source) {
            (Actor::Customer(session), PaymentSource::Wallet(p)) => {
                self.pay_from_wallet(session, invoice_id, p, now)
            }
            (Actor::Customer(session), PaymentSource::SavedMethod(method)) => {
                self.request_with_method(session, invoice_id, method.as_ref(), now)
            }
            (Actor::Customer(_), PaymentSource::Recorded(_)) => Err(DomainError::Forbidden {
                code: ErrorCode::ActionNotAllowed,
                message: "A customer cannot record a payment.".into(),
            }),
            (Actor::Merchant | Actor::System, PaymentSource::Recorded(p)) => self
                .units
                .run(&mut || self.record_and_recover(tenant_id, invoice_id, p.clone(), now)),
            (Actor::Merchant | Actor::System, _) => Err(DomainError::internal(
                "the merchant's payments are recorded, not started from a session",
            )),
        }
    }

    /// `record`, then, when that paid the invoice off, brings its subscription back from past
    /// due. Inside the caller's unit of work.
    fn record_and_recover(
        &self,
        tenant_id: &crate::id::TenantId,
        invoice_id: &InvoiceId,
        p: NewPayment,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
        let customer = self.hold_subscription_of(tenant_id, invoice_id)?;
        if let Some(customer) = customer {
            refuse_if_archived(self.customers.as_ref(), tenant_id, &customer, "pay")?;
        }
        let (invoice, payment) = self.record(tenant_id, invoice_id, p, now)?;
        self.recover_if_paid(&invoice, now)?;
        Ok((invoice, payment))
    }

    /// Locks the invoice's subscription, if it has one, before anything else a payment locks.
    /// Billing holds a subscription before it locks its invoices and the wallet; a payment that
    /// may bring that subscription back from past due takes them in the same order, so neither
    /// can hold what the other waits for (PostgreSQL would abort one of them as a deadlock).
    /// Returns the invoice's customer (`None`: no such invoice, which the payment then reports).
    fn hold_subscription_of(
        &self,
        tenant_id: &crate::id::TenantId,
        invoice_id: &InvoiceId,
    ) -> DomainResult<Option<CustomerId>> {
        let scope = Scope::account(tenant_id);
        let Some(invoice) = self.invoices.get(&scope, invoice_id)? else {
            return Ok(None);
        };
        if let Some(sub) = &invoice.subscription_id {
            self.subscriptions.lock(&scope, sub)?;
        }
        Ok(Some(invoice.customer_id))
    }

    /// Brings the invoice's subscription back from past due once the invoice is paid off
    /// (reported as `subscription.changed`).
    fn recover_if_paid(
        &self,
        invoice: &Invoice,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<()> {
        let Some(sub) = invoice
            .subscription_id
            .as_ref()
            .filter(|_| invoice.amount_due().is_zero())
        else {
            return Ok(());
        };
        let back = crate::services::recovery::recover(
            self.subscriptions.as_ref(),
            self.invoices.as_ref(),
            &invoice.tenant_id,
            sub,
            now,
        )?;
        match back {
            Some(s) => self.events.subscription(EventType::SubscriptionChanged, &s),
            None => Ok(()),
        }
    }

    /// The events a recorded or settled payment sends: `payment.succeeded`, `.failed` or
    /// `.pending`, and `invoice.paid` when it paid the invoice off. Inside the unit of work that
    /// made the change.
    fn report(&self, invoice: &Invoice, payment: &Payment) -> DomainResult<()> {
        let t = match payment.status {
            PaymentState::Succeeded => EventType::PaymentSucceeded,
            PaymentState::Failed => EventType::PaymentFailed,
            PaymentState::Pending => EventType::PaymentPending,
        };
        self.events.payment(t, payment)?;
        // An invoice billing issues is numbered last; billing reports it paid once numbered.
        let numbered = invoice.number.is_some();
        if payment.status == PaymentState::Succeeded && numbered && invoice.amount_due().is_zero() {
            self.events.invoice(EventType::InvoicePaid, invoice)?;
        }
        Ok(())
    }

    pub fn get(&self, scope: &Scope, id: &PaymentId) -> DomainResult<Payment> {
        self.payments.get(scope, id)?.ok_or_else(not_found)
    }

    pub fn list(
        &self,
        scope: &Scope,
        filter: &PaymentFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Payment>> {
        self.payments.list(scope, filter, page)
    }
}
