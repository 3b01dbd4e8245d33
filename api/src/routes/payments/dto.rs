//! Payments and refunds as clients send and see them; money in the currency's minor units.

use chrono::{DateTime, Utc};
use domain::money::{canonical, Currency};
use domain::payment::PaymentFilter;
use domain::payment::{Payment, PaymentMethod, PaymentState, Refund};
use domain::services::payments::PaymentSource;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{decimal, list_type};
use crate::routes::invoices::dto::InvoiceView;

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    #[schema(example = "pay_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub invoice_id: String,
    pub customer_id: String,
    #[schema(example = "25.00")]
    pub amount: String,
    pub currency: String,
    /// `wallet`, `external` or `payment_method` (a saved payment method, collected by the
    /// merchant's payment provider).
    #[schema(value_type = crate::schema::PaymentMethodKind)]
    pub method: &'static str,
    /// `pending` (a `payment_method` payment the merchant has not confirmed or failed yet: it
    /// counts toward nothing), `succeeded` or `failed`.
    #[schema(value_type = crate::schema::PaymentState)]
    pub status: &'static str,
    pub wallet_id: Option<String>,
    /// The saved payment method of a `payment_method` payment.
    pub payment_method_id: Option<String>,
    /// Where the customer completes a `payment_method` payment: the merchant's payment page.
    pub payment_url: Option<String>,
    /// Credits debited from the wallet.
    pub credits: Option<String>,
    pub reference: Option<String>,
    pub failure_reason: Option<String>,
    pub amount_refunded: String,
    pub created_at: DateTime<Utc>,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        let c = p.currency;
        Self {
            amount: c.display(&p.amount),
            amount_refunded: c.display(&p.amount_refunded),
            credits: p.credits.as_ref().map(canonical),
            method: p.method.as_str(),
            status: p.status.as_str(),
            id: p.id.into(),
            invoice_id: p.invoice_id.into(),
            customer_id: p.customer_id.into(),
            currency: p.currency.to_string(),
            wallet_id: p.wallet_id.map(Into::into),
            payment_method_id: p.payment_method_id.map(Into::into),
            payment_url: p.payment_url,
            reference: p.reference,
            failure_reason: p.failure_reason,
            created_at: p.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    #[schema(example = "re_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub payment_id: String,
    pub invoice_id: String,
    pub amount: String,
    /// Credits returned to the wallet.
    pub credits: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl RefundView {
    /// Money as the payment shows it: in its currency's minor units (`30.00`, not `30`).
    pub fn new(r: Refund, c: Currency) -> Self {
        Self {
            amount: c.display(&r.amount),
            credits: r.credits.as_ref().map(canonical),
            id: r.id,
            payment_id: r.payment_id.into(),
            invoice_id: r.invoice_id.into(),
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

list_type!(PaymentList, PaymentView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "25.00", "method": "wallet", "wallet_id": "wal_01jd3x6v9f5m2q8r7t4w0y1z3a"}))]
pub struct CreatePayment {
    /// Decimal string in the invoice currency, at most the amount due.
    pub amount: String,
    /// `wallet` (debits `wallet_id`, same currency) or `external` (money received elsewhere).
    #[schema(value_type = crate::schema::RecordedPaymentMethod)]
    pub method: String,
    pub wallet_id: Option<String>,
    pub reference: Option<String>,
    /// `succeeded` (default) or, for external payments, `failed` (recorded in the history only).
    #[schema(value_type = Option<crate::schema::RecordedPaymentStatus>)]
    pub status: Option<String>,
    pub failure_reason: Option<String>,
}

/// Where the customer pays from. `wallet`: the session customer's wallet (`wallet_id`, or their
/// active wallet in the invoice's currency) is debited at once. `payment_method`: a `pending`
/// payment of the amount due through a saved method (`payment_method_id`, or their default),
/// with the `payment_url` of the merchant's payment page; the merchant confirms or fails it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source": "wallet"}))]
pub struct PortalPayInvoice {
    /// `wallet` or `payment_method`.
    #[schema(value_type = crate::schema::PaySource)]
    pub source: String,
    /// `wallet` only: one of the customer's wallets; default: their active wallet in the
    /// invoice's currency.
    pub wallet_id: Option<String>,
    /// `wallet` only: decimal string, at most the amount due; default: the amount due.
    pub amount: Option<String>,
    /// `payment_method` only: one of the customer's active methods; default: their default.
    pub payment_method_id: Option<String>,
}

impl CreatePayment {
    /// The payment the merchant records: a wallet or external payment, succeeded or failed
    /// (pending payments come from the portal only).
    pub fn into_new(self) -> Result<PaymentSource, ApiError> {
        use domain::payment::{PaymentMethod, PaymentState};
        let bad = |f: &str, m: String| ApiError::validation(vec![FieldError::new(f, m)]);
        let one_of = |set: &[&str]| format!("must be {}", set.join(" or "));
        let method = PaymentMethod::parse(&self.method)
            .filter(|m| *m != PaymentMethod::SavedMethod)
            .ok_or_else(|| {
                bad(
                    "method",
                    one_of(crate::schema::RecordedPaymentMethod::VALUES),
                )
            })?;
        let status = match self.status.as_deref() {
            None => PaymentState::Succeeded,
            Some(s) => PaymentState::parse(s)
                .filter(|s| *s != PaymentState::Pending)
                .ok_or_else(|| {
                    bad(
                        "status",
                        one_of(crate::schema::RecordedPaymentStatus::VALUES),
                    )
                })?,
        };
        Ok(PaymentSource::Recorded(
            domain::services::payments::NewPayment {
                amount: decimal("amount", &self.amount)?,
                method,
                wallet_id: self.wallet_id,
                reference: self.reference,
                status,
                failure_reason: self.failure_reason,
            },
        ))
    }
}

impl PortalPayInvoice {
    /// The choice the body makes; a field of the other source is refused, naming it.
    pub fn into_request(self) -> Result<PaymentSource, ApiError> {
        let source = self.source;
        let misplaced = |fields: &[(&str, bool)]| -> Vec<FieldError> {
            fields
                .iter()
                .filter(|(_, given)| *given)
                .map(|(field, _)| {
                    FieldError::new(*field, format!("is not used with source {source}"))
                })
                .collect()
        };
        let errors = match source.as_str() {
            "wallet" => misplaced(&[("payment_method_id", self.payment_method_id.is_some())]),
            "payment_method" => misplaced(&[
                ("wallet_id", self.wallet_id.is_some()),
                ("amount", self.amount.is_some()),
            ]),
            _ => vec![FieldError::new(
                "source",
                format!("must be {}", crate::schema::PaySource::VALUES.join(" or ")),
            )],
        };
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        if source == "payment_method" {
            let method = self
                .payment_method_id
                .as_deref()
                .map(domain::id::parse)
                .transpose()?;
            return Ok(PaymentSource::SavedMethod(method));
        }
        Ok(PaymentSource::Wallet(
            domain::services::payments::CustomerPayment {
                wallet_id: self
                    .wallet_id
                    .as_deref()
                    .map(domain::id::parse)
                    .transpose()?,
                amount: self
                    .amount
                    .as_deref()
                    .map(|a| decimal("amount", a))
                    .transpose()?,
            },
        ))
    }
}

/// The provider collected a pending payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reference": "pi_3QxZ2bLkd8"}))]
pub struct ConfirmPayment {
    /// The provider's id of the charge (replaces none if absent).
    pub reference: Option<String>,
}

/// The provider could not collect a pending payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"failure_reason": "card_declined"}))]
pub struct FailPayment {
    pub failure_reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Decimal string, at most what is left of the payment.
    pub amount: String,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentResult {
    pub payment: PaymentView,
    pub invoice: InvoiceView,
}

impl From<(domain::invoice::Invoice, Payment)> for PaymentResult {
    fn from((invoice, payment): (domain::invoice::Invoice, Payment)) -> Self {
        Self {
            payment: payment.into(),
            invoice: invoice.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResult {
    pub refund: RefundView,
    pub payment: PaymentView,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListPayments {
    pub customer_id: Option<String>,
    pub invoice_id: Option<String>,
    /// `wallet`, `external` or `payment_method`.
    #[param(value_type = Option<crate::schema::PaymentMethodKind>)]
    pub method: Option<String>,
    /// `pending`, `succeeded` or `failed`.
    #[param(value_type = Option<crate::schema::PaymentState>)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListPayments {
    pub fn filter(&self) -> Result<PaymentFilter, ApiError> {
        let bad = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
        Ok(PaymentFilter {
            customer_id: self.customer_id.clone(),
            invoice_id: self.invoice_id.clone(),
            method: match self.method.as_deref() {
                None => None,
                Some(m) => {
                    Some(PaymentMethod::parse(m).ok_or_else(|| {
                        bad("method", "must be wallet, external or payment_method")
                    })?)
                }
            },
            status: match self.status.as_deref() {
                None => None,
                Some(s) => Some(
                    PaymentState::parse(s)
                        .ok_or_else(|| bad("status", "must be pending, succeeded or failed"))?,
                ),
            },
        })
    }
}
