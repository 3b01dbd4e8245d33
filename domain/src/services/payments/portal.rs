//! What a customer starts from the portal: paying a bill from their wallet, or asking to pay
//! it with a saved method (a pending payment and the merchant's payment page).

use super::*;

impl PaymentService {
    /// Pays one of the session customer's finalized invoices from their wallet: the merchant's
    /// wallet payment (same guards, same debit, same recovery of a past-due subscription), in
    /// one transaction and audited. Without `wallet_id`, the customer's active wallet in the
    /// invoice's currency; without `amount`, what is left to pay.
    pub(super) fn pay_from_wallet(
        &self,
        session: &PortalSession,
        invoice_id: &InvoiceId,
        p: CustomerPayment,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
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
    pub(super) fn payable_by(
        &self,
        session: &PortalSession,
        invoice_id: &InvoiceId,
    ) -> DomainResult<Invoice> {
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
    /// (`method`, or their default): a `pending` payment of what is left to pay, with the URL of the merchant's payment page
    /// for it (the account's `payment_url_template`). The merchant's backend confirms or fails
    /// it when its provider reports. An invoice has at most one pending payment: asking again
    /// returns the same one. Audited as `invoice.payment_requested`.
    pub(super) fn request_with_method(
        &self,
        session: &PortalSession,
        invoice_id: &InvoiceId,
        method: Option<&PaymentMethodId>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
        let template = self
            .accounts
            .get(&session.tenant_id)?
            .and_then(|a| a.settings.payment_url_template)
            .ok_or_else(|| DomainError::Conflict {
                code: ErrorCode::OnlinePaymentUnavailable,
                message: "The merchant has not set up online payment: pay from a wallet.".into(),
            })?;
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
    pub(super) fn request(
        &self,
        tenant_id: &crate::id::TenantId,
        invoice_id: &InvoiceId,
        method: &crate::payment_method::PaymentMethod,
        template: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Invoice, Payment)> {
        let (invoice, payment) =
            self.payments
                .record_payment(tenant_id, invoice_id, None, &mut |inv, _| {
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
}
