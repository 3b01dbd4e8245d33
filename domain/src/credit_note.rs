//! Credit notes: the one way to correct a finalized invoice, which is never edited.
//!
//! A credit note credits some of an invoice's lines (`lines`, each in the terms of what the line
//! charged: its `amount` less its discount, inclusive tax included) or a part of the invoice as a whole (`amount`, tax
//! included). Tax is reversed in proportion:
//! - a line credit reverses, per rate, `round(line tax × credited so far ÷ line charged)` less
//!   what earlier credit notes of the line reversed, so crediting a line in parts reverses
//!   exactly its tax once it is fully credited, never more;
//! - a whole-invoice credit of `amount` reverses, per rate, `round(rate's tax × amount ÷
//!   invoice total)` (at most what is left of that rate's tax) and its total is `amount`
//!   exactly.
//!
//! What the credit does (`refund_to`): `none` lowers what is left to pay (at most the amount
//! due); `wallet` returns credits to the customer's wallet in the invoice's currency and
//! `payment` refunds the invoice's payments, both at most what was paid and not yet returned.
//! So `amount_paid + amount_credited ≤ total` always holds, and the credit notes of an invoice
//! never sum to more than its total. Numbers are `CN-YYYYMM-NNNNN`, per account and month,
//! gapless like invoice numbers. A note is voided only while it refunded nothing.

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::finish;
use crate::id::{CreditNoteId, CustomerId, InvoiceId, TenantId, WalletId};
use crate::invoice::{Invoice, InvoiceStatus};
use crate::money::{canonical, Currency};
use crate::tax::{AppliedRate, LineTax, TaxAmount};
use crate::{DomainError, DomainResult, ErrorCode, FieldError};

crate::text_enum! {
    pub enum CreditNoteStatus {
        Issued,
        Voided,
    }
}

crate::text_enum! {
    /// Why the invoice is credited (Stripe's reasons, plus `other`).
    pub enum CreditReason {
        Duplicate,
        Fraudulent,
        OrderChange,
        ProductUnsatisfactory,
        Other,
    }
}

crate::text_enum! {
    /// Where the credited amount goes.
    pub enum RefundTo {
        /// Nowhere: it lowers what is left to pay of an unpaid invoice.
        #[serde(rename = "none")]
        #[strum(serialize = "none")]
        Nothing,
        /// Credits in the customer's wallet of the invoice's currency.
        Wallet,
        /// A refund of the invoice's payments, newest first.
        Payment,
    }
}

/// One credited line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteLine {
    /// The invoice line credited; `None`: a credit of the invoice as a whole.
    pub invoice_line_id: Option<String>,
    pub description: String,
    /// In the terms of the invoice line's `amount` (inclusive tax included), at the minor unit.
    pub amount: BigDecimal,
    /// The invoice line's rates (a whole-invoice credit: every rate of the invoice).
    pub tax_rates: Vec<AppliedRate>,
    /// The tax reversed of each of `tax_rates`, in the same order.
    pub taxes: Vec<LineTax>,
}

#[derive(Debug, Clone)]
pub struct CreditNote {
    pub id: CreditNoteId,
    pub tenant_id: TenantId,
    pub invoice_id: InvoiceId,
    pub customer_id: CustomerId,
    /// `CN-YYYYMM-NNNNN`.
    pub number: String,
    pub currency: Currency,
    pub status: CreditNoteStatus,
    pub reason: CreditReason,
    pub memo: Option<String>,
    pub refund_to: RefundTo,
    pub lines: Vec<CreditNoteLine>,
    /// The tax reversed, per rate.
    pub tax_amounts: Vec<TaxAmount>,
    /// Σ line amounts.
    pub subtotal: BigDecimal,
    /// Σ tax reversed, inclusive and exclusive.
    pub total_tax: BigDecimal,
    /// What is credited: subtotal plus exclusive tax.
    pub total: BigDecimal,
    /// `refund_to: wallet`: the wallet credited and the credits it got.
    pub wallet_id: Option<WalletId>,
    pub credits: Option<BigDecimal>,
    /// `refund_to: payment`: the refunds made (`re_…`).
    pub refund_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
}

/// What to credit.
#[derive(Debug, Clone)]
pub enum Credit {
    /// Amounts of the invoice's lines.
    Lines(Vec<LineCredit>),
    /// An amount of the invoice as a whole, tax included.
    Amount(BigDecimal),
}

#[derive(Debug, Clone)]
pub struct LineCredit {
    pub invoice_line_id: String,
    pub amount: BigDecimal,
}

#[derive(Debug, Clone)]
pub struct NewCreditNote {
    pub credit: Credit,
    pub reason: CreditReason,
    pub memo: Option<String>,
    pub refund_to: RefundTo,
}

/// Runs with the invoice locked and its issued credit notes; returns the note to record
/// (numbered through `NextNumber`).
pub type CreditChange<'a> = &'a mut dyn FnMut(
    &mut Invoice,
    &[CreditNote],
    crate::invoice::NextNumber<'_>,
) -> DomainResult<CreditNote>;

/// Runs with the note's invoice and the note locked.
pub type VoidChange<'a> = &'a mut dyn FnMut(&mut Invoice, &mut CreditNote) -> DomainResult<()>;

#[derive(Debug, Clone, Default)]
pub struct CreditNoteFilter {
    pub customer_id: Option<String>,
    pub invoice_id: Option<String>,
}

/// `CN-YYYYMM-NNNNN` (at least five digits).
pub fn format_number(period: &str, n: i64) -> String {
    format!("CN-{period}-{n:05}")
}

/// The key of the numbering counter of credit notes in a month (`YYYYMM`), apart from the
/// invoices' own.
pub fn counter_key(period: &str) -> String {
    format!("CN{period}")
}

/// Checks what can be checked before the invoice is read: field names as the request has them.
pub fn check_request(new: &NewCreditNote) -> DomainResult<()> {
    let mut errs = Vec::new();
    match &new.credit {
        Credit::Lines(lines) => {
            if lines.is_empty() {
                errs.push(FieldError::new("lines", "must not be empty"));
            }
            if lines.len() > crate::invoice::MAX_LINES {
                errs.push(FieldError::new(
                    "lines",
                    format!("at most {} lines", crate::invoice::MAX_LINES),
                ));
            }
            for (i, l) in lines.iter().enumerate() {
                if l.amount <= BigDecimal::zero() {
                    errs.push(FieldError::new(
                        format!("lines[{i}].amount"),
                        "must be greater than zero",
                    ));
                }
                if lines[..i]
                    .iter()
                    .any(|o| o.invoice_line_id == l.invoice_line_id)
                {
                    errs.push(FieldError::new(
                        format!("lines[{i}].invoice_line_id"),
                        "appears twice",
                    ));
                }
            }
        }
        Credit::Amount(a) => {
            if *a <= BigDecimal::zero() {
                errs.push(FieldError::new("amount", "must be greater than zero"));
            }
        }
    }
    crate::error::check_text(&mut errs, "memo", new.memo.as_ref(), 500, false);
    finish(errs, ())
}

fn at_minor(errs: &mut Vec<FieldError>, field: String, amount: &BigDecimal, c: Currency) {
    if c.round(amount) != *amount {
        errs.push(FieldError::new(
            field,
            format!("has more decimals than {} allows", c.code()),
        ));
    }
}

/// The credit note `new` makes of `invoice`, given its issued credit notes `issued`; changes
/// the invoice's `amount_credited` (and its payment status when nothing is refunded). The
/// caller records the note and, for `wallet` and `payment`, moves the money.
pub fn credit(
    invoice: &mut Invoice,
    issued: &[CreditNote],
    new: &NewCreditNote,
    number: String,
    now: DateTime<Utc>,
) -> DomainResult<CreditNote> {
    if invoice.status != InvoiceStatus::Finalized {
        return Err(DomainError::Conflict {
            code: ErrorCode::InvoiceNotFinalized,
            message: format!(
                "Only a finalized invoice can be credited; this one is {}.",
                invoice.status.as_str()
            ),
        });
    }
    let currency = invoice.currency;
    let (lines, tax_amounts) = match &new.credit {
        Credit::Lines(wanted) => credit_lines(invoice, issued, wanted)?,
        Credit::Amount(amount) => {
            let mut errs = Vec::new();
            at_minor(&mut errs, "amount".into(), amount, currency);
            finish(errs, ())?;
            credit_amount(invoice, issued, amount)
        }
    };
    let subtotal: BigDecimal = lines.iter().map(|l| l.amount.clone()).sum();
    let exclusive: BigDecimal = tax_amounts
        .iter()
        .filter(|t| !t.rate.inclusive)
        .map(|t| t.amount.clone())
        .sum();
    let total = &subtotal + exclusive;
    let total_tax = tax_amounts.iter().map(|t| t.amount.clone()).sum();
    let field = match new.credit {
        Credit::Lines(_) => "lines",
        Credit::Amount(_) => "amount",
    };
    let left = &invoice.total - &invoice.amount_credited;
    if total > left {
        return Err(DomainError::validation(
            field,
            format!(
                "credits {} but only {} of the invoice is left to credit",
                currency.display(&total),
                currency.display(&left)
            ),
        ));
    }
    let (limit, what) = match new.refund_to {
        RefundTo::Nothing => (invoice.amount_due(), "left to pay"),
        RefundTo::Wallet | RefundTo::Payment => (invoice.amount_paid.clone(), "paid"),
    };
    if total > limit {
        return Err(DomainError::validation(
            "refund_to",
            format!(
                "{} {what} on the invoice, less than the {} credited: {}",
                currency.display(&limit),
                currency.display(&total),
                match new.refund_to {
                    RefundTo::Nothing => "refund the rest to the wallet or the payment",
                    _ => "credit what is unpaid with refund_to none",
                }
            ),
        ));
    }
    invoice.amount_credited += &total;
    match new.refund_to {
        RefundTo::Nothing => {
            invoice.settle(invoice.payment_status == crate::invoice::PaymentStatus::Refunded)
        }
        // Returned to the wallet: no longer paid, as a refund would leave it.
        RefundTo::Wallet => {
            invoice.amount_paid -= &total;
            invoice.settle(true);
        }
        // The refunds of the payments lower what is paid, each as it is made.
        RefundTo::Payment => {}
    }
    invoice.updated_at = now;
    Ok(CreditNote {
        id: CreditNoteId::new(),
        tenant_id: invoice.tenant_id.clone(),
        invoice_id: invoice.id.clone(),
        customer_id: invoice.customer_id.clone(),
        number,
        currency,
        status: CreditNoteStatus::Issued,
        reason: new.reason,
        memo: new.memo.clone(),
        refund_to: new.refund_to,
        lines,
        tax_amounts,
        subtotal,
        total_tax,
        total,
        wallet_id: None,
        credits: None,
        refund_ids: Vec::new(),
        created_at: now,
        voided_at: None,
    })
}

/// Line credits, each at most what is left of its line, tax reversed cumulatively per line.
fn credit_lines(
    invoice: &Invoice,
    issued: &[CreditNote],
    wanted: &[LineCredit],
) -> DomainResult<(Vec<CreditNoteLine>, Vec<TaxAmount>)> {
    let currency = invoice.currency;
    let mut errs = Vec::new();
    let mut lines = Vec::with_capacity(wanted.len());
    for (i, w) in wanted.iter().enumerate() {
        let field = |f: &str| format!("lines[{i}].{f}");
        let Some(line) = invoice.lines.iter().find(|l| l.id == w.invoice_line_id) else {
            errs.push(FieldError::new(
                field("invoice_line_id"),
                "is not a line of this invoice",
            ));
            continue;
        };
        at_minor(&mut errs, field("amount"), &w.amount, currency);
        let before: Vec<&CreditNoteLine> = issued
            .iter()
            .flat_map(|n| &n.lines)
            .filter(|l| l.invoice_line_id.as_deref() == Some(line.id.as_str()))
            .collect();
        let credited: BigDecimal = before.iter().map(|l| l.amount.clone()).sum();
        // What the line charged: after its discount, before exclusive tax.
        let charged = line.net();
        let left = &charged - &credited;
        if w.amount > left {
            errs.push(FieldError::new(
                field("amount"),
                format!(
                    "at most {} of this line is left to credit",
                    currency.display(&left)
                ),
            ));
            continue;
        }
        let after = &credited + &w.amount;
        let taxes = line
            .tax_rates
            .iter()
            .zip(&line.taxes)
            .map(|(rate, tax)| {
                let reversed: BigDecimal = before
                    .iter()
                    .flat_map(|l| &l.taxes)
                    .filter(|t| t.tax_rate_id == rate.tax_rate_id)
                    .map(|t| t.amount.clone())
                    .sum();
                let upto = currency.round(&(&tax.amount * &after / &charged));
                LineTax {
                    tax_rate_id: rate.tax_rate_id.clone(),
                    amount: upto - reversed,
                }
            })
            .collect();
        lines.push(CreditNoteLine {
            invoice_line_id: Some(line.id.clone()),
            description: line.description.clone(),
            amount: w.amount.clone(),
            tax_rates: line.tax_rates.clone(),
            taxes,
        });
    }
    finish(errs, ())?;
    let grouped = crate::tax::group(
        lines
            .iter()
            .map(|l| (&l.amount, l.tax_rates.as_slice(), l.taxes.as_slice())),
    );
    Ok((lines, grouped))
}

/// A whole-invoice credit of `amount`, tax included: each rate's tax in proportion, at most
/// what is left of it; the rest is the line's amount.
fn credit_amount(
    invoice: &Invoice,
    issued: &[CreditNote],
    amount: &BigDecimal,
) -> (Vec<CreditNoteLine>, Vec<TaxAmount>) {
    let currency = invoice.currency;
    let mut tax_amounts = Vec::new();
    if !invoice.total.is_zero() {
        for t in invoice.tax_amounts() {
            let reversed: BigDecimal = issued
                .iter()
                .flat_map(|n| &n.tax_amounts)
                .filter(|r| r.rate.tax_rate_id == t.rate.tax_rate_id)
                .map(|r| r.amount.clone())
                .sum();
            let share = currency.round(&(&t.amount * amount / &invoice.total));
            let left = &t.amount - reversed;
            tax_amounts.push(TaxAmount {
                taxable_amount: currency.round(&(&t.taxable_amount * amount / &invoice.total)),
                amount: share.min(left).max(BigDecimal::zero()),
                rate: t.rate,
            });
        }
    }
    let exclusive: BigDecimal = tax_amounts
        .iter()
        .filter(|t| !t.rate.inclusive)
        .map(|t| t.amount.clone())
        .sum();
    let line = CreditNoteLine {
        invoice_line_id: None,
        description: format!(
            "Credit of {}",
            invoice
                .number
                .clone()
                .unwrap_or_else(|| invoice.id.to_string())
        ),
        amount: amount - exclusive,
        tax_rates: tax_amounts.iter().map(|t| t.rate.clone()).collect(),
        taxes: tax_amounts
            .iter()
            .map(|t| LineTax {
                tax_rate_id: t.rate.tax_rate_id.clone(),
                amount: t.amount.clone(),
            })
            .collect(),
    };
    (vec![line], tax_amounts)
}

/// Voids an issued note that refunded nothing: what it took off the invoice is due again.
pub fn void(invoice: &mut Invoice, note: &mut CreditNote, now: DateTime<Utc>) -> DomainResult<()> {
    let refuse = |why: String| {
        Err(DomainError::Conflict {
            code: ErrorCode::CreditNoteNotVoidable,
            message: why,
        })
    };
    if note.status == CreditNoteStatus::Voided {
        return refuse("The credit note is already void.".into());
    }
    if note.refund_to != RefundTo::Nothing {
        return refuse(format!(
            "The credit note refunded {} to the {}; only a credit note that refunded nothing can be voided.",
            canonical(&note.total),
            note.refund_to.as_str()
        ));
    }
    note.status = CreditNoteStatus::Voided;
    note.voided_at = Some(now);
    invoice.amount_credited -= &note.total;
    invoice.settle(invoice.payment_status == crate::invoice::PaymentStatus::Refunded);
    invoice.updated_at = now;
    Ok(())
}
