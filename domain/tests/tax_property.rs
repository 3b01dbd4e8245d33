//! Property: for random invoices (lines of random quantities and unit prices, in currencies of
//! 0, 2 and 3 decimals) and random rates (inclusive and exclusive mixed, on one line and across
//! lines), the figures add up as `domain::tax` states: every line amount and line tax is at the
//! minor unit; total = subtotal + exclusive tax; each rate's tax is the sum of its line taxes;
//! total tax is the sum of the rates'; the subtotal excluding tax is the subtotal less inclusive
//! tax; and each line tax is within half a minor unit of its exact value. With a random
//! discount (a percentage, or an amount off) taken off before tax: each line's discount is at
//! the minor unit and never more than the line, a percentage is within half a minor unit of
//! exact, an amount off takes exactly what it says (at most what the lines charge), tax is on
//! what is left, total = subtotal − discount + exclusive tax, and a 100% discount makes a zero
//! invoice that is paid when issued.
//!
//! And for random credit notes of such invoices (lines or amounts, lowering what is due or
//! returning what was paid, some voided again): what is credited never exceeds the total,
//! `amount_paid + amount_credited ≤ total`, no line is credited past its amount nor has more
//! tax reversed than it bore, a fully credited line has exactly its tax reversed, and every
//! note's total is its subtotal plus exclusive tax at the minor unit; a discounted line is
//! credited at most what it charged after its discount. A refused credit changes nothing.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use bigdecimal::{BigDecimal, Zero};
use chrono::Utc;
use domain::credit_note::{
    self, Credit, CreditNote, CreditReason, LineCredit, NewCreditNote, RefundTo,
};
use domain::discount::{discount_lines, AppliedDiscount, Coupon, NewCoupon};
use domain::id::{CustomerId, TaxRateId, TenantId};
use domain::invoice::{price_lines, Invoice, InvoiceStatus, NewLine};
use domain::money::Currency;
use domain::tax::AppliedRate;
use proptest::prelude::*;

fn rates_strategy() -> impl Strategy<Value = Vec<AppliedRate>> {
    // Percentages of up to 4 places, 0 to 100.
    prop::collection::vec((0u32..=1_000_000, any::<bool>()), 1..5).prop_map(|rs| {
        rs.into_iter()
            .map(|(p, inclusive)| AppliedRate {
                tax_rate_id: TaxRateId::new(),
                name: "Rate".into(),
                percentage: BigDecimal::new(p.into(), 4),
                inclusive,
            })
            .collect()
    })
}

type Line = (u32, u64, Vec<usize>);

fn lines_strategy() -> impl Strategy<Value = Vec<Line>> {
    // (quantity in thousandths, unit price in millionths, which rates apply)
    prop::collection::vec(
        (
            1u32..5_000_000,
            0u64..50_000_000_000,
            prop::collection::vec(0usize..4, 0..3),
        ),
        1..12,
    )
}

/// A discount: (a percentage?, hundredths of a percent or minor units off).
type Discount = Option<(bool, u32)>;

fn discount_strategy() -> impl Strategy<Value = Discount> {
    prop::option::of((any::<bool>(), 1u32..=10_000))
}

fn applied(c: Currency, d: (bool, u32)) -> AppliedDiscount {
    let coupon = Coupon::new(
        &TenantId::from("ten_t"),
        NewCoupon {
            name: "Off".into(),
            percent_off: d.0.then(|| BigDecimal::new(d.1.into(), 2).to_string()),
            amount_off: (!d.0)
                .then(|| BigDecimal::new(d.1.into(), i64::from(c.minor_units())).to_string()),
            currency: (!d.0).then(|| c.code().to_owned()),
            duration: Some("forever".into()),
            ..NewCoupon::default()
        },
        Utc::now(),
    )
    .unwrap();
    AppliedDiscount::of(&coupon, None, Utc::now())
}

/// A draft of random `lines` in `c`, each taxed at its pick of `rates`, less `discount`.
fn invoice(c: Currency, rates: &[AppliedRate], lines: &[Line], discount: Discount) -> Invoice {
    let new: Vec<NewLine> = lines
        .iter()
        .map(|(q, u, _)| NewLine {
            description: "x".into(),
            quantity: BigDecimal::new((*q).into(), 3),
            unit_amount: BigDecimal::new((*u).into(), 6),
            feature: None,
            period_start: None,
            period_end: None,
            tax_rate_ids: None,
        })
        .collect();
    let mut priced = price_lines(new).unwrap();
    for (line, (_, _, which)) in priced.iter_mut().zip(lines) {
        let mut picked: Vec<usize> = which.iter().map(|i| i % rates.len()).collect();
        picked.sort_unstable();
        picked.dedup();
        line.tax_rates = picked.into_iter().map(|i| rates[i].clone()).collect();
    }
    let entry = discount.and_then(|d| discount_lines(&applied(c, d), c, true, &mut priced));
    let mut inv = Invoice::draft(
        &TenantId::from("ten_t"),
        CustomerId::new(),
        c,
        priced,
        Utc::now(),
    );
    inv.discounts = entry.into_iter().collect();
    inv.reprice();
    inv
}

fn is_minor(c: Currency, v: &BigDecimal) -> bool {
    c.round(v) == *v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn taxes_add_up(
        rates in rates_strategy(),
        lines in lines_strategy(),
        code in prop::sample::select(vec!["EUR", "JPY", "KWD"]),
        discount in discount_strategy(),
    ) {
        let c = Currency::parse(code).unwrap();
        let mut inv = invoice(c, &rates, &lines, discount);
        let half = BigDecimal::new(5.into(), i64::from(c.minor_units()) + 1);
        let charged: BigDecimal = inv.lines.iter().map(|l| l.amount.clone()).sum();
        for l in &inv.lines {
            prop_assert!(is_minor(c, &l.discount_amount));
            prop_assert!(l.discount_amount >= BigDecimal::zero() && l.discount_amount <= l.amount);
            if let Some((true, p)) = discount {
                let exact = &l.amount * BigDecimal::new(p.into(), 2) / BigDecimal::from(100);
                prop_assert!((&l.discount_amount - exact).abs() <= half);
            }
        }
        match discount {
            Some((false, minor)) => {
                let off = BigDecimal::new(minor.into(), i64::from(c.minor_units()));
                prop_assert_eq!(inv.total_discount(), off.min(charged.clone()));
            }
            None => prop_assert!(inv.total_discount().is_zero()),
            Some((true, _)) => {}
        }
        let entries: BigDecimal = inv.discounts.iter().map(|d| d.amount.clone()).sum();
        prop_assert_eq!(entries, inv.total_discount());
        if discount == Some((true, 10_000)) {
            prop_assert!(inv.total.is_zero());
            inv.finalize_unnumbered(Utc::now());
            prop_assert_eq!(inv.payment_status, domain::invoice::PaymentStatus::Paid);
            prop_assert!(inv.amount_due().is_zero());
        }

        let mut exclusive = BigDecimal::zero();
        let mut inclusive = BigDecimal::zero();
        let hundred = BigDecimal::from(100);
        for l in &inv.lines {
            prop_assert!(is_minor(c, &l.amount));
            prop_assert_eq!(l.taxes.len(), l.tax_rates.len());
            let inclusive_sum: BigDecimal =
                l.tax_rates.iter().filter(|r| r.inclusive).map(|r| &r.percentage / &hundred).sum();
            let included: BigDecimal = l
                .tax_rates
                .iter()
                .zip(&l.taxes)
                .filter(|(r, _)| r.inclusive)
                .map(|(_, t)| t.amount.clone())
                .sum();
            // Tax is on what the line charges after its discount.
            let charged = l.net();
            let net = &charged - &included;
            for (r, t) in l.tax_rates.iter().zip(&l.taxes) {
                prop_assert!(is_minor(c, &t.amount));
                prop_assert_eq!(&t.tax_rate_id, &r.tax_rate_id);
                let exact = if r.inclusive {
                    &charged * (&r.percentage / &hundred) / (BigDecimal::from(1) + &inclusive_sum)
                } else {
                    &net * &r.percentage / &hundred
                };
                prop_assert!((&t.amount - &exact).abs() <= half, "{} vs {}", t.amount, exact);
                if r.inclusive {
                    inclusive += &t.amount;
                } else {
                    exclusive += &t.amount;
                }
            }
        }
        let subtotal: BigDecimal = inv.lines.iter().map(|l| l.amount.clone()).sum();
        prop_assert_eq!(&inv.subtotal, &subtotal);
        prop_assert_eq!(&inv.total, &(&subtotal - inv.total_discount() + &exclusive));
        prop_assert_eq!(inv.total_tax(), &exclusive + &inclusive);
        prop_assert_eq!(inv.subtotal_excluding_tax(), &subtotal - inv.total_discount() - &inclusive);
        let groups = inv.tax_amounts();
        let grouped: BigDecimal = groups.iter().map(|g| g.amount.clone()).sum();
        prop_assert_eq!(grouped, inv.total_tax());
        for g in &groups {
            let of_rate: BigDecimal = inv
                .lines
                .iter()
                .flat_map(|l| &l.taxes)
                .filter(|t| t.tax_rate_id == g.rate.tax_rate_id)
                .map(|t| t.amount.clone())
                .sum();
            prop_assert_eq!(&g.amount, &of_rate);
        }
    }

    #[test]
    fn credit_notes_never_exceed_the_invoice(
        rates in rates_strategy(),
        lines in lines_strategy(),
        code in prop::sample::select(vec!["EUR", "JPY", "KWD"]),
        paid_share in 0u32..=100,
        // (by lines?, which line, share of it in %, refund?, void it after?)
        credits in prop::collection::vec((any::<bool>(), 0usize..12, 1u32..=130, any::<bool>(), 0u8..10), 1..12),
        discount in discount_strategy(),
    ) {
        let c = Currency::parse(code).unwrap();
        let mut inv = invoice(c, &rates, &lines, discount);
        inv.status = InvoiceStatus::Finalized;
        inv.amount_paid = c.round(&(&inv.total * BigDecimal::from(paid_share) / BigDecimal::from(100)));
        inv.settle(false);
        let mut issued: Vec<CreditNote> = Vec::new();
        for (by_lines, which, share, refund, void) in credits {
            let pct = |v: &BigDecimal| c.round(&(v * BigDecimal::from(share) / BigDecimal::from(100)));
            let line = &inv.lines[which % inv.lines.len()];
            let credit = if by_lines {
                Credit::Lines(vec![LineCredit { invoice_line_id: line.id.clone(), amount: pct(&line.net()) }])
            } else {
                Credit::Amount(pct(&inv.total))
            };
            let new = NewCreditNote {
                credit,
                reason: CreditReason::Other,
                memo: None,
                refund_to: if refund { RefundTo::Wallet } else { RefundTo::Nothing },
            };
            let before = (inv.amount_paid.clone(), inv.amount_credited.clone(), inv.payment_status);
            let live: Vec<CreditNote> = issued.iter().filter(|n| n.voided_at.is_none()).cloned().collect();
            match credit_note::check_request(&new).and_then(|()| credit_note::credit(&mut inv, &live, &new, "CN".into(), Utc::now())) {
                Ok(mut note) => {
                    prop_assert!(is_minor(c, &note.total) && note.total > BigDecimal::zero());
                    let exclusive: BigDecimal = note.tax_amounts.iter().filter(|t| !t.rate.inclusive).map(|t| t.amount.clone()).sum();
                    prop_assert_eq!(&note.total, &(&note.subtotal + exclusive));
                    if void == 0 && note.refund_to == RefundTo::Nothing {
                        credit_note::void(&mut inv, &mut note, Utc::now()).unwrap();
                    }
                    issued.push(note);
                }
                Err(_) => {
                    prop_assert_eq!((inv.amount_paid.clone(), inv.amount_credited.clone(), inv.payment_status), before);
                }
            }
            let live: Vec<&CreditNote> = issued.iter().filter(|n| n.voided_at.is_none()).collect();
            let credited: BigDecimal = live.iter().map(|n| n.total.clone()).sum();
            prop_assert_eq!(&credited, &inv.amount_credited);
            prop_assert!(inv.amount_credited <= inv.total);
            prop_assert!(inv.amount_paid >= BigDecimal::zero());
            prop_assert!(&inv.amount_paid + &inv.amount_credited <= inv.total);
            for l in &inv.lines {
                let of_line: Vec<_> = live.iter().flat_map(|n| &n.lines)
                    .filter(|x| x.invoice_line_id.as_deref() == Some(l.id.as_str())).collect();
                let amount: BigDecimal = of_line.iter().map(|x| x.amount.clone()).sum();
                prop_assert!(amount <= l.net(), "credited past what the line charged");
                for t in &l.taxes {
                    let reversed: BigDecimal = of_line.iter().flat_map(|x| &x.taxes)
                        .filter(|x| x.tax_rate_id == t.tax_rate_id).map(|x| x.amount.clone()).sum();
                    prop_assert!(reversed >= BigDecimal::zero() && reversed <= t.amount);
                    if amount == l.net() {
                        prop_assert_eq!(&reversed, &t.amount, "a fully credited line reverses its tax");
                    }
                }
            }
        }
    }
}
