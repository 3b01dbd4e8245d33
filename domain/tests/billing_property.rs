//! Property: for random plans (fee, interval, included quantity, flat or graduated prices),
//! random seats, usage, start dates and time zones, what N renewals invoice equals the
//! charges computed independently (the fee per seat once per period; usage priced unit by unit, each unit
//! at the price of the tier it falls in), and the periods follow one another without a gap or
//! an overlap.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::HashMap;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, TimeZone, Utc};
use domain::billing::{fee_line, renewal};
use domain::id::{CustomerId, PlanId};
use domain::money::Currency;
use domain::plan::{Charge, Interval, Plan, PlanStatus, Tier, Visibility};
use domain::subscription::{BillingAnchor, Collection, Subscription};
use proptest::prelude::*;

fn d(s: &str) -> BigDecimal {
    BigDecimal::from_str(s).unwrap()
}

/// Milli-units as a decimal: 1234 → 1.234.
fn milli(n: u32) -> BigDecimal {
    BigDecimal::new(n.into(), 3)
}

/// The cost of `used` units, unit by unit: independent of `Charge::bands`.
fn unit_by_unit(
    included: u32,
    used: u32,
    flat: Option<u32>,
    tiers: &[(Option<u32>, u32)],
) -> BigDecimal {
    let mut cost = BigDecimal::from(0);
    for unit in (included + 1)..=used {
        let price = match flat {
            Some(p) => p,
            None => tiers
                .iter()
                .find(|(up_to, _)| up_to.is_none_or(|u| unit <= u))
                .map(|(_, p)| *p)
                .expect("the last tier is open"),
        };
        cost += milli(price);
    }
    cost
}

#[derive(Debug, Clone)]
struct Case {
    fee_cents: u32,
    interval: Interval,
    count: u32,
    included: u32,
    flat: Option<u32>,
    tiers: Vec<(Option<u32>, u32)>,
    start: DateTime<Utc>,
    tz: chrono_tz::Tz,
    usage: Vec<u32>,
}

fn case() -> impl Strategy<Value = Case> {
    let interval = prop_oneof![
        Just(Interval::Day),
        Just(Interval::Week),
        Just(Interval::Month),
        Just(Interval::Year)
    ];
    let tz = prop_oneof![
        Just(chrono_tz::UTC),
        Just(chrono_tz::Europe::Berlin),
        Just(chrono_tz::America::New_York),
        Just(chrono_tz::Asia::Kolkata),
        Just(chrono_tz::Australia::Lord_Howe),
    ];
    // Tier ceilings: distinct, rising; the last tier is open.
    let tiers = prop::collection::btree_set(1u32..2000, 0..4).prop_flat_map(|ups| {
        let n = ups.len() + 1;
        prop::collection::vec(0u32..50_000, n).prop_map(move |prices| {
            let mut ups: Vec<Option<u32>> = ups.iter().copied().map(Some).collect();
            ups.push(None);
            ups.into_iter().zip(prices).collect::<Vec<_>>()
        })
    });
    (
        0u32..100_000,
        interval,
        1u32..4,
        0u32..500,
        prop::option::of(0u32..50_000),
        tiers,
        // 2020-01-01 .. 2030-01-01
        1_577_836_800i64..1_893_456_000,
        tz,
        prop::collection::vec(0u32..3000, 1..16),
    )
        .prop_map(
            |(fee_cents, interval, count, included, flat, tiers, secs, tz, usage)| Case {
                fee_cents,
                interval,
                count,
                included,
                flat,
                tiers,
                start: Utc.timestamp_opt(secs, 0).unwrap(),
                tz,
                usage,
            },
        )
}

fn plan_of(c: &Case) -> Plan {
    Plan {
        id: PlanId::new(),
        tenant_id: "t".into(),
        code: "p".into(),
        name: "P".into(),
        description: None,
        currency: Currency::parse("USD").unwrap(),
        interval: c.interval,
        interval_count: c.count,
        amount: BigDecimal::new(c.fee_cents.into(), 2),
        trial_days: 0,
        charges: vec![Charge {
            feature: "f".into(),
            included_quantity: BigDecimal::from(c.included),
            unit_price: c.flat.map(milli),
            tiers: if c.flat.is_some() {
                vec![]
            } else {
                c.tiers
                    .iter()
                    .map(|(up, p)| Tier {
                        up_to: up.map(BigDecimal::from),
                        unit_price: milli(*p),
                    })
                    .collect()
            },
            tax_rate_ids: vec![],
        }],
        entitlements: vec![],
        visibility: Visibility::Public,
        status: PlanStatus::Active,
        past_due_action: domain::plan::PastDueAction::Cancel,
        tax_rate_ids: Vec::new(),
        quantity: Default::default(),
        created_at: c.start,
        updated_at: c.start,
        purchase: domain::plan::Purchase::SelfServe,
        contact_url: None,
        license_keys: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn invoices_over_n_periods_equal_the_independent_charges(c in case(), seats in 1u32..50) {
        let plan = plan_of(&c);
        let mut sub = Subscription::start(
            &"t".into(), CustomerId::new(), &plan, 0, BillingAnchor::Anniversary,
            Collection::SendInvoice, c.tz, c.start,
        );
        sub.quantity = seats;
        let per_period = &plan.amount * BigDecimal::from(seats);
        let mut billed = fee_line(&sub, &plan, c.tz).map(|l| l.amount).unwrap_or_default();
        let mut expected = per_period.clone();
        for used in &c.usage {
            let usage = HashMap::from([("f".to_owned(), BigDecimal::from(*used))]);
            let r = renewal(&sub, &plan, &plan, &usage, c.tz);
            prop_assert_eq!(r.period_start, sub.current_period_end);
            prop_assert_eq!(r.after.current_period_start, sub.current_period_end);
            prop_assert!(r.after.current_period_end > r.after.current_period_start);
            billed += r.lines.iter().map(|l| &l.amount).sum::<BigDecimal>();
            expected += &per_period + unit_by_unit(c.included, *used, c.flat, &c.tiers);
            sub = r.after;
        }
        prop_assert_eq!(billed, expected);
    }
}

#[test]
fn a_known_case() {
    // 1,600 units, 100 included, 0.01 up to 1,000 and 0.005 beyond: 9 + 3.
    assert_eq!(
        unit_by_unit(100, 1600, None, &[(Some(1000), 10), (None, 5)]),
        d("12")
    );
}
