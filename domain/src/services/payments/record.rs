//! Recording a payment against an invoice (and debiting the wallet it came from), inside the
//! caller's unit of work.

use super::*;

impl PaymentService {
    /// Records a payment at `now` (what `pay_at` does, without bringing a subscription back).
    pub(crate) fn record(
        &self,
        tenant_id: &crate::id::TenantId,
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
            wallet_id.as_ref(),
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
}

/// 422 `overpayment` when `amount` is more than the invoice has left to pay.
pub(super) fn within_due(inv: &Invoice, amount: &BigDecimal) -> DomainResult<()> {
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
pub(super) fn count_toward(
    inv: &mut Invoice,
    amount: &BigDecimal,
    now: chrono::DateTime<chrono::Utc>,
) {
    inv.amount_paid += amount;
    inv.settle(false);
    inv.updated_at = now;
}
