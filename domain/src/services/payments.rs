use crate::ErrorCode;
use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};

use crate::audit::{actions, AuditEvent};
use crate::error::check_text;
use crate::id::{CustomerId, InvoiceId, PaymentId, PaymentMethodId, WalletId};
use crate::invoice::{Invoice, InvoiceStatus};
use crate::money::Currency;
use crate::page::{Page, PageRequest};
use crate::payment::{credits_for, settle, Payment, PaymentMethod, PaymentState, Refund};
use crate::portal_session::PortalSession;
use crate::ports::{
    AccountRepo, AuditRepo, CustomerRepo, InvoiceRepo, PaymentFilter, PaymentMethodRepo,
    PaymentRepo, SubscriptionRepo, UnitOfWork, WalletRepo,
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

/// What a customer pays from the portal.
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

    pub fn pay(
        &self,
        tenant_id: &str,
        invoice_id: &InvoiceId,
        p: NewPayment,
    ) -> DomainResult<(Invoice, Payment)> {
        self.pay_at(tenant_id, invoice_id, p, clock::now())
    }

    /// Records a payment made at `now`. Paying a subscription's last open invoice brings a
    /// past-due subscription back to active, in the same transaction.
    pub fn pay_at(
        &self,
        tenant_id: &str,
        invoice_id: &InvoiceId,
        p: NewPayment,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
        self.units
            .run(&mut || self.record_and_recover(tenant_id, invoice_id, p.clone(), now))
    }

    /// `record`, then, when that paid the invoice off, brings its subscription back from past
    /// due. Inside the caller's unit of work.
    fn record_and_recover(
        &self,
        tenant_id: &str,
        invoice_id: &InvoiceId,
        p: NewPayment,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
        let customer = self.hold_subscription_of(tenant_id, invoice_id.as_str())?;
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
        tenant_id: &str,
        invoice_id: &str,
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
        let back = crate::services::billing::recover(
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

    /// Pays one of the session customer's finalized invoices from their wallet, if the
    /// session's `invoice_pay` permission allows it: the merchant's wallet payment (same
    /// guards, same debit, same recovery of a past-due subscription), in one transaction and
    /// audited. Without `wallet_id`, the customer's active wallet in the invoice's currency;
    /// without `amount`, what is left to pay.
    pub fn pay_as_customer(
        &self,
        session: &PortalSession,
        invoice_id: &InvoiceId,
        p: CustomerPayment,
    ) -> DomainResult<(Invoice, Payment)> {
        may_pay(session)?;
        let now = clock::now();
        self.units.run(&mut || {
            let invoice = self.payable_by(session, invoice_id)?;
            let wallet_id = match &p.wallet_id {
                Some(w) => w.clone(),
                None => {
                    active_wallet(self.wallets.as_ref(), &session.customer(), invoice.currency)?
                        .map(|w| w.id)
                        .ok_or_else(|| {
                            DomainError::validation(
                                "wallet_id",
                                format!("the customer has no active {} wallet", invoice.currency),
                            )
                        })?
                }
            };
            let payment = NewPayment {
                amount: p.amount.clone().unwrap_or_else(|| invoice.amount_due()),
                method: PaymentMethod::Wallet,
                wallet_id: Some(wallet_id.to_string()),
                reference: Some("customer_portal".into()),
                status: PaymentState::Succeeded,
                failure_reason: None,
            };
            let (invoice, payment) =
                self.record_and_recover(&session.tenant_id, invoice_id, payment, now)?;
            self.audit.record(
                &AuditEvent::by_session(session, actions::INVOICE_PAID)
                    .detail("invoice_id", invoice.id.as_str())
                    .detail("payment_id", payment.id.as_str()),
            )?;
            Ok((invoice, payment))
        })
    }

    /// One of the session customer's invoices they may pay: theirs, never a draft (customers do
    /// not see drafts), and not already paid.
    fn payable_by(&self, session: &PortalSession, invoice_id: &InvoiceId) -> DomainResult<Invoice> {
        let invoice = self
            .invoices
            .get(&session.scope(), invoice_id)?
            .filter(|i| i.status != InvoiceStatus::Draft)
            .ok_or_else(InvoiceId::not_found)?;
        if invoice.status == InvoiceStatus::Finalized && invoice.amount_due().is_zero() {
            return Err(DomainError::Conflict {
                code: ErrorCode::InvoiceNotPayable,
                message: "The invoice is paid.".into(),
            });
        }
        Ok(invoice)
    }

    /// Starts paying one of the session customer's invoices with a saved payment method
    /// (`method`, or their default), if the session's `invoice_pay` permission allows it: a
    /// `pending` payment of what is left to pay, with the URL of the merchant's payment page
    /// for it (the account's `payment_url_template`). The merchant's backend confirms or fails
    /// it when its provider reports. An invoice has at most one pending payment: asking again
    /// returns the same one. Audited as `invoice.payment_requested`.
    pub fn request_as_customer(
        &self,
        session: &PortalSession,
        invoice_id: &InvoiceId,
        method: Option<&PaymentMethodId>,
    ) -> DomainResult<(Invoice, Payment)> {
        may_pay(session)?;
        let template = self
            .accounts
            .get(&session.tenant_id)?
            .and_then(|a| a.settings.payment_url_template)
            .ok_or_else(|| DomainError::Conflict {
                code: ErrorCode::OnlinePaymentUnavailable,
                message: "The merchant has not set up online payment: pay from a wallet.".into(),
            })?;
        let now = clock::now();
        self.units.run(&mut || {
            let invoice = self.payable_by(session, invoice_id)?;
            let pending = PaymentFilter {
                invoice_id: Some(invoice.id.to_string()),
                status: Some(PaymentState::Pending),
                ..Default::default()
            };
            let one = PageRequest {
                limit: 1,
                after: None,
                binding: None,
            };
            let earlier = self.payments.list(&session.scope(), &pending, &one)?;
            if let Some(p) = earlier.items.into_iter().next() {
                return Ok((invoice, p));
            }
            if invoice.status != InvoiceStatus::Finalized {
                return Err(DomainError::Conflict {
                    code: ErrorCode::InvoiceNotPayable,
                    message: "only finalized invoices can be paid".into(),
                });
            }
            let owner = session.customer();
            let chosen = match method {
                Some(id) => self
                    .methods
                    .get(&owner, id)?
                    .ok_or_else(PaymentMethodId::not_found)?,
                None => self.methods.default_of(&owner)?.ok_or_else(|| {
                    DomainError::validation(
                        "payment_method_id",
                        "the customer has no default payment method: name one",
                    )
                })?,
            };
            chosen.usable_at(now)?;
            let mut made = None;
            let attempt = self.units.attempt(&mut || {
                made =
                    Some(self.request(&session.tenant_id, &invoice.id, &chosen, &template, now)?);
                Ok(())
            });
            let (invoice, payment) = match (attempt, made) {
                (Ok(()), Some(made)) => made,
                // A racing request made the invoice's one pending payment after this one looked
                // (the unique key waited for its commit): that payment is the answer to both.
                (
                    Err(DomainError::Conflict {
                        code: ErrorCode::PaymentPending,
                        ..
                    }),
                    _,
                ) => {
                    let p = self.payments.list(&session.scope(), &pending, &one)?;
                    let p = p.items.into_iter().next().ok_or_else(|| {
                        DomainError::internal("a pending payment collided but is not there")
                    })?;
                    return Ok((self.payable_by(session, invoice_id)?, p));
                }
                (Err(e), _) => return Err(e),
                (Ok(()), None) => unreachable!("a request that succeeded made a payment"),
            };
            self.audit.record(
                &AuditEvent::by_session(session, actions::INVOICE_PAYMENT_REQUESTED)
                    .detail("invoice_id", invoice.id.as_str())
                    .detail("payment_id", payment.id.as_str()),
            )?;
            Ok((invoice, payment))
        })
    }

    /// A pending payment of what is left of `invoice_id` through `method`, with its page from
    /// `template` (inside the caller's unit of work). The invoice is checked again under its
    /// lock: voided or paid meanwhile → 409 `invoice_not_payable`.
    fn request(
        &self,
        tenant_id: &str,
        invoice_id: &InvoiceId,
        method: &crate::payment_method::PaymentMethod,
        template: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
        let (invoice, payment) =
            self.payments
                .record_payment(tenant_id, invoice_id.as_str(), None, &mut |inv, _| {
                    let amount = inv.amount_due();
                    if inv.status != InvoiceStatus::Finalized || amount.is_zero() {
                        return Err(DomainError::Conflict {
                            code: ErrorCode::InvoiceNotPayable,
                            message: "The invoice is no longer open.".into(),
                        });
                    }
                    let id = PaymentId::new();
                    let url = crate::account::fill_template(
                        template,
                        &[
                            ("invoice_id", inv.id.as_str()),
                            ("payment_id", id.as_str()),
                            ("customer_id", inv.customer_id.as_str()),
                            ("payment_method_id", method.id.as_str()),
                            ("amount", &inv.currency.display(&amount)),
                            ("currency", inv.currency.code()),
                        ],
                    );
                    Ok(Payment {
                        id,
                        tenant_id: inv.tenant_id.clone(),
                        invoice_id: inv.id.clone(),
                        customer_id: inv.customer_id.clone(),
                        amount,
                        currency: inv.currency,
                        method: PaymentMethod::SavedMethod,
                        status: PaymentState::Pending,
                        wallet_id: None,
                        credits: None,
                        reference: None,
                        failure_reason: None,
                        amount_refunded: BigDecimal::zero(),
                        payment_method_id: Some(method.id.clone()),
                        payment_url: Some(url),
                        created_at: now,
                    })
                })?;
        self.report(&invoice, &payment)?;
        Ok((invoice, payment))
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

    /// Pays `invoice` from the customer's active wallet in its currency as far as the credits
    /// cover it (to the minor unit, rounded down), inside the caller's unit of work. Returns the
    /// invoice as it stands after.
    pub(crate) fn collect_from_wallet(
        &self,
        invoice: &Invoice,
        at: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Invoice> {
        let due = invoice.amount_due();
        let theirs = CustomerScope::new(&invoice.tenant_id, &invoice.customer_id);
        let wallet = match due.is_zero() {
            true => None,
            false => active_wallet(self.wallets.as_ref(), &theirs, invoice.currency)?,
        };
        let Some(wallet) = wallet else {
            return Ok(invoice.clone());
        };
        let covered = wallet.value_of(&wallet.balance).with_scale_round(
            i64::from(invoice.currency.minor_units()),
            bigdecimal::RoundingMode::Down,
        );
        let amount = covered.min(due);
        if amount <= BigDecimal::zero() {
            return Ok(invoice.clone());
        }
        // Recorded without `pay_at`'s recovery step: billing sets the subscription's state.
        let (paid, _) = self.record(
            &invoice.tenant_id,
            &invoice.id,
            NewPayment {
                amount,
                method: PaymentMethod::Wallet,
                wallet_id: Some(wallet.id.to_string()),
                reference: Some("auto_collection".into()),
                status: PaymentState::Succeeded,
                failure_reason: None,
            },
            at,
        )?;
        Ok(paid)
    }

    /// Auto-pay for a just-issued invoice of a customer who has it on (inside the caller's unit
    /// of work): the wallet first, then what is left as a pending payment through their default
    /// payment method, when that is usable and the merchant has a payment page
    /// (`payment_url_template`); the merchant's backend charges it and confirms or fails it.
    /// Returns the invoice as it stands after.
    pub(crate) fn auto_pay(
        &self,
        invoice: &Invoice,
        at: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Invoice> {
        let paid = self.collect_from_wallet(invoice, at)?;
        if paid.amount_due().is_zero() {
            return Ok(paid);
        }
        let owner = CustomerScope::new(&paid.tenant_id, &paid.customer_id);
        let Some(method) = self.methods.default_of(&owner)? else {
            return Ok(paid);
        };
        if method.usable_at(at).is_err() {
            return Ok(paid);
        }
        let template = self
            .accounts
            .get(&paid.tenant_id)?
            .and_then(|a| a.settings.payment_url_template);
        match template {
            Some(t) => Ok(self.request(&paid.tenant_id, &paid.id, &method, &t, at)?.0),
            None => Ok(paid),
        }
    }

    /// Settles a pending payment as the merchant's provider reported it. Confirming counts it
    /// toward the invoice (refused with 422 `overpayment` when the invoice was paid another way
    /// meanwhile, and with 409 `invoice_not_payable` when it was voided: the money is then the
    /// merchant's to return through its provider) and brings a past-due subscription back.
    pub fn settle(
        &self,
        tenant_id: &str,
        payment_id: &PaymentId,
        how: Settlement,
    ) -> DomainResult<(Invoice, Payment)> {
        let mut errs = Vec::new();
        match &how {
            Settlement::Fail { failure_reason } => check_text(
                &mut errs,
                "failure_reason",
                Some(failure_reason),
                500,
                false,
            ),
            Settlement::Confirm { reference } => {
                check_text(&mut errs, "reference", reference.as_ref(), 255, false)
            }
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        let now = clock::now();
        self.units.run(&mut || {
            let scope = Scope::account(tenant_id);
            if let Some(pay) = self.payments.get(&scope, payment_id.as_str())? {
                self.hold_subscription_of(tenant_id, pay.invoice_id.as_str())?;
            }
            let (invoice, payment) =
                self.payments
                    .settle_payment(tenant_id, payment_id.as_str(), &mut |pay, inv| {
                        if pay.status != PaymentState::Pending {
                            return Err(DomainError::Conflict {
                                code: ErrorCode::PaymentNotPending,
                                message: format!("The payment is {}.", pay.status.as_str()),
                            });
                        }
                        match &how {
                            Settlement::Fail { failure_reason } => {
                                pay.status = PaymentState::Failed;
                                pay.failure_reason = Some(failure_reason.clone());
                            }
                            Settlement::Confirm { reference } => {
                                if inv.status != InvoiceStatus::Finalized {
                                    return Err(DomainError::Conflict {
                                        code: ErrorCode::InvoiceNotPayable,
                                        message: format!("The invoice is {}.", inv.status.as_str()),
                                    });
                                }
                                within_due(inv, &pay.amount)?;
                                pay.status = PaymentState::Succeeded;
                                if reference.is_some() {
                                    pay.reference = reference.clone();
                                }
                                count_toward(inv, &pay.amount, now);
                            }
                        }
                        Ok(())
                    })?;
            self.report(&invoice, &payment)?;
            self.recover_if_paid(&invoice, now)?;
            Ok((invoice, payment))
        })
    }

    /// Records a payment at `now` (what `pay_at` does, without bringing a subscription back).
    pub(crate) fn record(
        &self,
        tenant_id: &str,
        invoice_id: &InvoiceId,
        p: NewPayment,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
        let mut errs = Vec::new();
        match (p.method, &p.wallet_id) {
            (PaymentMethod::Wallet, None) => errs.push(FieldError::new(
                "wallet_id",
                "is required for wallet payments",
            )),
            (PaymentMethod::External, Some(_)) => {
                errs.push(FieldError::new("wallet_id", "is only for wallet payments"))
            }
            _ => {}
        }
        if p.method == PaymentMethod::Wallet && p.status == PaymentState::Failed {
            errs.push(FieldError::new(
                "status",
                "only external payments can be recorded as failed",
            ));
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        check_movement(
            &p.amount,
            None,
            p.failure_reason.as_deref(),
            p.reference.as_deref(),
        )?;
        let wallet_id = p
            .wallet_id
            .as_deref()
            .map(crate::id::parse::<WalletId>)
            .transpose()?;
        let mut moved = None;
        let (invoice, payment) = self.payments.record_payment(
            tenant_id,
            invoice_id,
            wallet_id.as_ref().map(WalletId::as_str),
            &mut |inv, wallet| {
                if inv.status != InvoiceStatus::Finalized {
                    return Err(DomainError::Conflict {
                        code: ErrorCode::InvoiceNotPayable,
                        message: "only finalized invoices can be paid".into(),
                    });
                }
                check_amount("amount", &p.amount, inv.currency)?;
                let mut payment = Payment {
                    id: crate::id::PaymentId::new(),
                    tenant_id: inv.tenant_id.clone(),
                    invoice_id: inv.id.clone(),
                    customer_id: inv.customer_id.clone(),
                    amount: p.amount.clone(),
                    currency: inv.currency,
                    method: p.method,
                    status: p.status,
                    wallet_id: wallet_id.clone(),
                    credits: None,
                    reference: p.reference.clone(),
                    failure_reason: p.failure_reason.clone(),
                    amount_refunded: BigDecimal::zero(),
                    payment_method_id: None,
                    payment_url: None,
                    created_at: now,
                };
                if p.status == PaymentState::Failed {
                    return Ok(payment);
                }
                within_due(inv, &p.amount)?;
                if let Some(st) = wallet {
                    if st.wallet.customer_id != inv.customer_id {
                        return Err(crate::services::wallets::not_found());
                    }
                    if st.wallet.currency != inv.currency {
                        return Err(unprocessable(
                            ErrorCode::CurrencyMismatch,
                            format!("the wallet holds {} credits", st.wallet.currency),
                        ));
                    }
                    let credits = credits_for(&p.amount, &st.wallet.conversion_rate);
                    let debit = Debit {
                        credits: credits.clone(),
                        reason: Some("invoice_payment".into()),
                        description: inv.number.clone().or_else(|| Some(inv.id.to_string())),
                        reference: Some(payment.id.to_string()),
                        idempotency_key: None,
                    };
                    st.debit(&debit, now)?;
                    st.wallet.updated_at = now;
                    st.check()?;
                    moved = Some((st.wallet.clone(), st.txs.clone()));
                    payment.credits = Some(credits);
                }
                count_toward(inv, &p.amount, now);
                Ok(payment)
            },
        )?;
        if let Some((wallet, txs)) = &moved {
            self.events.wallet_movements(wallet, txs)?;
        }
        self.report(&invoice, &payment)?;
        Ok((invoice, payment))
    }

    /// Refunds part or all of a payment; wallet payments get their credits back.
    pub fn refund(
        &self,
        tenant_id: &str,
        payment_id: &PaymentId,
        amount: BigDecimal,
        reason: Option<String>,
    ) -> DomainResult<(Payment, Refund)> {
        check_movement(&amount, None, reason.as_deref(), None)?;
        let now = clock::now();
        self.units.run(&mut || {
            let mut moved = None;
            let (payment, refund) =
                self.payments
                    .record_refund(tenant_id, payment_id, &mut |pay, inv, wallet| {
                        if pay.status != PaymentState::Succeeded {
                            return Err(DomainError::Conflict {
                                code: ErrorCode::PaymentNotRefundable,
                                message: "failed payments cannot be refunded".into(),
                            });
                        }
                        check_amount("amount", &amount, pay.currency)?;
                        let left = &pay.amount - &pay.amount_refunded;
                        if amount > left {
                            return Err(unprocessable(
                                ErrorCode::RefundExceedsPayment,
                                format!(
                                    "{} of the payment is left to refund",
                                    crate::money::canonical(&left)
                                ),
                            ));
                        }
                        let mut refund = Refund {
                            id: id::new_id(id::REFUND),
                            tenant_id: pay.tenant_id.clone(),
                            payment_id: pay.id.clone(),
                            invoice_id: pay.invoice_id.clone(),
                            amount: amount.clone(),
                            credits: None,
                            reason: reason.clone(),
                            created_at: now,
                        };
                        if let Some(st) = wallet {
                            let credits = credits_for(&amount, &st.wallet.conversion_rate);
                            let credit = TopUp {
                                credits: credits.clone(),
                                kind: LotKind::Purchased,
                                priority: None,
                                expires_at: None,
                                reason: Some("refund".into()),
                                description: inv
                                    .number
                                    .clone()
                                    .or_else(|| Some(inv.id.to_string())),
                                reference: Some(refund.id.clone()),
                                idempotency_key: None,
                            };
                            st.credit(&credit, now)?;
                            st.wallet.updated_at = now;
                            st.check()?;
                            moved = Some((st.wallet.clone(), st.txs.clone()));
                            refund.credits = Some(credits);
                        }
                        pay.amount_refunded += &amount;
                        inv.amount_paid -= &amount;
                        settle(inv, true);
                        inv.updated_at = now;
                        Ok(refund)
                    })?;
            if let Some((wallet, txs)) = &moved {
                self.events.wallet_movements(wallet, txs)?;
            }
            self.events.payment(EventType::PaymentRefunded, &payment)?;
            Ok((payment, refund))
        })
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

/// A portal session may pay: not an admin preview, and `invoice_pay` granted.
fn may_pay(session: &PortalSession) -> DomainResult<()> {
    session.require_write()?;
    if !session.permissions.invoice_pay.enabled {
        return Err(DomainError::Forbidden {
            code: ErrorCode::ActionNotAllowed,
            message: "This session may not pay invoices.".into(),
        });
    }
    Ok(())
}

/// 422 `overpayment` when `amount` is more than the invoice has left to pay.
fn within_due(inv: &Invoice, amount: &BigDecimal) -> DomainResult<()> {
    let due = inv.amount_due();
    if amount > &due {
        return Err(unprocessable(
            ErrorCode::Overpayment,
            format!(
                "the invoice has {} left to pay",
                crate::money::canonical(&due)
            ),
        ));
    }
    Ok(())
}

/// A succeeded payment of `amount` counts toward the invoice.
fn count_toward(inv: &mut Invoice, amount: &BigDecimal, now: chrono::DateTime<chrono::Utc>) {
    inv.amount_paid += amount;
    settle(inv, false);
    inv.updated_at = now;
}
