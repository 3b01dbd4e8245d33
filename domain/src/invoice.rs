//! Invoices: a draft (editable line items) becomes finalized (numbered, totals frozen,
//! immutable) and may be voided.
//!
//! Money rule: a line's amount is quantity × unit amount rounded to the currency's minor unit,
//! half away from zero (USD 0.005 → 0.01, JPY 0.5 → 1, KWD 0.0005 → 0.001); unit amounts may
//! keep more places. The subtotal is the sum of the line amounts, the total the subtotal plus
//! exclusive tax; taxes are computed per line and rate as `crate::tax` documents. Drafts show
//! the same figures as a preview. Numbers are `INV-YYYYMM-NNNNN` per account and month of finalization (UTC),
//! consecutive without gaps: a number is taken in the transaction that finalizes.

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CustomerId, InvoiceId, TaxRateId};
use crate::money::Currency;
use crate::tax::{AppliedRate, LineTax, TaxAmount};
use crate::wallet::validate_text;
use crate::{DomainError, DomainResult, FieldError};

crate::text_enum! {
    pub enum InvoiceStatus {
        Draft,
        Finalized,
        Voided,
    }
}

crate::text_enum! {
    pub enum PaymentStatus {
        Unpaid,
        PartiallyPaid,
        Paid,
        Refunded,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// `il_…`, what a credit note names the line by (lines stored before line ids existed
    /// get one derived from the invoice's id and their position; see `Invoice::name_lines`).
    #[serde(default)]
    pub id: String,
    pub description: String,
    pub quantity: BigDecimal,
    pub unit_amount: BigDecimal,
    /// What the line charges, at the currency's minor unit (quantity × unit_amount, or what a
    /// tiered or prorated charge comes to, rounded).
    pub amount: BigDecimal,
    /// What a discount takes off the line before tax, at the minor unit (zero: none; see
    /// `crate::discount::discount_lines`). Tax is on `amount − discount_amount`.
    #[serde(default, skip_serializing_if = "Zero::is_zero")]
    pub discount_amount: BigDecimal,
    /// The rates applied, as they were when applied (empty: no tax on the line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tax_rates: Vec<AppliedRate>,
    /// The line's tax of each of `tax_rates`, in the same order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<LineTax>,
    /// The usage feature the line bills, if any.
    pub feature: Option<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

impl LineItem {
    /// What the line charges after its discount, before exclusive tax.
    pub fn net(&self) -> BigDecimal {
        &self.amount - &self.discount_amount
    }
}

/// A discount as an invoice shows it: the coupon, its name when applied, and what it took off
/// the invoice's lines in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDiscount {
    pub coupon_id: crate::id::CouponId,
    pub name: String,
    pub amount: BigDecimal,
}

/// A line as submitted.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub description: String,
    pub quantity: BigDecimal,
    pub unit_amount: BigDecimal,
    pub feature: Option<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    /// The line's own tax rates (an empty list: no tax on the line); `None`: the customer's,
    /// else the account's defaults.
    pub tax_rate_ids: Option<Vec<TaxRateId>>,
}

pub const MAX_LINES: usize = 250;

/// Validates lines (with field paths `lines[i].…`) and prices them.
pub fn price_lines(lines: Vec<NewLine>) -> DomainResult<Vec<LineItem>> {
    let mut errs = Vec::new();
    if lines.len() > MAX_LINES {
        errs.push(FieldError::new(
            "lines",
            format!("at most {MAX_LINES} lines"),
        ));
    }
    let mut priced = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        if l.description.trim().is_empty() {
            errs.push(FieldError::new(at("description"), "must not be empty"));
        }
        validate_text(&at("description"), Some(&l.description), 500, &mut errs);
        validate_text(&at("feature"), l.feature.as_deref(), 100, &mut errs);
        if l.quantity <= BigDecimal::zero() {
            errs.push(FieldError::new(at("quantity"), "must be greater than zero"));
        }
        if l.unit_amount < BigDecimal::zero() {
            errs.push(FieldError::new(at("unit_amount"), "must not be negative"));
        }
        if let (Some(s), Some(e)) = (l.period_start, l.period_end) {
            if s > e {
                errs.push(FieldError::new(
                    at("period_start"),
                    "must not be after period_end",
                ));
            }
        }
        priced.push(LineItem {
            id: crate::id::new_id(crate::id::INVOICE_LINE),
            amount: &l.quantity * &l.unit_amount,
            description: l.description.trim().to_owned(),
            quantity: l.quantity,
            unit_amount: l.unit_amount,
            feature: l.feature,
            period_start: l.period_start,
            period_end: l.period_end,
            discount_amount: BigDecimal::zero(),
            tax_rates: Vec::new(),
            taxes: Vec::new(),
        });
    }
    if errs.is_empty() {
        Ok(priced)
    } else {
        Err(DomainError::Validation(errs))
    }
}

/// Every line amount and the total must be amounts the currency [holds](Currency::holds):
/// below 10^18 minor units. 422 naming the line (`lines[i].amount`) or the total (`lines`).
pub fn check_amounts(currency: Currency, lines: &[LineItem]) -> DomainResult<()> {
    let too_large = |what: &str| {
        format!(
            "{what} must be at most {} {currency}",
            currency.max_amount()
        )
    };
    let mut errs: Vec<FieldError> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !currency.holds(&l.amount))
        .map(|(i, _)| {
            FieldError::new(
                format!("lines[{i}].amount"),
                too_large("quantity × unit_amount"),
            )
        })
        .collect();
    let subtotal: BigDecimal = lines.iter().map(|l| l.amount.clone()).sum();
    if errs.is_empty() && !currency.holds(&subtotal) {
        errs.push(FieldError::new("lines", too_large("the invoice total")));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errs))
    }
}

#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: InvoiceId,
    pub tenant_id: crate::id::TenantId,
    pub customer_id: CustomerId,
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub payment_status: PaymentStatus,
    pub currency: Currency,
    pub memo: Option<String>,
    pub lines: Vec<LineItem>,
    /// Sum of the line amounts (inclusive tax included), before discounts.
    pub subtotal: BigDecimal,
    /// The discount the lines carry (at most one: the subscription's), with its sum.
    pub discounts: Vec<InvoiceDiscount>,
    /// Subtotal less discounts, plus exclusive tax (frozen at finalization).
    pub total: BigDecimal,
    /// Net of refunds (credit notes refunded to a wallet or a payment included).
    pub amount_paid: BigDecimal,
    /// What the invoice's issued credit notes took off it (see `crate::credit_note`).
    pub amount_credited: BigDecimal,
    pub due_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set on the invoices billing makes: the subscription and the boundary it billed (one
    /// invoice per pair, enforced by a unique index).
    pub subscription_id: Option<crate::id::SubscriptionId>,
    pub billing_period_start: Option<DateTime<Utc>>,
    /// Made for a reverse-charge customer: no tax, and the invoice says the buyer accounts
    /// for it (kept as issued).
    pub reverse_charge: bool,
    /// Who the invoice is addressed to, kept when it is issued (`crate::customer::bill_to`):
    /// later changes of the customer do not reach an issued invoice. `None` for drafts and for
    /// invoices issued before it was kept (their PDFs print the customer's current details).
    pub bill_to: Option<crate::customer::BillingDetails>,
    /// When its billing details were corrected (at most once; amounts never change).
    pub revised_at: Option<DateTime<Utc>>,
}

impl Invoice {
    /// A draft of `lines` for the customer.
    pub fn draft(
        tenant_id: &crate::id::TenantId,
        customer_id: CustomerId,
        currency: Currency,
        lines: Vec<LineItem>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut invoice = Invoice {
            id: InvoiceId::new(),
            tenant_id: tenant_id.clone(),
            customer_id,
            number: None,
            status: InvoiceStatus::Draft,
            payment_status: PaymentStatus::Unpaid,
            currency,
            memo: None,
            lines,
            subtotal: BigDecimal::zero(),
            discounts: Vec::new(),
            total: BigDecimal::zero(),
            amount_paid: BigDecimal::zero(),
            amount_credited: BigDecimal::zero(),
            due_at: None,
            issued_at: None,
            voided_at: None,
            created_at: now,
            updated_at: now,
            subscription_id: None,
            billing_period_start: None,
            reverse_charge: false,
            bill_to: None,
            revised_at: None,
        };
        invoice.reprice();
        invoice
    }

    /// Finalizes a draft with `number`: totals frozen, issued at `now`; a zero total is settled
    /// the moment it is issued.
    pub fn issue(&mut self, number: String, now: DateTime<Utc>) {
        self.number = Some(number);
        self.finalize_unnumbered(now);
    }

    /// What `issue` does but the number, for a caller that takes the number last, just
    /// before its transaction commits (the number counter stays locked until then).
    pub fn finalize_unnumbered(&mut self, now: DateTime<Utc>) {
        self.reprice();
        self.status = InvoiceStatus::Finalized;
        self.settle(false);
        self.issued_at = Some(now);
        self.updated_at = now;
    }

    /// Recomputes the lines' amounts (at the minor unit) and taxes (on what is left after the
    /// line's discount), the subtotal, the discount's sum and the total (see `crate::tax` for
    /// the rule).
    pub fn reprice(&mut self) {
        let currency = self.currency;
        for line in &mut self.lines {
            line.amount = currency.round(&line.amount);
            line.taxes = crate::tax::line_taxes(&line.net(), &line.tax_rates, currency);
        }
        self.subtotal = self.lines.iter().map(|l| l.amount.clone()).sum();
        let discount = self.total_discount();
        if let [d] = &mut self.discounts[..] {
            d.amount = discount.clone();
        }
        let exclusive: BigDecimal = self
            .lines
            .iter()
            .flat_map(|l| l.tax_rates.iter().zip(&l.taxes))
            .filter(|(r, _)| !r.inclusive)
            .map(|(_, t)| t.amount.clone())
            .sum();
        self.total = &self.subtotal - discount + exclusive;
    }

    /// What discounts took off the lines, in all.
    pub fn total_discount(&self) -> BigDecimal {
        self.lines.iter().map(|l| l.discount_amount.clone()).sum()
    }

    /// The total with tax must be an amount the currency [holds](Currency::holds), as every
    /// line and the subtotal are (`check_amounts`): 422 naming `lines` otherwise.
    pub fn check_total(&self) -> DomainResult<()> {
        if self.currency.holds(&self.total) {
            return Ok(());
        }
        Err(DomainError::validation(
            "lines",
            format!(
                "the invoice total with tax must be at most {} {}",
                self.currency.max_amount(),
                self.currency
            ),
        ))
    }

    /// The invoice's tax per rate, in the order the rates first appear on its lines.
    pub fn tax_amounts(&self) -> Vec<TaxAmount> {
        let nets: Vec<BigDecimal> = self.lines.iter().map(LineItem::net).collect();
        crate::tax::group(
            self.lines
                .iter()
                .zip(&nets)
                .map(|(l, net)| (net, l.tax_rates.as_slice(), l.taxes.as_slice())),
        )
    }

    /// All the tax on the invoice, inclusive and exclusive.
    pub fn total_tax(&self) -> BigDecimal {
        self.lines
            .iter()
            .flat_map(|l| &l.taxes)
            .map(|t| t.amount.clone())
            .sum()
    }

    /// The subtotal less discounts and the tax included in the line amounts.
    pub fn subtotal_excluding_tax(&self) -> BigDecimal {
        let inclusive: BigDecimal = self
            .lines
            .iter()
            .flat_map(|l| l.tax_rates.iter().zip(&l.taxes))
            .filter(|(r, _)| r.inclusive)
            .map(|(_, t)| t.amount.clone())
            .sum();
        &self.subtotal - self.total_discount() - inclusive
    }

    /// Gives lines stored without an id (before lines had one) the id their position and the
    /// invoice's id derive: stable, as an issued invoice's lines never change.
    pub fn name_lines(&mut self) {
        let Some(base) = self
            .id
            .strip_prefix("inv_")
            .and_then(|b| ulid::Ulid::from_string(b).ok())
        else {
            return;
        };
        for (i, line) in self.lines.iter_mut().enumerate() {
            if line.id.is_empty() {
                let id = ulid::Ulid(base.0.wrapping_add(i as u128 + 1));
                line.id = format!(
                    "{}_{}",
                    crate::id::INVOICE_LINE,
                    id.to_string().to_ascii_lowercase()
                );
            }
        }
    }

    /// Sets the payment status from what is paid and credited: `paid` once payments and credit
    /// notes cover the total (`refunded` instead when refunds took the payments to zero).
    pub fn settle(&mut self, refunded_something: bool) {
        let covered = &self.amount_paid + &self.amount_credited;
        self.payment_status = if self.amount_paid >= self.total {
            PaymentStatus::Paid
        } else if covered >= self.total {
            match refunded_something && self.amount_paid.is_zero() {
                true => PaymentStatus::Refunded,
                false => PaymentStatus::Paid,
            }
        } else if self.amount_paid > BigDecimal::zero() {
            PaymentStatus::PartiallyPaid
        } else if refunded_something {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::Unpaid
        };
    }

    pub fn amount_due(&self) -> BigDecimal {
        match self.status {
            InvoiceStatus::Finalized => &self.total - &self.amount_paid - &self.amount_credited,
            _ => BigDecimal::zero(),
        }
    }

    /// Total in minor units (cents): an integer, for range filters that must be exact on both
    /// databases.
    pub fn total_minor(&self) -> i64 {
        let scaled = &self.total * BigDecimal::from(10i64.pow(self.currency.minor_units() as u32));
        // The total is rounded to the minor unit, so this is an integer.
        bigdecimal::ToPrimitive::to_i64(&scaled).unwrap_or(i64::MAX)
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == InvoiceStatus::Finalized && past_due(&self.amount_due(), self.due_at, now)
    }
}

/// A finalized invoice with something left to pay, as the outstanding figures need it.
#[derive(Debug, Clone)]
pub struct OpenAmount {
    pub currency: Currency,
    pub total: BigDecimal,
    pub amount_paid: BigDecimal,
    pub amount_credited: BigDecimal,
    pub due_at: Option<DateTime<Utc>>,
}

impl OpenAmount {
    /// As [`Invoice::amount_due`] of a finalized invoice.
    pub fn amount_due(&self) -> BigDecimal {
        &self.total - &self.amount_paid - &self.amount_credited
    }

    /// As [`Invoice::is_overdue`] of a finalized invoice.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        past_due(&self.amount_due(), self.due_at, now)
    }
}

/// Overdue: something is left to pay and its due date has passed.
fn past_due(amount_due: &BigDecimal, due_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    *amount_due > BigDecimal::zero() && due_at.is_some_and(|d| d < now)
}

/// `INV-YYYYMM-NNNNN` (at least five digits).
pub fn format_number(period: &str, n: i64) -> String {
    format!("INV-{period}-{n:05}")
}

/// The numbering period of a finalization instant: its UTC month.
pub fn number_period(at: DateTime<Utc>) -> String {
    at.format("%Y%m").to_string()
}

/// Takes the next invoice number of a period (`YYYYMM`) inside the change's transaction.
pub type NextNumber<'a> = &'a mut dyn FnMut(&str) -> crate::DomainResult<i64>;

pub type InvoiceChange<'a> =
    &'a mut dyn FnMut(&mut crate::invoice::Invoice, NextNumber<'_>) -> crate::DomainResult<()>;

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub customer_id: Option<String>,
    /// Only the invoices billing made for this subscription.
    pub subscription_id: Option<String>,
    pub status: Option<crate::invoice::InvoiceStatus>,
    /// Drafts are never shown to customers.
    pub exclude_drafts: bool,
    pub payment_status: Option<crate::invoice::PaymentStatus>,
    /// Number or memo, case-insensitive.
    pub q: Option<String>,
    pub currency: Option<String>,
    pub issued_from: Option<chrono::DateTime<chrono::Utc>>,
    pub issued_to: Option<chrono::DateTime<chrono::Utc>>,
    pub due_from: Option<chrono::DateTime<chrono::Utc>>,
    pub due_to: Option<chrono::DateTime<chrono::Utc>>,
    /// Totals in minor units of `currency`.
    pub total_minor_min: Option<i64>,
    pub total_minor_max: Option<i64>,
    /// Finalized, not fully paid, due before this instant.
    pub overdue_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    fn invoice(currency: &str, amounts: &[(&str, &str)]) -> Invoice {
        let lines = price_lines(
            amounts
                .iter()
                .map(|(q, u)| NewLine {
                    description: "x".into(),
                    quantity: d(q),
                    unit_amount: d(u),
                    feature: None,
                    period_start: None,
                    period_end: None,
                    tax_rate_ids: None,
                })
                .collect(),
        )
        .unwrap();
        let now = Utc::now();
        let mut inv = Invoice::draft(
            &"t".into(),
            CustomerId::new(),
            Currency::parse(currency).unwrap(),
            lines,
            now,
        );
        inv.status = InvoiceStatus::Finalized;
        inv.reprice();
        inv
    }

    #[test]
    fn rounding_edge_cases() {
        let usd = invoice("USD", &[("1", "0.005")]);
        assert_eq!(
            (
                usd.lines[0].amount.clone(),
                usd.subtotal.clone(),
                usd.total.clone()
            ),
            (d("0.01"), d("0.01"), d("0.01")),
            "each line is charged at the minor unit"
        );
        assert_eq!(usd.total_minor(), 1);
        let jpy = invoice("JPY", &[("3", "0.5")]);
        assert_eq!(jpy.total, d("2"), "1.5 JPY rounds half away from zero");
        let kwd = invoice("KWD", &[("1", "1.2345")]);
        assert_eq!(kwd.total, d("1.235"));
        assert_eq!(kwd.total_minor(), 1235);
        let many = invoice("USD", &[("3", "0.333"), ("1", "0.001")]);
        assert_eq!(many.lines[0].amount, d("1.00"), "0.999 rounds to 1.00");
        assert_eq!(many.lines[1].amount, d("0.00"), "0.001 rounds to 0.00");
        assert_eq!(many.subtotal, d("1"));
        assert_eq!(format_number("202611", 7), "INV-202611-00007");
        assert_eq!(format_number("202611", 123456), "INV-202611-123456");
    }

    #[test]
    fn taxes_add_to_the_total_per_line_and_per_rate() {
        let rate = |p: &str, inclusive| crate::tax::AppliedRate {
            tax_rate_id: TaxRateId::new(),
            name: "VAT".into(),
            percentage: d(p),
            inclusive,
        };
        let (vat, included) = (rate("19", false), rate("7", true));
        let mut inv = invoice("EUR", &[("3", "3.35"), ("1", "10"), ("1", "5")]);
        inv.lines[0].tax_rates = vec![vat.clone()];
        inv.lines[1].tax_rates = vec![vat.clone(), included.clone()];
        inv.reprice();
        // Line 1: 10.05 × 19% = 1.9095 → 1.91; line 2: 0.65 inclusive, then 9.35 × 19% = 1.78.
        assert_eq!(inv.lines[0].taxes[0].amount, d("1.91"));
        assert_eq!(inv.subtotal, d("25.05"));
        assert_eq!(inv.total, d("28.74"), "subtotal + exclusive tax");
        assert_eq!(inv.total_tax(), d("4.34"));
        assert_eq!(inv.subtotal_excluding_tax(), d("24.40"));
        let per_rate = inv.tax_amounts();
        assert_eq!(per_rate.len(), 2);
        assert_eq!((&per_rate[0].rate, &per_rate[0].amount), (&vat, &d("3.69")));
        assert_eq!(per_rate[0].taxable_amount, d("19.40"));
        assert_eq!(
            (&per_rate[1].rate, &per_rate[1].amount),
            (&included, &d("0.65"))
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let err = price_lines(vec![NewLine {
            description: " ".into(),
            quantity: d("0"),
            unit_amount: d("-1"),
            feature: None,
            period_start: None,
            period_end: None,
            tax_rate_ids: None,
        }])
        .unwrap_err();
        let DomainError::Validation(errs) = err else {
            panic!()
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "lines[0].description",
                "lines[0].quantity",
                "lines[0].unit_amount"
            ]
        );
    }
}
