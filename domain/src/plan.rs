//! Plans: what a subscription sells, priced exactly, and the billing periods it runs in.
//!
//! Pricing rules:
//! - A metered charge gives `included_quantity` units free each period; the rest is priced at a
//!   flat `unit_price`, or through graduated `tiers` (each tier's units at that tier's price;
//!   `up_to` counts from the first unit, before the included quantity is taken off). Exact
//!   decimals; rounding to the currency happens once, on the invoice.
//! - What a plan sells never changes under its subscribers: its currency, fee, interval and
//!   charges are fixed when it is created. New prices are a new plan (a new `code`); the old one
//!   is archived and keeps serving the subscriptions on it.
//!
//! Period rules: boundaries are counted from the subscription's anchor in the customer's time
//! zone, never from the previous boundary, so a month-end anchor stays at the month's end
//! (Jan 31 → Feb 28/29 → Mar 31) and a daily period stays at local midnight across daylight
//! saving changes.

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Datelike, Duration, LocalResult, Months, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::id::PlanId;
use crate::money::Currency;
use crate::{DomainResult, FieldError};

crate::text_enum! {
    pub enum Interval {
        Day,
        Week,
        Month,
        Year,
    }
}

crate::text_enum! {
    /// Public plans appear in the portal's catalogue; private ones are sold by the merchant.
    pub enum Visibility {
        Public,
        Private,
    }
}

crate::text_enum! {
    /// Archived plans take no new subscriptions and leave the catalogue; existing
    /// subscriptions keep them.
    pub enum PlanStatus {
        Active,
        Archived,
    }
}

crate::text_enum! {
    /// How a customer gets the plan: on their own in the portal, or by talking to the merchant
    /// (the portal shows a "Contact us" link to `contact_url` and refuses to subscribe or change
    /// to it with 409 `plan_contact_sales`; the merchant's API still can).
    pub enum Purchase {
        SelfServe,
        ContactSales,
    }
}

/// A plan's `purchase` and `contact_url`, checked together: `contact_sales` needs an https
/// `contact_url`, `self_serve` takes none.
pub fn check_purchase(
    purchase: Purchase,
    contact_url: Option<&str>,
    errs: &mut Vec<crate::FieldError>,
) {
    match (purchase, contact_url) {
        (Purchase::ContactSales, None) => errs.push(crate::FieldError::new(
            "contact_url",
            "is required when purchase is contact_sales",
        )),
        (Purchase::ContactSales, Some(u)) if !crate::portal_session::is_web_url(u, true) => errs
            .push(crate::FieldError::new(
                "contact_url",
                "must be an https URL (at most 2048 characters)",
            )),
        (Purchase::SelfServe, Some(_)) => errs.push(crate::FieldError::new(
            "contact_url",
            "is only used when purchase is contact_sales",
        )),
        _ => {}
    }
}

crate::text_enum! {
    /// What dunning does when the last collection retry of a past-due subscription fails.
    pub enum PastDueAction {
        /// The subscription is canceled; its invoices stay open.
        Cancel,
        /// The subscription stays past due, its invoices open, until paid.
        LeaveUnpaid,
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub id: PlanId,
    pub tenant_id: crate::id::TenantId,
    /// Unique per account; how merchants and subscriptions name the plan.
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub currency: Currency,
    pub interval: Interval,
    pub interval_count: u32,
    /// The fixed fee, charged in advance each period.
    pub amount: BigDecimal,
    pub trial_days: u32,
    pub charges: Vec<Charge>,
    pub entitlements: Vec<Entitlement>,
    pub visibility: Visibility,
    pub status: PlanStatus,
    pub past_due_action: PastDueAction,
    /// The tax rates of what billing charges for the plan (before the customer's and the
    /// account's defaults; see `crate::tax`).
    pub tax_rate_ids: Vec<crate::id::TaxRateId>,
    /// How many seats a subscription may have (its fixed fee is per seat).
    pub quantity: QuantityLimits,
    /// Self-serve, or "Contact us" (see [`Purchase`]).
    pub purchase: Purchase,
    /// Where "Contact us" leads (https; contact-sales plans only).
    pub contact_url: Option<String>,
    /// Whether (and how) subscriptions started on the plan get a license key.
    pub license_keys: Option<crate::license::LicensePolicy>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The longest trial a plan may give.
pub const MAX_TRIAL_DAYS: u32 = 730;

/// The longest period a plan may bill: ten years.
pub const MAX_PERIOD_MONTHS: u32 = 120;

/// One step of a graduated price: units up to `up_to` (all remaining units when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub up_to: Option<BigDecimal>,
    pub unit_price: BigDecimal,
}

/// A metered charge for one feature, billed in arrears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// The feature key.
    pub feature: String,
    pub included_quantity: BigDecimal,
    /// Price per unit beyond the included quantity, when there are no tiers.
    pub unit_price: Option<BigDecimal>,
    pub tiers: Vec<Tier>,
    /// Tax rates of this charge's lines, before the plan's (empty: the plan's). Plans stored
    /// before charges had rates read as empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tax_rate_ids: Vec<crate::id::TaxRateId>,
}

impl Charge {
    /// What `quantity` units used in one period cost, exact.
    pub fn cost(&self, quantity: &BigDecimal) -> BigDecimal {
        self.bands(quantity)
            .iter()
            .map(|(units, price)| units * price)
            .sum()
    }

    /// The billable units of `quantity` by price: `(units, unit_price)` for each band with units
    /// in it (one band for a flat price). An invoice shows one line per band.
    pub fn bands(&self, quantity: &BigDecimal) -> Vec<(BigDecimal, BigDecimal)> {
        let billable = quantity - &self.included_quantity;
        if billable <= BigDecimal::zero() {
            return Vec::new();
        }
        if self.tiers.is_empty() {
            return vec![(billable, self.unit_price.clone().unwrap_or_default())];
        }
        // Units are numbered from the first one used; the included ones are the cheapest
        // first units, so the tiers price units included_quantity+1 ..= quantity.
        let mut bands = Vec::new();
        let mut floor = BigDecimal::zero();
        for tier in &self.tiers {
            let ceiling = tier.up_to.clone().unwrap_or_else(|| quantity.clone());
            let from = floor.clone().max(self.included_quantity.clone());
            let to = ceiling.clone().min(quantity.clone());
            if to > from {
                bands.push((to - from, tier.unit_price.clone()));
            }
            if tier.up_to.is_none() || ceiling >= *quantity {
                break;
            }
            floor = ceiling;
        }
        bands
    }
}

/// The seats a subscription to a plan may have: from `min` (at least 1) to `max` (none: no
/// limit but [`MAX_QUANTITY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantityLimits {
    pub min: u32,
    pub max: Option<u32>,
}

impl Default for QuantityLimits {
    fn default() -> Self {
        Self { min: 1, max: None }
    }
}

/// The most seats any subscription has.
pub const MAX_QUANTITY: u32 = 1_000_000;

impl QuantityLimits {
    /// Checks the limits themselves (`quantity.min`, `quantity.max`).
    pub fn check(&self, errs: &mut Vec<FieldError>) {
        if self.min == 0 || self.min > MAX_QUANTITY {
            errs.push(FieldError::new(
                "quantity.min",
                format!("must be from 1 to {MAX_QUANTITY}"),
            ));
        }
        if self
            .max
            .is_some_and(|m| m < self.min.max(1) || m > MAX_QUANTITY)
        {
            errs.push(FieldError::new(
                "quantity.max",
                format!("must be from quantity.min to {MAX_QUANTITY}"),
            ));
        }
    }

    /// Checks a subscription's `quantity` against the limits (422 naming `field`).
    pub fn admit(&self, field: &str, quantity: u32) -> DomainResult<()> {
        let max = self.max.unwrap_or(MAX_QUANTITY);
        if quantity >= self.min && quantity <= max {
            return Ok(());
        }
        Err(crate::DomainError::validation(
            field,
            format!("must be from {} to {max} on this plan", self.min),
        ))
    }
}

/// Checks a plan's charges; every problem is reported with its field path.
pub fn check_charges(charges: &[Charge], errs: &mut Vec<FieldError>) {
    let mut seen = std::collections::HashSet::new();
    for (i, c) in charges.iter().enumerate() {
        let at = |f: &str| format!("charges[{i}].{f}");
        if !seen.insert(c.feature.as_str()) {
            errs.push(FieldError::new(at("feature"), "appears in another charge"));
        }
        if c.included_quantity < BigDecimal::zero() {
            errs.push(FieldError::new(
                at("included_quantity"),
                "must not be negative",
            ));
        }
        match (&c.unit_price, c.tiers.is_empty()) {
            (Some(_), false) => errs.push(FieldError::new(
                at("tiers"),
                "give either unit_price or tiers, not both",
            )),
            (None, true) => errs.push(FieldError::new(
                at("unit_price"),
                "give unit_price or tiers",
            )),
            (Some(p), true) if *p < BigDecimal::zero() => {
                errs.push(FieldError::new(at("unit_price"), "must not be negative"))
            }
            _ => {}
        }
        let mut last: Option<&BigDecimal> = None;
        for (j, t) in c.tiers.iter().enumerate() {
            let tat = |f: &str| format!("charges[{i}].tiers[{j}].{f}");
            if t.unit_price < BigDecimal::zero() {
                errs.push(FieldError::new(tat("unit_price"), "must not be negative"));
            }
            let is_last = j + 1 == c.tiers.len();
            match (&t.up_to, is_last) {
                (None, false) => errs.push(FieldError::new(
                    tat("up_to"),
                    "only the last tier is open-ended",
                )),
                (Some(_), true) => errs.push(FieldError::new(
                    tat("up_to"),
                    "the last tier must be open-ended (null)",
                )),
                (Some(u), false) => {
                    if *u <= BigDecimal::zero() || last.is_some_and(|l| u <= l) {
                        errs.push(FieldError::new(
                            tat("up_to"),
                            "tiers must rise: each up_to above the one before, and above 0",
                        ));
                    }
                    last = Some(u);
                }
                (None, true) => {}
            }
        }
    }
}

/// A limit on a feature per billing period; no entitlement for a feature means no access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub feature: String,
    /// `None`: access without a limit.
    pub limit: Option<BigDecimal>,
    /// A soft limit is reported when exceeded; a hard one refuses (`allowed: false`).
    pub soft: bool,
}

pub fn check_entitlements(entitlements: &[Entitlement], errs: &mut Vec<FieldError>) {
    let mut seen = std::collections::HashSet::new();
    for (i, e) in entitlements.iter().enumerate() {
        if !seen.insert(e.feature.as_str()) {
            errs.push(FieldError::new(
                format!("entitlements[{i}].feature"),
                "appears in another entitlement",
            ));
        }
        if e.limit.as_ref().is_some_and(|l| *l < BigDecimal::zero()) {
            errs.push(FieldError::new(
                format!("entitlements[{i}].limit"),
                "must not be negative",
            ));
        }
    }
}

/// Checks a billing interval: 1 or more, and at most ten years long.
pub fn check_interval(interval: Interval, count: u32, errs: &mut Vec<FieldError>) {
    let months = match interval {
        Interval::Day => count / 30,
        Interval::Week => count / 4,
        Interval::Month => count,
        Interval::Year => count.saturating_mul(12),
    };
    if count == 0 || months > MAX_PERIOD_MONTHS {
        errs.push(FieldError::new(
            "interval_count",
            "must be at least 1, and the period at most ten years",
        ));
    }
}

/// The `n`th period boundary after `anchor` (the 0th is the anchor itself), counted in the
/// time zone `tz`: n × count intervals after the anchor's local date and time. A month step
/// that lands past the month's end stays on its last day; a local time that does not exist
/// (a daylight-saving gap) moves forward to the first one that does.
pub fn boundary(
    anchor: DateTime<Utc>,
    interval: Interval,
    count: u32,
    n: u32,
    tz: Tz,
) -> DateTime<Utc> {
    let local = anchor.with_timezone(&tz).naive_local();
    let steps = count.saturating_mul(n);
    let target: NaiveDateTime = match interval {
        Interval::Day => local + Duration::days(steps.into()),
        Interval::Week => local + Duration::weeks(steps.into()),
        Interval::Month => local
            .checked_add_months(Months::new(steps))
            .unwrap_or(NaiveDateTime::MAX),
        Interval::Year => local
            .checked_add_months(Months::new(steps.saturating_mul(12)))
            .unwrap_or(NaiveDateTime::MAX),
    };
    in_zone(target, tz)
}

/// The start of the calendar period (`calendar` billing anchor) that holds `at` in `tz`: local
/// midnight of the day, of the Monday, of the 1st of the month, or of January 1st.
pub fn calendar_start(at: DateTime<Utc>, interval: Interval, tz: Tz) -> DateTime<Utc> {
    let date = at.with_timezone(&tz).date_naive();
    let start = match interval {
        Interval::Day => date,
        Interval::Week => date - Duration::days(date.weekday().num_days_from_monday().into()),
        Interval::Month => date.with_day(1).expect("day 1 exists"),
        Interval::Year => date.with_ordinal(1).expect("day 1 exists"),
    };
    in_zone(start.and_hms_opt(0, 0, 0).expect("midnight exists"), tz)
}

/// A local date and time as an instant: the earlier one when the clock repeats, the first
/// existing one after a gap.
fn in_zone(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let mut t = local;
    for _ in 0..16 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(early, _) => return early.with_timezone(&Utc),
            LocalResult::None => t += Duration::minutes(15),
        }
    }
    Utc.from_utc_datetime(&local)
}

#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub status: Option<crate::plan::PlanStatus>,
    pub visibility: Option<crate::plan::Visibility>,
    /// Only plans in one of these currencies (none given: any).
    pub currencies: Vec<crate::money::Currency>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn tiered(included: &str, tiers: &[(Option<&str>, &str)]) -> Charge {
        Charge {
            feature: "api_calls".into(),
            included_quantity: d(included),
            unit_price: None,
            tiers: tiers
                .iter()
                .map(|(u, p)| Tier {
                    up_to: u.map(d),
                    unit_price: d(p),
                })
                .collect(),
            tax_rate_ids: vec![],
        }
    }

    #[test]
    fn flat_charges_bill_beyond_the_included_quantity() {
        let c = Charge {
            feature: "f".into(),
            included_quantity: d("1000"),
            unit_price: Some(d("0.002")),
            tiers: vec![],
            tax_rate_ids: vec![],
        };
        assert_eq!(c.cost(&d("999")), d("0"));
        assert_eq!(c.cost(&d("1000")), d("0"));
        assert_eq!(c.cost(&d("1500")), d("1.000"));
    }

    #[test]
    fn graduated_tiers_price_each_band_at_its_own_rate() {
        // 1–100 at 0.10, 101–1000 at 0.05, the rest at 0.01.
        let c = tiered(
            "0",
            &[
                (Some("100"), "0.10"),
                (Some("1000"), "0.05"),
                (None, "0.01"),
            ],
        );
        assert_eq!(c.cost(&d("50")), d("5.00"));
        assert_eq!(c.cost(&d("100")), d("10.00"));
        assert_eq!(c.cost(&d("101")), d("10.05"));
        assert_eq!(c.cost(&d("2000")), d("10.00") + d("45.00") + d("10.00"));
        // Included units are the first (most expensive) ones: 150 included of 200 used leaves
        // units 151–200 in the second band.
        let with_free = tiered("150", &[(Some("100"), "0.10"), (None, "0.05")]);
        assert_eq!(with_free.cost(&d("200")), d("2.50"));
        assert_eq!(with_free.cost(&d("120")), d("0"));
    }

    #[test]
    fn bad_charges_are_reported_by_field() {
        let mut errs = Vec::new();
        let mut unordered = tiered("0", &[(Some("100"), "1"), (Some("50"), "1"), (None, "1")]);
        unordered.feature = "a".into();
        let mut open_middle = tiered("-1", &[(None, "1"), (Some("5"), "-2")]);
        open_middle.feature = "a".into();
        check_charges(&[unordered, open_middle], &mut errs);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"charges[0].tiers[1].up_to"), "{fields:?}");
        assert!(fields.contains(&"charges[1].feature"), "{fields:?}");
        assert!(
            fields.contains(&"charges[1].included_quantity"),
            "{fields:?}"
        );
        assert!(fields.contains(&"charges[1].tiers[0].up_to"), "{fields:?}");
        assert!(fields.contains(&"charges[1].tiers[1].up_to"), "{fields:?}");
        assert!(
            fields.contains(&"charges[1].tiers[1].unit_price"),
            "{fields:?}"
        );

        let mut errs = Vec::new();
        check_interval(Interval::Month, 0, &mut errs);
        check_interval(Interval::Year, 11, &mut errs);
        assert_eq!(errs.len(), 2);
        let mut ok = Vec::new();
        check_interval(Interval::Year, 10, &mut ok);
        check_interval(Interval::Day, 1, &mut ok);
        assert!(ok.is_empty());
    }

    #[test]
    fn month_end_anchors_stay_at_the_month_end() {
        let tz = chrono_tz::UTC;
        let jan31 = utc("2027-01-31T10:00:00Z");
        let b = |n| boundary(jan31, Interval::Month, 1, n, tz);
        assert_eq!(b(1), utc("2027-02-28T10:00:00Z"));
        assert_eq!(b(2), utc("2027-03-31T10:00:00Z"));
        assert_eq!(b(3), utc("2027-04-30T10:00:00Z"));
        let leap = |n| boundary(utc("2028-01-31T00:00:00Z"), Interval::Month, 1, n, tz);
        assert_eq!(leap(1), utc("2028-02-29T00:00:00Z"));
        // A Feb 29 yearly anchor bills on Feb 28 in common years and Feb 29 again in leap years.
        let feb29 = utc("2028-02-29T00:00:00Z");
        assert_eq!(
            boundary(feb29, Interval::Year, 1, 1, tz),
            utc("2029-02-28T00:00:00Z")
        );
        assert_eq!(
            boundary(feb29, Interval::Year, 1, 4, tz),
            utc("2032-02-29T00:00:00Z")
        );
        // Quarterly.
        assert_eq!(
            boundary(jan31, Interval::Month, 3, 1, tz),
            utc("2027-04-30T10:00:00Z")
        );
    }

    #[test]
    fn periods_follow_the_customers_clock_across_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Local midnight on 2027-03-27 (UTC+1); clocks go forward on the 28th.
        let anchor = utc("2027-03-26T23:00:00Z");
        assert_eq!(
            boundary(anchor, Interval::Day, 1, 1, berlin),
            utc("2027-03-27T23:00:00Z")
        );
        assert_eq!(
            boundary(anchor, Interval::Day, 1, 2, berlin),
            utc("2027-03-28T22:00:00Z")
        );
        // A monthly period in New York starts at local midnight on the 1st, EST or EDT.
        let ny: Tz = "America/New_York".parse().unwrap();
        let start = calendar_start(utc("2027-03-15T12:00:00Z"), Interval::Month, ny);
        assert_eq!(start, utc("2027-03-01T05:00:00Z"));
        assert_eq!(
            boundary(start, Interval::Month, 1, 1, ny),
            utc("2027-04-01T04:00:00Z")
        );
        // A 02:30 local anchor on the day that skips 02:00–03:00 moves to the first real time.
        let gap = boundary(utc("2027-03-27T01:30:00Z"), Interval::Day, 1, 1, berlin);
        assert_eq!(gap, utc("2027-03-28T01:00:00Z"));
    }

    #[test]
    fn calendar_periods_start_on_the_unit_boundary() {
        let tz = chrono_tz::UTC;
        let at = utc("2027-05-19T15:00:00Z"); // a Wednesday
        assert_eq!(
            calendar_start(at, Interval::Day, tz),
            utc("2027-05-19T00:00:00Z")
        );
        assert_eq!(
            calendar_start(at, Interval::Week, tz),
            utc("2027-05-17T00:00:00Z")
        );
        assert_eq!(
            calendar_start(at, Interval::Month, tz),
            utc("2027-05-01T00:00:00Z")
        );
        assert_eq!(
            calendar_start(at, Interval::Year, tz),
            utc("2027-01-01T00:00:00Z")
        );
    }
}
