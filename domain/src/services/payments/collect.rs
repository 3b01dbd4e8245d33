//! Billing's collection of a new invoice: from the wallet as far as the credits cover it, and
//! with auto-pay a pending payment through the default method.

use super::*;

impl PaymentService {
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
}
