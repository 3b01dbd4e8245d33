//! The billing cycle's arithmetic: what goes on a subscription's invoice at a period boundary,
//! at its start, and when its plan changes mid-period. Pure functions: the renewal and the
//! upcoming-invoice preview both call [`renewal`], so the preview and the invoice agree to the
//! cent.
//!
//! Rules:
//! - The fixed fee is charged in advance for the period that starts; metered charges in arrears
//!   for the period that ended, priced from the usage rollups by the plan in force at the period's
//!   end. Usage is counted by the hour it happened in, and an hour belongs to the period its
//!   start falls in after the period's first hour: a period `[s, e)` takes the hours from
//!   `hour_of(s)` up to, not including, `hour_of(e)`, so consecutive periods share no hour and
//!   the hour running at the renewal is billed with the next period. Events that arrive after
//!   their period was invoiced are not billed.
//! - No fee and no usage are billed for a trial or while paused.
//! - Proration is by the customer's calendar days: from the change (that day included) to the
//!   period's end, over the whole period's days. Each proration amount is rounded half away from
//!   zero to the currency's minor unit once, when its line is made; everything after is exact.
//!   A calendar-anchored subscription's first, partial period is prorated the same way.

use std::collections::HashMap;

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::invoice::LineItem;
use crate::plan::{Interval, Plan};
use crate::subscription::{Subscription, SubscriptionStatus};
use crate::usage::{Aggregation, Feature, Rollup};

/// Days after a renewal invoice is issued on which collection from the wallet is tried again
/// while the subscription is past due; after the last failed retry the subscription is
/// canceled (its open invoices stay open for the merchant to collect).
pub const DUNNING_DAYS: [i64; 3] = [1, 3, 7];

/// `send_invoice` collection: an invoice is due this many days after it is issued.
pub const PAYMENT_TERMS_DAYS: i64 = 14;

/// Each feature's use over a period, from its hourly rollups: the sum, or for `max` features
/// the largest hourly maximum.
pub fn usage_totals(rollups: &[Rollup], features: &[Feature]) -> HashMap<String, BigDecimal> {
    let mut totals: HashMap<String, BigDecimal> = HashMap::new();
    for r in rollups {
        let max = features
            .iter()
            .find(|f| f.key == r.feature_key)
            .is_some_and(|f| f.aggregation == Aggregation::Max);
        let entry = totals.entry(r.feature_key.clone()).or_default();
        if max {
            if r.quantity_max > *entry {
                *entry = r.quantity_max.clone();
            }
        } else {
            *entry += &r.quantity_sum;
        }
    }
    totals
}

/// The rollup hours `[from, to)` that belong to the period `[start, end)` (see the module doc).
pub fn usage_hours(start: DateTime<Utc>, end: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (crate::usage::hour_of(start), crate::usage::hour_of(end))
}

/// The metered lines of a period: one per price band of each of the plan's charges.
pub fn usage_lines(
    plan: &Plan,
    usage: &HashMap<String, BigDecimal>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<LineItem> {
    let mut lines = Vec::new();
    for charge in &plan.charges {
        let used = usage.get(&charge.feature).cloned().unwrap_or_default();
        let bands = charge.bands(&used);
        let several = bands.len() > 1;
        for (i, (units, price)) in bands.into_iter().enumerate() {
            let description = if several {
                format!("{} usage (band {})", charge.feature, i + 1)
            } else {
                format!("{} usage", charge.feature)
            };
            lines.push(line(
                description,
                units,
                price,
                Some(&charge.feature),
                start,
                end,
            ));
        }
    }
    lines
}

/// What `sub`'s current period has accrued in metered charges so far, before discounts and
/// tax: its next renewal's usage lines if no more usage came (nothing while trialing or
/// paused, as at the renewal).
pub fn accrued_usage(
    sub: &Subscription,
    plan: &Plan,
    usage: &HashMap<String, BigDecimal>,
) -> BigDecimal {
    if matches!(
        sub.status,
        SubscriptionStatus::Trialing | SubscriptionStatus::Paused
    ) {
        return BigDecimal::zero();
    }
    usage_lines(
        plan,
        usage,
        sub.current_period_start,
        sub.current_period_end,
    )
    .iter()
    .map(|l| &l.amount)
    .sum()
}

fn line(
    description: String,
    quantity: BigDecimal,
    unit_amount: BigDecimal,
    feature: Option<&str>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> LineItem {
    LineItem {
        id: crate::id::new_id(crate::id::INVOICE_LINE),
        amount: &quantity * &unit_amount,
        description,
        quantity,
        unit_amount,
        feature: feature.map(str::to_owned),
        period_start: Some(start),
        period_end: Some(end),
        discount_amount: BigDecimal::zero(),
        // Billing applies the plan's, the customer's or the account's rates to every line.
        tax_rates: Vec::new(),
        taxes: Vec::new(),
    }
}

/// Whole calendar days from `from` to `to` in `tz` (0 when `to` is not later).
fn days(from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> i64 {
    let (a, b) = (
        from.with_timezone(&tz).date_naive(),
        to.with_timezone(&tz).date_naive(),
    );
    (b - a).num_days().max(0)
}

/// `amount` for the part `[from, end)` of the period `[period_start, end)`, by calendar days,
/// rounded once to the plan currency's minor unit.
pub fn prorate(
    plan: &Plan,
    amount: &BigDecimal,
    from: DateTime<Utc>,
    period_start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
) -> BigDecimal {
    let whole = days(period_start, end, tz);
    let part = days(from, end, tz).min(whole);
    if whole == 0 || part == whole {
        return amount.clone();
    }
    plan.currency
        .round(&(amount * BigDecimal::from(part) / BigDecimal::from(whole)))
}

fn interval_name(plan: &Plan) -> String {
    let unit = match plan.interval {
        Interval::Day => "day",
        Interval::Week => "week",
        Interval::Month => "month",
        Interval::Year => "year",
    };
    if plan.interval_count == 1 {
        format!("per {unit}")
    } else {
        format!("every {} {unit}s", plan.interval_count)
    }
}

/// The fixed fee for `sub`'s current period on `plan`, prorated when the period is the partial
/// first one of a calendar anchor; `None` for a free plan.
pub fn fee_line(sub: &Subscription, plan: &Plan, tz: Tz) -> Option<LineItem> {
    if plan.amount.is_zero() {
        return None;
    }
    let (start, end) = (sub.current_period_start, sub.current_period_end);
    let full_start = sub.whole_period_start(tz);
    let amount = if start > full_start {
        prorate(plan, &plan.amount, start, full_start, end, tz)
    } else {
        plan.amount.clone()
    };
    // Per seat: the unit is the (prorated) fee, rounded once; the line is exact from there.
    Some(line(
        format!("{} ({})", plan.name, interval_name(plan)),
        BigDecimal::from(sub.quantity),
        amount,
        None,
        start,
        end,
    ))
}

/// What happens at the end of `sub`'s current period.
#[derive(Debug, Clone)]
pub struct Renewal {
    /// The invoice's lines (none: no invoice).
    pub lines: Vec<LineItem>,
    /// The subscription afterwards: on its next period, or canceled.
    pub after: Subscription,
    /// The invoice's billing key with the subscription: the boundary.
    pub period_start: DateTime<Utc>,
}

/// The renewal of `sub` at the end of its period: `ended_plan` is the plan of the period that
/// ends, `next_plan` the one of the next period (a pending change applied), `usage` the ended
/// period's use per feature.
pub fn renewal(
    sub: &Subscription,
    ended_plan: &Plan,
    next_plan: &Plan,
    usage: &HashMap<String, BigDecimal>,
    tz: Tz,
) -> Renewal {
    let mut after = sub.clone();
    let (start, end) = (sub.current_period_start, sub.current_period_end);
    let billed = !matches!(
        sub.status,
        SubscriptionStatus::Trialing | SubscriptionStatus::Paused
    );
    let mut lines = if billed {
        usage_lines(ended_plan, usage, start, end)
    } else {
        Vec::new()
    };
    lines.append(&mut after.pending_lines);
    if sub.cancel_at_period_end {
        after.end(end);
    } else {
        after.roll(next_plan, tz);
        if after.status != SubscriptionStatus::Paused {
            lines.extend(fee_line(&after, next_plan, tz));
        }
    }
    Renewal {
        lines,
        after,
        period_start: end,
    }
}

/// The two lines of a change of plan or seats at `at`: the unused part of the old fee back (per
/// seat held), the new fee for the rest of the period (per seat from now). Nothing during a
/// trial (there is no fee to prorate).
pub fn proration_lines(
    sub: &Subscription,
    old: &Plan,
    new: &Plan,
    new_quantity: u32,
    at: DateTime<Utc>,
    tz: Tz,
) -> Vec<LineItem> {
    if sub.status == SubscriptionStatus::Trialing {
        return Vec::new();
    }
    let end = sub.current_period_end;
    let full_start = sub.whole_period_start(tz);
    let unused = prorate(old, &old.amount, at, full_start, end, tz);
    let remaining = prorate(new, &new.amount, at, full_start, end, tz);
    let mut lines = Vec::new();
    if !unused.is_zero() {
        lines.push(line(
            format!("Unused time on {}", old.name),
            BigDecimal::from(sub.quantity),
            -unused,
            None,
            at,
            end,
        ));
    }
    if !remaining.is_zero() {
        lines.push(line(
            format!("Remaining time on {}", new.name),
            BigDecimal::from(new_quantity),
            remaining,
            None,
            at,
            end,
        ));
    }
    lines
}

/// The unused part of the current period's fee for one seat at `at` (credited to the wallet,
/// per seat, when a subscription is canceled at once with `unused = wallet_credit`).
pub fn unused_fee(sub: &Subscription, plan: &Plan, at: DateTime<Utc>, tz: Tz) -> BigDecimal {
    if matches!(
        sub.status,
        SubscriptionStatus::Trialing | SubscriptionStatus::Paused
    ) {
        return BigDecimal::zero();
    }
    let full_start = sub.whole_period_start(tz);
    prorate(
        plan,
        &plan.amount,
        at,
        full_start,
        sub.current_period_end,
        tz,
    )
}

/// The line crediting the unused part of the current period's fee (negative; `None` when
/// nothing is unused).
pub fn unused_fee_line(
    sub: &Subscription,
    plan: &Plan,
    at: DateTime<Utc>,
    tz: Tz,
) -> Option<LineItem> {
    let value = unused_fee(sub, plan, at, tz);
    (value > BigDecimal::zero()).then(|| {
        line(
            format!("Unused time on {}", plan.name),
            BigDecimal::from(sub.quantity),
            -value,
            None,
            at,
            sub.current_period_end,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{CustomerId, PlanId};
    use crate::money::Currency;
    use crate::plan::{Charge, PlanStatus, Tier, Visibility};
    use crate::subscription::{BillingAnchor, Collection};
    use std::str::FromStr;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn plan(amount: &str) -> Plan {
        Plan {
            id: PlanId::new(),
            tenant_id: "t".into(),
            code: "p".into(),
            name: "Pro".into(),
            description: None,
            currency: Currency::parse("USD").unwrap(),
            interval: Interval::Month,
            interval_count: 1,
            amount: d(amount),
            trial_days: 0,
            charges: vec![Charge {
                feature: "api_calls".into(),
                included_quantity: d("100"),
                unit_price: None,
                tiers: vec![
                    Tier {
                        up_to: Some(d("1000")),
                        unit_price: d("0.01"),
                    },
                    Tier {
                        up_to: None,
                        unit_price: d("0.005"),
                    },
                ],
                tax_rate_ids: vec![],
            }],
            entitlements: vec![],
            visibility: Visibility::Public,
            status: PlanStatus::Active,
            past_due_action: crate::plan::PastDueAction::Cancel,
            tax_rate_ids: Vec::new(),
            quantity: Default::default(),
            created_at: utc("2027-01-01T00:00:00Z"),
            updated_at: utc("2027-01-01T00:00:00Z"),
            purchase: crate::plan::Purchase::SelfServe,
            contact_url: None,
            license_keys: None,
        }
    }

    fn sub(p: &Plan, anchor: BillingAnchor, now: &str) -> Subscription {
        Subscription::start(
            &"t".into(),
            CustomerId::new(),
            p,
            0,
            anchor,
            Collection::SendInvoice,
            chrono_tz::UTC,
            utc(now),
        )
    }

    #[test]
    fn a_renewal_bills_the_next_fee_and_the_ended_periods_usage_by_band() {
        let p = plan("49.00");
        let s = sub(&p, BillingAnchor::Anniversary, "2027-01-31T10:00:00Z");
        let usage = HashMap::from([("api_calls".to_owned(), d("1600"))]);
        let r = renewal(&s, &p, &p, &usage, chrono_tz::UTC);
        let amounts: Vec<_> = r.lines.iter().map(|l| l.amount.clone()).collect();
        // Units 101–1000 at 0.01, 1001–1600 at 0.005, then the fee for Feb 28 – Mar 31.
        assert_eq!(amounts, vec![d("9.00"), d("3.000"), d("49.00")]);
        assert_eq!(r.period_start, utc("2027-02-28T10:00:00Z"));
        assert_eq!(r.after.current_period_start, utc("2027-02-28T10:00:00Z"));
        assert_eq!(r.after.current_period_end, utc("2027-03-31T10:00:00Z"));
        assert_eq!(r.after.period_index, 1);
    }

    #[test]
    fn cancel_at_period_end_bills_only_the_usage_and_ends() {
        let p = plan("49.00");
        let mut s = sub(&p, BillingAnchor::Anniversary, "2027-03-01T00:00:00Z");
        s.cancel_at_period_end = true;
        let r = renewal(&s, &p, &p, &HashMap::new(), chrono_tz::UTC);
        assert!(r.lines.is_empty());
        assert_eq!(r.after.status, SubscriptionStatus::Canceled);
        assert_eq!(r.after.ended_at, Some(utc("2027-04-01T00:00:00Z")));
        assert_eq!(r.after.due_at(), None);
    }

    #[test]
    fn calendar_first_periods_and_changes_prorate_by_days_rounded_once() {
        let p = plan("31.00");
        // Jan 15 → Feb 1 is 17 of January's 31 days.
        let s = sub(&p, BillingAnchor::Calendar, "2027-01-15T12:00:00Z");
        assert_eq!(fee_line(&s, &p, chrono_tz::UTC).unwrap().amount, d("17.00"));
        let ten = plan("10.00");
        // 10 × 17 / 31 = 5.4838… → 5.48 each way.
        let lines = proration_lines(&s, &ten, &p, 1, utc("2027-01-15T12:00:00Z"), chrono_tz::UTC);
        let amounts: Vec<_> = lines.iter().map(|l| l.amount.clone()).collect();
        assert_eq!(amounts, vec![d("-5.48"), d("17.00")]);
        assert_eq!(
            unused_fee(&s, &p, utc("2027-01-25T00:00:00Z"), chrono_tz::UTC),
            d("7.00")
        );
    }
}
