//! Taxes: the merchant's tax rates, which of them apply to an invoice line, and the exact tax
//! of each line and each rate.
//!
//! The rates are the merchant's (this product does not compute rates from addresses). A rate
//! applies, most specific first: the line's own `tax_rate_ids`, the plan's (for the lines
//! billing makes from a subscription), the customer's, the account's `default_tax_rate_ids`.
//! A customer `exempt` or `reverse_charge` pays no tax; a reverse-charge invoice says so.
//!
//! Money rule, one place for invoices, renewals, previews and the upcoming invoice:
//! - every line `amount` is at the currency's minor unit, half away from zero (unit prices may
//!   keep more places; the line is what is charged);
//! - inclusive tax of a line = the part of the amount that is tax, amount × rate / (1 + Σ the
//!   line's inclusive rates) (with one inclusive rate: amount − amount / (1 + rate)); exclusive
//!   tax = net × rate, where the net is the amount less its inclusive tax (the amount itself
//!   when no rate on the line is inclusive);
//! - each line's tax of each rate is rounded to the minor unit, half away from zero, and a
//!   rate's tax on the invoice is the sum of its rounded line taxes. Rounding per line (not on
//!   the invoice's sum) is what lets every line show a tax that adds up to the invoice's, the
//!   figure a tax authority checks line by line; half away from zero is the commercial rule
//!   most tax authorities name (and the one `Currency::round` applies everywhere else);
//! - `subtotal` = Σ line amounts; `total` = subtotal + exclusive tax (inclusive tax is inside
//!   the amounts already); `total_tax` = all tax; `subtotal_excluding_tax` = subtotal −
//!   inclusive tax.

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::check_text;
use crate::id::{TaxRateId, TenantId};
use crate::money::Currency;
use crate::{DomainError, DomainResult, FieldError};

crate::text_enum! {
    /// Whether a customer pays tax.
    #[derive(Default)]
    pub enum TaxExempt {
        /// The rates that apply are charged.
        #[default]
        None,
        /// No tax (a tax-exempt organisation, an export…).
        Exempt,
        /// No tax: the buyer accounts for it (EU B2B reverse charge); the invoice says so.
        ReverseCharge,
    }
}

/// A tax rate of the merchant's. Its percentage never changes (an invoice keeps a copy of what
/// it applied); archived, it stays on the invoices that used it and cannot be applied anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRate {
    pub id: TaxRateId,
    pub tenant_id: TenantId,
    /// As printed on invoices ("VAT", "GST", "Sales tax").
    pub name: String,
    /// 0–100, at most 4 decimal places.
    pub percentage: BigDecimal,
    /// Whether the prices it applies to include it.
    pub inclusive: bool,
    /// ISO 3166-1 alpha-2, for the merchant's reference.
    pub country: Option<String>,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A create's input.
#[derive(Debug, Clone)]
pub struct NewTaxRate {
    pub name: String,
    /// As the client sent it: a decimal string.
    pub percentage: String,
    pub inclusive: bool,
    pub country: Option<String>,
    pub description: Option<String>,
}

/// At most this many rates on one line (and as one default).
pub const MAX_RATES: usize = 5;

impl TaxRate {
    /// Validates `new` (422 naming each field) and makes the rate.
    pub fn new(tenant_id: &TenantId, new: NewTaxRate, now: DateTime<Utc>) -> DomainResult<Self> {
        let mut errs = Vec::new();
        check_text(&mut errs, "name", Some(&new.name), 100, false);
        check_text(
            &mut errs,
            "description",
            new.description.as_ref(),
            500,
            false,
        );
        let percentage = match parse_percentage(&new.percentage) {
            Ok(p) => p,
            Err(message) => {
                errs.push(FieldError::new("percentage", message));
                BigDecimal::zero()
            }
        };
        let country = new.country.map(|c| c.trim().to_ascii_uppercase());
        if let Some(c) = &country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                errs.push(FieldError::new(
                    "country",
                    "must be an ISO 3166-1 alpha-2 code (two letters)",
                ));
            }
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        Ok(Self {
            id: TaxRateId::new(),
            tenant_id: tenant_id.clone(),
            name: new.name.trim().to_owned(),
            percentage,
            inclusive: new.inclusive,
            country,
            description: new.description,
            active: true,
            created_at: now,
            archived_at: None,
        })
    }

    /// What an invoice line keeps of the rate.
    pub fn applied(&self) -> AppliedRate {
        AppliedRate {
            tax_rate_id: self.id.clone(),
            name: self.name.clone(),
            percentage: self.percentage.clone(),
            inclusive: self.inclusive,
        }
    }
}

/// A percentage as a client writes it: a decimal from 0 to 100 with at most 4 places.
fn parse_percentage(text: &str) -> Result<BigDecimal, &'static str> {
    let p = crate::money::parse_amount(text)
        .map_err(|_| "must be a decimal string such as \"19\" or \"7.5\"")?;
    if p < BigDecimal::zero() || p > 100 {
        return Err("must be from 0 to 100");
    }
    if p.with_scale(4) != p {
        return Err("must have at most 4 decimal places");
    }
    Ok(p.normalized())
}

/// A rate as an invoice line applied it: a copy, so archiving or renaming the rate later never
/// changes an issued invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRate {
    pub tax_rate_id: TaxRateId,
    pub name: String,
    pub percentage: BigDecimal,
    pub inclusive: bool,
}

/// One line's tax of one rate, at the minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    pub tax_rate_id: TaxRateId,
    pub amount: BigDecimal,
}

/// An invoice's tax of one rate: the rate as applied, the amount it was applied to (net of
/// inclusive tax) and the sum of its line taxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxAmount {
    pub rate: AppliedRate,
    pub taxable_amount: BigDecimal,
    pub amount: BigDecimal,
}

/// The tax of one line of `amount` (already at the minor unit) at `rates`, one entry per rate
/// in the order given, each rounded to the minor unit half away from zero. Inclusive rates
/// take their part of the amount first; exclusive rates apply to what is left (the net), so a
/// line's net is the same figure for every rate on it.
pub fn line_taxes(amount: &BigDecimal, rates: &[AppliedRate], currency: Currency) -> Vec<LineTax> {
    let hundred = BigDecimal::from(100);
    let inclusive_sum: BigDecimal = rates
        .iter()
        .filter(|r| r.inclusive)
        .map(|r| &r.percentage / &hundred)
        .sum();
    let divisor = BigDecimal::from(1) + &inclusive_sum;
    let included: Vec<BigDecimal> = rates
        .iter()
        .map(|r| match r.inclusive {
            true => currency.round(&(amount * (&r.percentage / &hundred) / &divisor)),
            false => BigDecimal::zero(),
        })
        .collect();
    let net = amount - included.iter().sum::<BigDecimal>();
    rates
        .iter()
        .zip(included)
        .map(|(r, inclusive_tax)| LineTax {
            tax_rate_id: r.tax_rate_id.clone(),
            amount: match r.inclusive {
                true => inclusive_tax,
                false => currency.round(&(&net * &r.percentage / &hundred)),
            },
        })
        .collect()
}

/// The invoice's taxes, one per rate in the order the rates first appear on its lines: each
/// the sum of its line taxes, on the sum of the lines' net amounts (amount less the line's
/// inclusive tax).
pub fn group<'a>(
    lines: impl IntoIterator<Item = (&'a BigDecimal, &'a [AppliedRate], &'a [LineTax])>,
) -> Vec<TaxAmount> {
    let mut order: Vec<TaxRateId> = Vec::new();
    let mut by_rate: BTreeMap<TaxRateId, TaxAmount> = BTreeMap::new();
    for (amount, rates, taxes) in lines {
        let inclusive: BigDecimal = rates
            .iter()
            .zip(taxes)
            .filter(|(r, _)| r.inclusive)
            .map(|(_, t)| t.amount.clone())
            .sum();
        let net = amount - &inclusive;
        for (rate, tax) in rates.iter().zip(taxes) {
            let entry = by_rate.entry(rate.tax_rate_id.clone()).or_insert_with(|| {
                order.push(rate.tax_rate_id.clone());
                TaxAmount {
                    rate: rate.clone(),
                    taxable_amount: BigDecimal::zero(),
                    amount: BigDecimal::zero(),
                }
            });
            entry.taxable_amount += &net;
            entry.amount += &tax.amount;
        }
    }
    order
        .into_iter()
        .filter_map(|id| by_rate.remove(&id))
        .collect()
}

/// The rates that apply to a line: the line's own list when it has one (an empty one: no tax
/// on that line), else the first non-empty of `defaults` (most specific first: the plan's, the
/// customer's, the account's); none for a customer who does not pay tax.
pub fn applicable<'a>(
    exempt: TaxExempt,
    line: Option<&'a [TaxRateId]>,
    defaults: impl IntoIterator<Item = &'a [TaxRateId]>,
) -> &'a [TaxRateId] {
    if exempt != TaxExempt::None {
        return &[];
    }
    line.or_else(|| defaults.into_iter().find(|ids| !ids.is_empty()))
        .unwrap_or(&[])
}

/// Checks a list of rate ids given in `field`: at most [`MAX_RATES`], no repeats.
pub fn check_ids(field: &str, ids: &[TaxRateId], errs: &mut Vec<FieldError>) {
    if ids.len() > MAX_RATES {
        errs.push(FieldError::new(
            field,
            format!("at most {MAX_RATES} tax rates"),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            errs.push(FieldError::new(format!("{field}[{i}]"), "is given twice"));
        }
    }
}

/// Which of the account's rates a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaxRateFilter {
    /// Only active (`true`) or only archived (`false`) rates.
    pub active: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    fn rate(p: &str, inclusive: bool) -> AppliedRate {
        AppliedRate {
            tax_rate_id: TaxRateId::new(),
            name: "VAT".into(),
            percentage: d(p),
            inclusive,
        }
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn exclusive_tax_is_the_rounded_product() {
        let t = line_taxes(&d("10.05"), &[rate("19", false)], eur());
        // 10.05 × 0.19 = 1.9095 → 1.91
        assert_eq!(t[0].amount, d("1.91"));
    }

    #[test]
    fn inclusive_tax_is_the_part_of_the_amount_that_is_tax() {
        let t = line_taxes(&d("119.00"), &[rate("19", true)], eur());
        assert_eq!(t[0].amount, d("19.00"));
        // 10 − 10 / 1.07 = 0.654… → 0.65
        let t = line_taxes(&d("10.00"), &[rate("7", true)], eur());
        assert_eq!(t[0].amount, d("0.65"));
    }

    #[test]
    fn half_rounds_away_from_zero() {
        // 0.25 × 10% = 0.025 → 0.03; a credit of −0.25 → −0.03.
        assert_eq!(
            line_taxes(&d("0.25"), &[rate("10", false)], eur())[0].amount,
            d("0.03")
        );
        assert_eq!(
            line_taxes(&d("-0.25"), &[rate("10", false)], eur())[0].amount,
            d("-0.03")
        );
    }

    #[test]
    fn grouping_sums_rounded_line_taxes_per_rate() {
        let (vat, sales) = (rate("19", false), rate("7", true));
        let l1 = (d("10.05"), vec![vat.clone()]);
        let l2 = (d("10.00"), vec![vat.clone(), sales.clone()]);
        let t1 = line_taxes(&l1.0, &l1.1, eur());
        let t2 = line_taxes(&l2.0, &l2.1, eur());
        let g = group([
            (&l1.0, l1.1.as_slice(), t1.as_slice()),
            (&l2.0, l2.1.as_slice(), t2.as_slice()),
        ]);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].rate, vat);
        assert_eq!(g[0].amount, &t1[0].amount + &t2[0].amount);
        // The inclusive 7% leaves 10.00 − 0.65 = 9.35 net on the second line, taxed 19%: 1.78.
        assert_eq!(t2[0].amount, d("1.78"));
        assert_eq!(g[0].taxable_amount, d("19.40"));
        assert_eq!(g[1].amount, d("0.65"));
    }

    #[test]
    fn percentages_are_zero_to_a_hundred_with_four_places() {
        assert_eq!(parse_percentage("19").unwrap(), d("19"));
        assert_eq!(parse_percentage("7.6543").unwrap(), d("7.6543"));
        assert!(parse_percentage("7.65432").is_err());
        assert!(parse_percentage("-1").is_err());
        assert!(parse_percentage("100.01").is_err());
        assert!(parse_percentage("1e1").is_err());
        assert!(parse_percentage("abc").is_err());
    }

    #[test]
    fn the_most_specific_non_empty_list_applies_unless_exempt() {
        let (a, b) = (vec![TaxRateId::new()], vec![TaxRateId::new()]);
        let pick = |e, line| applicable(e, line, [&[][..], &a[..], &b[..]]).to_vec();
        assert_eq!(pick(TaxExempt::None, None), a);
        assert_eq!(pick(TaxExempt::None, Some(&b[..])), b);
        assert!(pick(TaxExempt::None, Some(&[][..])).is_empty());
        assert!(pick(TaxExempt::Exempt, None).is_empty());
        assert!(pick(TaxExempt::ReverseCharge, Some(&b[..])).is_empty());
    }
}
