//! Credit note JSON shapes and the list query, shared by admin and portal routes.

use chrono::{DateTime, Utc};
use domain::credit_note::{
    CreditNote, CreditNoteFilter, CreditReason, LineCredit, NewCreditNote, RefundTo,
};
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{decimal, list_type};
use crate::routes::invoices::dto::{tax_views, AppliedRateView, LineTaxView, TaxAmountView};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLineBody {
    /// A line of this invoice: the id of one of its lines.
    #[schema(example = "il_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub invoice_line_id: String,
    /// Decimal string > 0 at the currency's minor unit, in the terms of the line's `amount`
    /// (inclusive tax included); at most what is left to credit of the line.
    #[schema(example = "10.00")]
    pub amount: String,
}

/// Send `lines` or `amount`, not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"invoice_line_id": "il_01jd3x6v9f5m2q8r7t4w0y1z3a", "amount": "10.00"}],
    "reason": "product_unsatisfactory", "memo": "Outage on 3 December", "refund_to": "wallet"}))]
pub struct CreateCreditNote {
    /// Amounts of the invoice's lines; each line's tax is reversed in proportion.
    pub lines: Option<Vec<CreditLineBody>>,
    /// An amount of the invoice as a whole, tax included (decimal string > 0 at the minor
    /// unit); each rate's tax is reversed in proportion to the invoice's total.
    #[schema(example = "11.90")]
    pub amount: Option<String>,
    #[schema(value_type = crate::schema::CreditReason)]
    pub reason: String,
    /// At most 500 characters, printed on the credit note.
    pub memo: Option<String>,
    /// `none` (default): lowers what is left to pay, at most the amount due. `wallet`: credits
    /// the customer's active wallet in the invoice's currency; `payment`: refunds the invoice's
    /// payments, newest first. Both at most what was paid and not yet returned.
    #[schema(value_type = Option<crate::schema::RefundTo>)]
    pub refund_to: Option<String>,
}

impl CreateCreditNote {
    pub fn into_domain(self) -> Result<NewCreditNote, ApiError> {
        let bad = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
        let credit = match (self.lines, self.amount) {
            (Some(lines), None) => domain::credit_note::Credit::Lines(
                lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        Ok(LineCredit {
                            amount: decimal(&format!("lines[{i}].amount"), &l.amount)?,
                            invoice_line_id: l.invoice_line_id,
                        })
                    })
                    .collect::<Result<_, ApiError>>()?,
            ),
            (None, Some(a)) => domain::credit_note::Credit::Amount(decimal("amount", &a)?),
            (Some(_), Some(_)) => return Err(bad("amount", "send lines or amount, not both")),
            (None, None) => return Err(bad("lines", "send lines or amount")),
        };
        let reason = CreditReason::parse(&self.reason).ok_or_else(|| {
            bad(
                "reason",
                "must be duplicate, fraudulent, order_change, product_unsatisfactory or other",
            )
        })?;
        let refund_to = match self.refund_to.as_deref() {
            None => RefundTo::Nothing,
            Some(r) => RefundTo::parse(r)
                .ok_or_else(|| bad("refund_to", "must be none, wallet or payment"))?,
        };
        Ok(NewCreditNote {
            credit,
            reason,
            memo: self.memo,
            refund_to,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteLineView {
    /// The invoice line credited; null for a credit of the invoice as a whole.
    pub invoice_line_id: Option<String>,
    pub description: String,
    /// In the terms of the line's amount (inclusive tax included).
    #[schema(example = "10.00")]
    pub amount: String,
    pub tax_rates: Vec<AppliedRateView>,
    /// The tax reversed of each of `tax_rates`, in the same order.
    pub tax_amounts: Vec<LineTaxView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteView {
    #[schema(example = "cn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    /// `CN-YYYYMM-NNNNN`, gapless per account and month.
    #[schema(example = "CN-202612-00001")]
    pub number: String,
    pub invoice_id: String,
    pub customer_id: String,
    #[schema(value_type = crate::schema::CreditNoteStatus)]
    pub status: &'static str,
    #[schema(value_type = crate::schema::CreditReason)]
    pub reason: &'static str,
    pub memo: Option<String>,
    #[schema(value_type = crate::schema::RefundTo)]
    pub refund_to: &'static str,
    #[schema(example = "EUR")]
    pub currency: String,
    pub lines: Vec<CreditNoteLineView>,
    /// Sum of the line amounts.
    #[schema(example = "10.00")]
    pub subtotal: String,
    /// The tax reversed, per rate.
    pub tax_amounts: Vec<TaxAmountView>,
    #[schema(example = "1.90")]
    pub total_tax: String,
    /// What is credited: subtotal plus exclusive tax.
    #[schema(example = "11.90")]
    pub total: String,
    /// `refund_to: wallet`: the wallet credited and the credits it got.
    pub wallet_id: Option<String>,
    pub credits: Option<String>,
    /// `refund_to: payment`: the refunds made.
    pub refund_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
}

impl From<CreditNote> for CreditNoteView {
    fn from(n: CreditNote) -> Self {
        let c = n.currency;
        Self {
            tax_amounts: tax_views(&n.tax_amounts, c),
            lines: n
                .lines
                .into_iter()
                .map(|l| CreditNoteLineView {
                    invoice_line_id: l.invoice_line_id,
                    description: l.description,
                    amount: c.display(&l.amount),
                    tax_rates: l.tax_rates.iter().map(AppliedRateView::from).collect(),
                    tax_amounts: l.taxes.iter().map(LineTaxView::from).collect(),
                })
                .collect(),
            subtotal: c.display(&n.subtotal),
            total_tax: c.display(&n.total_tax),
            total: c.display(&n.total),
            credits: n.credits.as_ref().map(domain::money::canonical),
            id: n.id.into(),
            number: n.number,
            invoice_id: n.invoice_id.into(),
            customer_id: n.customer_id.into(),
            status: n.status.as_str(),
            reason: n.reason.as_str(),
            memo: n.memo,
            refund_to: n.refund_to.as_str(),
            currency: c.to_string(),
            wallet_id: n.wallet_id.map(String::from),
            refund_ids: n.refund_ids,
            created_at: n.created_at,
            voided_at: n.voided_at,
        }
    }
}

list_type!(CreditNoteList, CreditNoteView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListCreditNotes {
    /// Admin only.
    pub customer_id: Option<String>,
    pub invoice_id: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListCreditNotes {
    pub fn filter(&self) -> CreditNoteFilter {
        CreditNoteFilter {
            customer_id: self.customer_id.clone(),
            invoice_id: self.invoice_id.clone(),
        }
    }
}

/// Renders a credit note with the merchant's and the customer's details and its invoice's
/// number: the file name and the PDF bytes. Blocking (it reads the database).
pub fn render_pdf(
    state: &crate::state::AppState,
    note: CreditNote,
) -> domain::DomainResult<(String, Vec<u8>)> {
    let merchant = state.accounts.get(&note.tenant_id)?;
    let customer = state.customers.get(&note.tenant_id, &note.customer_id)?;
    let invoice = state.invoices.get(
        &domain::scope::Scope::account(&note.tenant_id),
        &note.invoice_id,
    )?;
    let bytes = crate::pdf::render_credit_note(&note, &invoice, &merchant, &customer);
    Ok((note.number.clone(), bytes))
}
