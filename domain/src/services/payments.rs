use crate::ErrorCode;
use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};

use crate::audit::{actions, AuditEvent};
use crate::id::{InvoiceId, PaymentId, WalletId};
use crate::invoice::{Invoice, InvoiceStatus};
use crate::money::Currency;
use crate::page::{Page, PageRequest};
use crate::payment::{credits_for, settle, Payment, PaymentMethod, PaymentState, Refund};
use crate::portal_session::PortalSession;
use crate::ports::{
    AuditRepo, InvoiceRepo, PaymentFilter, PaymentRepo, SubscriptionRepo, UnitOfWork, WalletRepo,
};
use crate::scope::Scope;
use crate::services::wallets::{
    active_wallet, check_invariants, check_movement, credit_state, debit_state, Debit, TopUp,
};
use crate::wallet::LotKind;
use crate::{clock, id, DomainError, DomainResult, FieldError};

#[derive(Clone)]
pub struct PaymentService {
    payments: Arc<dyn PaymentRepo>,
    subscriptions: Arc<dyn SubscriptionRepo>,
    invoices: Arc<dyn InvoiceRepo>,
    wallets: Arc<dyn WalletRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
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
    pub fn new(
        payments: Arc<dyn PaymentRepo>,
        subscriptions: Arc<dyn SubscriptionRepo>,
        invoices: Arc<dyn InvoiceRepo>,
        wallets: Arc<dyn WalletRepo>,
        audit: Arc<dyn AuditRepo>,
        units: Arc<dyn UnitOfWork>,
    ) -> Self {
        Self {
            payments,
            subscriptions,
            invoices,
            wallets,
            audit,
            units,
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
        let (invoice, payment) = self.record(tenant_id, invoice_id, p, now)?;
        if let Some(sub) = &invoice.subscription_id {
            if invoice.amount_due().is_zero() {
                crate::services::billing::recover(
                    self.subscriptions.as_ref(),
                    self.invoices.as_ref(),
                    tenant_id,
                    sub,
                    now,
                )?;
            }
        }
        Ok((invoice, payment))
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
        session.require_write()?;
        if !session.permissions.invoice_pay.enabled {
            return Err(DomainError::Forbidden {
                code: ErrorCode::ActionNotAllowed,
                message: "This session may not pay invoices.".into(),
            });
        }
        let now = clock::now();
        self.units.run(&mut || {
            // The customer's own, and never a draft (customers do not see drafts).
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
        self.payments.record_payment(
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
                    created_at: now,
                };
                if p.status == PaymentState::Failed {
                    return Ok(payment);
                }
                let due = inv.amount_due();
                if p.amount > due {
                    return Err(unprocessable(
                        ErrorCode::Overpayment,
                        format!(
                            "the invoice has {} left to pay",
                            crate::money::canonical(&due)
                        ),
                    ));
                }
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
                    debit_state(st, &debit, now)?;
                    st.wallet.updated_at = now;
                    check_invariants(st)?;
                    payment.credits = Some(credits);
                }
                inv.amount_paid += &p.amount;
                settle(inv, false);
                inv.updated_at = now;
                Ok(payment)
            },
        )
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
                        description: inv.number.clone().or_else(|| Some(inv.id.to_string())),
                        reference: Some(refund.id.clone()),
                        idempotency_key: None,
                    };
                    credit_state(st, &credit, now)?;
                    st.wallet.updated_at = now;
                    check_invariants(st)?;
                    refund.credits = Some(credits);
                }
                pay.amount_refunded += &amount;
                inv.amount_paid -= &amount;
                settle(inv, true);
                inv.updated_at = now;
                Ok(refund)
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
