//! Payments against finalized invoices, and their refunds.
//!
//! `wallet` payments debit the customer's wallet (same currency) through its ledger, in the same
//! database transaction that records the payment and updates the invoice; the credits taken are
//! amount ÷ conversion rate, rounded up to 18 decimals (so a payment is never under-collected).
//! `external` payments record money received elsewhere; they may be recorded as `failed`, which
//! changes no amount but shows in the history. Over-payment is refused. Refunds of wallet
//! payments return the credits to the wallet as a new, non-expiring purchased lot.

use bigdecimal::{BigDecimal, RoundingMode};
use chrono::{DateTime, Utc};

use crate::id::{CustomerId, InvoiceId, PaymentId, PaymentMethodId, WalletId};
use crate::money::Currency;

crate::text_enum! {
    pub enum PaymentMethod {
        Wallet,
        External,
        /// Through one of the customer's saved payment methods, collected by the merchant's
        /// payment provider (the payment is `pending` until the merchant confirms or fails it).
        #[serde(rename = "payment_method")]
        #[strum(serialize = "payment_method")]
        SavedMethod,
    }
}

crate::text_enum! {
    pub enum PaymentState {
        /// Requested from the portal with a saved payment method; counts toward nothing until
        /// the merchant confirms it.
        Pending,
        Succeeded,
        Failed,
    }
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: PaymentId,
    pub tenant_id: crate::id::TenantId,
    pub invoice_id: InvoiceId,
    pub customer_id: CustomerId,
    pub amount: BigDecimal,
    pub currency: Currency,
    pub method: PaymentMethod,
    pub status: PaymentState,
    pub wallet_id: Option<WalletId>,
    /// Credits debited (wallet payments).
    pub credits: Option<BigDecimal>,
    pub reference: Option<String>,
    pub failure_reason: Option<String>,
    pub amount_refunded: BigDecimal,
    /// The saved payment method a `payment_method` payment uses.
    pub payment_method_id: Option<PaymentMethodId>,
    /// Where the customer completes a pending payment (the account's payment URL template).
    pub payment_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub tenant_id: crate::id::TenantId,
    pub payment_id: PaymentId,
    pub invoice_id: InvoiceId,
    pub amount: BigDecimal,
    /// Credits returned (wallet payments).
    pub credits: Option<BigDecimal>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Credits that pay `amount` at `rate`: rounded up to 18 decimals.
pub fn credits_for(amount: &BigDecimal, rate: &BigDecimal) -> BigDecimal {
    (amount / rate)
        .with_scale_round(18, RoundingMode::Up)
        .normalized()
}

/// Runs with the invoice (and the paying wallet, if any) locked; returns the payment to record.
pub type PaymentChange<'a> = &'a mut dyn FnMut(
    &mut crate::invoice::Invoice,
    Option<&mut crate::wallet::WalletState>,
) -> crate::DomainResult<crate::payment::Payment>;

/// Runs with the payment, its invoice (and wallet) locked; returns the refund to record.
pub type RefundChange<'a> = &'a mut dyn FnMut(
    &mut crate::payment::Payment,
    &mut crate::invoice::Invoice,
    Option<&mut crate::wallet::WalletState>,
) -> crate::DomainResult<crate::payment::Refund>;

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub customer_id: Option<String>,
    pub invoice_id: Option<String>,
    pub method: Option<crate::payment::PaymentMethod>,
    pub status: Option<crate::payment::PaymentState>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn credits_round_up() {
        let d = |s: &str| BigDecimal::from_str(s).unwrap();
        assert_eq!(credits_for(&d("10"), &d("0.01")), d("1000"));
        assert_eq!(credits_for(&d("1"), &d("3")), d("0.333333333333333334"));
    }
}
