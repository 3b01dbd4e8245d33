//! After a payment: the merchant settles a pending one (confirmed or failed), or refunds.

use super::*;

impl PaymentService {
    /// Settles a pending payment as the merchant's provider reported it. Confirming counts it
    /// toward the invoice (refused with 422 `overpayment` when the invoice was paid another way
    /// meanwhile, and with 409 `invoice_not_payable` when it was voided: the money is then the
    /// merchant's to return through its provider) and brings a past-due subscription back.
    pub fn settle(
        &self,
        tenant_id: &crate::id::TenantId,
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
            if let Some(pay) = self.payments.get(&scope, payment_id)? {
                self.hold_subscription_of(tenant_id, &pay.invoice_id)?;
            }
            let (invoice, payment) =
                self.payments
                    .settle_payment(tenant_id, payment_id, &mut |pay, inv| {
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

    /// Refunds part or all of a payment; wallet payments get their credits back.
    pub fn refund(
        &self,
        tenant_id: &crate::id::TenantId,
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
                        refund_in(pay, inv, wallet, &amount, reason.clone(), now, &mut moved)
                    })?;
            if let Some((wallet, txs)) = &moved {
                self.events.wallet_movements(wallet, txs)?;
            }
            self.events.payment(EventType::PaymentRefunded, &payment)?;
            Ok((payment, refund))
        })
    }
}

/// Refunds `amount` of a locked payment (its invoice and wallet locked too): the refund to
/// record; a wallet payment's credits go back to the wallet, whose state after is put in
/// `moved` for its events. At most what is left of the payment, and of what the invoice was
/// paid (credit notes may have refunded some of it already).
pub(crate) fn refund_in(
    pay: &mut Payment,
    inv: &mut Invoice,
    wallet: Option<&mut crate::wallet::WalletState>,
    amount: &BigDecimal,
    reason: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
    moved: &mut Option<(crate::wallet::Wallet, Vec<crate::wallet::WalletTransaction>)>,
) -> DomainResult<Refund> {
    if pay.status != PaymentState::Succeeded {
        return Err(DomainError::Conflict {
            code: ErrorCode::PaymentNotRefundable,
            message: "failed payments cannot be refunded".into(),
        });
    }
    check_amount("amount", amount, pay.currency)?;
    let left = &pay.amount - &pay.amount_refunded;
    if *amount > left {
        return Err(unprocessable(
            ErrorCode::RefundExceedsPayment,
            format!(
                "{} of the payment is left to refund",
                crate::money::canonical(&left)
            ),
        ));
    }
    if *amount > inv.amount_paid {
        return Err(unprocessable(
            ErrorCode::RefundExceedsPayment,
            format!(
                "{} of what the invoice was paid is left to refund (credit notes returned the rest)",
                crate::money::canonical(&inv.amount_paid)
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
        reason,
        created_at: now,
    };
    if let Some(st) = wallet {
        let credits = credits_for(amount, &st.wallet.conversion_rate);
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
        st.credit(&credit, now)?;
        st.wallet.updated_at = now;
        st.check()?;
        *moved = Some((st.wallet.clone(), st.txs.clone()));
        refund.credits = Some(credits);
    }
    pay.amount_refunded += amount;
    inv.amount_paid -= amount;
    inv.settle(true);
    inv.updated_at = now;
    Ok(refund)
}
