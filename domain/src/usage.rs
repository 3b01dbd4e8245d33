//! Usage metering: features (meters), events, and hourly rollups.
//!
//! An event names a feature by its `key`. Its quantity is 1 for `count` features and the
//! numeric `value_property` of its properties for `sum` and `max` features. Each accepted event
//! is added, in the same transaction as its insert, to the hourly rollup of (customer, feature,
//! hour): event count, quantity sum, quantity max. Analytics read rollups only.
//! `event_id` is the client's dedupe key, unique per account: a repeat is reported as
//! `duplicate` and never counted twice.
//!
//! Period counters: in the same transaction, each accepted event is also added to the running
//! total of (customer, feature, period) for the period it belongs to: the billing period of
//! each of the customer's running subscriptions whose hours hold it (see
//! `Subscription::period_of_hour`), or the calendar month in the customer's time zone when they
//! have none. An entitlement check reads one counter row per feature instead of summing hours.

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::id::FeatureId;
use crate::money::Currency;
use crate::wallet::validate_text;
use crate::{DomainError, DomainResult, FieldError};

crate::text_enum! {
    pub enum Aggregation {
        Count,
        Sum,
        Max,
    }
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub id: FeatureId,
    pub tenant_id: crate::id::TenantId,
    /// The event name that feeds this meter; unique per account.
    pub key: String,
    pub name: String,
    /// e.g. "calls", "GB".
    pub unit: String,
    pub aggregation: Aggregation,
    pub value_property: Option<String>,
    pub unit_price: BigDecimal,
    pub currency: Currency,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Feature {
    /// The quantity an event contributes, or why it cannot be used.
    pub fn quantity_of(
        &self,
        properties: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<BigDecimal, String> {
        let Some(prop) = self
            .value_property
            .as_deref()
            .filter(|_| self.aggregation != Aggregation::Count)
        else {
            return Ok(BigDecimal::from(1));
        };
        let value = properties
            .get(prop)
            .ok_or_else(|| format!("property `{prop}` is missing"))?;
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(format!(
                    "property `{prop}` must be a number or a decimal string"
                ))
            }
        };
        let q = crate::money::parse_bounded_number(&text)
            .map_err(|why| format!("property `{prop}` {why}"))?;
        if q < BigDecimal::zero() {
            return Err(format!("property `{prop}` must not be negative"));
        }
        Ok(q.normalized())
    }

    /// Cost of `quantity` at the unit price, exact.
    pub fn cost_of(&self, quantity: &BigDecimal) -> BigDecimal {
        quantity * &self.unit_price
    }
}

/// Validates the pieces of a feature definition.
pub fn validate_feature(
    key: Option<&str>,
    name: Option<&str>,
    unit: Option<&str>,
    aggregation: Option<Aggregation>,
    value_property: Option<&str>,
    unit_price: Option<&BigDecimal>,
    currency: Option<&str>,
) -> DomainResult<()> {
    let mut errs = Vec::new();
    if let Some(k) = key {
        let ok = !k.is_empty()
            && k.len() <= 100
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
        if !ok {
            errs.push(FieldError::new(
                "key",
                "must be 1 to 100 letters, digits and _ - . :",
            ));
        }
    }
    if name.is_some_and(|n| n.trim().is_empty()) {
        errs.push(FieldError::new("name", "must not be empty"));
    }
    validate_text("name", name, 200, &mut errs);
    validate_text("unit", unit, 50, &mut errs);
    validate_text("value_property", value_property, 100, &mut errs);
    if matches!(aggregation, Some(Aggregation::Sum | Aggregation::Max))
        && value_property.is_none_or(str::is_empty)
    {
        errs.push(FieldError::new(
            "value_property",
            "is required for sum and max features",
        ));
    }
    if unit_price.is_some_and(|p| *p < BigDecimal::zero() || p.as_bigint_and_exponent().1 > 18) {
        errs.push(FieldError::new(
            "unit_price",
            "must be at least zero, with at most 18 decimals",
        ));
    }
    if let Some(c) = currency {
        if Currency::parse(c).is_err() {
            errs.push(FieldError::new(
                "currency",
                "must be an ISO 4217 currency code such as \"USD\"",
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errs))
    }
}

/// An event as submitted.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    pub event_id: String,
    pub customer_id: Option<String>,
    pub external_customer_id: Option<String>,
    pub feature: String,
    pub timestamp: Option<DateTime<Utc>>,
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// A validated event, ready to store.
#[derive(Debug, Clone)]
pub struct UsageEvent {
    pub id: String,
    pub tenant_id: crate::id::TenantId,
    pub event_id: String,
    pub customer_id: String,
    pub feature_key: String,
    pub timestamp: DateTime<Utc>,
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub quantity: BigDecimal,
    pub received_at: DateTime<Utc>,
    /// The counter periods the event adds to (none: only the rollups; see the module doc).
    pub periods: Vec<CounterPeriod>,
}

/// A period a usage counter totals, `[start, end)`, counted by the hour as billing counts
/// (`crate::billing::usage_hours`). Counters are keyed by `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl CounterPeriod {
    /// The calendar month holding `at` in `tz`: the counter period of a customer without a
    /// running subscription.
    pub fn month_of(at: DateTime<Utc>, tz: chrono_tz::Tz) -> Self {
        let start = crate::plan::calendar_start(at, crate::plan::Interval::Month, tz);
        let end = crate::plan::boundary(start, crate::plan::Interval::Month, 1, 1, tz);
        Self { start, end }
    }
}

/// The running total of one feature's use by one customer over one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub customer_id: String,
    pub feature_key: String,
    pub period: CounterPeriod,
    pub events: i64,
    pub quantity_sum: BigDecimal,
    pub quantity_max: BigDecimal,
}

impl Counter {
    /// The period's use as `aggregation` counts it: the sum, or the largest value for `max`.
    pub fn used(&self, aggregation: Aggregation) -> BigDecimal {
        match aggregation {
            Aggregation::Max => self.quantity_max.clone(),
            Aggregation::Count | Aggregation::Sum => self.quantity_sum.clone(),
        }
    }
}

/// What one entitlement check needs, read in one statement: the feature by its key, and each
/// running subscription of the customer with its plan's entitlements and the counter of the
/// feature in its current period.
#[derive(Debug, Clone)]
pub struct CheckView {
    /// `None`: the account has no feature with the key.
    pub feature: Option<FeatureState>,
    pub grants: Vec<Grant>,
}

/// A feature as a check sees it.
#[derive(Debug, Clone, Copy)]
pub struct FeatureState {
    pub aggregation: Aggregation,
    pub archived: bool,
}

/// One running subscription as a check sees it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub subscription_id: crate::id::SubscriptionId,
    pub plan_id: crate::id::PlanId,
    pub period: CounterPeriod,
    pub entitlements: Vec<crate::plan::Entitlement>,
    /// The feature's counter of `period`; `None`: nothing counted yet.
    pub counter: Option<Counter>,
}

/// What a counter differs by from its rollups, as a rebuild found and mended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterDrift {
    pub tenant_id: crate::id::TenantId,
    pub customer_id: String,
    pub feature_key: String,
    pub period_start: DateTime<Utc>,
    /// (events, sum, max) as stored, then as the rollups make them.
    pub stored: (i64, BigDecimal, BigDecimal),
    pub rebuilt: (i64, BigDecimal, BigDecimal),
}

impl UsageEvent {
    pub fn hour(&self) -> DateTime<Utc> {
        hour_of(self.timestamp)
    }
}

pub fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// What happened to one event of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    Accepted,
    Duplicate,
    Rejected(String),
}

/// One hour of one customer's use of one feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub customer_id: String,
    pub feature_key: String,
    pub hour: DateTime<Utc>,
    pub events: i64,
    pub quantity_sum: BigDecimal,
    pub quantity_max: BigDecimal,
}

pub const MAX_BATCH: usize = 1000;
/// Events may be at most this far in the future (clock skew).
pub const MAX_FUTURE: Duration = Duration::minutes(5);

crate::text_enum! {
    pub enum Granularity {
        Hour,
        Day,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePoint {
    /// Start of the bucket (an hour, or a day in the customer's time zone), in UTC.
    pub t: DateTime<Utc>,
    pub quantity: BigDecimal,
    pub events: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureSeries {
    pub feature: String,
    pub unit: String,
    pub points: Vec<UsagePoint>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureUsage {
    pub feature: String,
    pub name: String,
    pub unit: String,
    /// Sum over the window (count, sum features) or the maximum (max features).
    pub total_usage: BigDecimal,
    pub events: i64,
    /// total_usage × unit_price, exact.
    pub total_cost: BigDecimal,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub granularity: Granularity,
    pub series: Vec<FeatureSeries>,
    pub breakdown: Vec<FeatureUsage>,
}

/// Folds hourly rollups into a report. Day buckets start at local midnight in `tz` (an hour
/// belongs to the day in which it starts). Every bucket of the window is present, with zeros.
pub fn build_report(
    rollups: &[Rollup],
    features: &[Feature],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
    tz: chrono_tz::Tz,
    only: Option<&str>,
) -> UsageReport {
    use chrono::{NaiveTime, TimeZone};
    use std::collections::BTreeMap;

    let bucket = |t: DateTime<Utc>| -> DateTime<Utc> {
        match granularity {
            Granularity::Hour => hour_of(t),
            Granularity::Day => {
                let local = t.with_timezone(&tz).date_naive().and_time(NaiveTime::MIN);
                tz.from_local_datetime(&local)
                    .earliest()
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or(t)
            }
        }
    };
    let mut buckets = Vec::new();
    let mut b = bucket(from);
    while b < to {
        buckets.push(b);
        b = match granularity {
            Granularity::Hour => b + Duration::hours(1),
            // Through the local calendar, so DST days are 23 or 25 hours long.
            Granularity::Day => bucket(b + Duration::hours(26)),
        };
    }
    let mut series = Vec::new();
    let mut breakdown = Vec::new();
    let mut by_feature: BTreeMap<&str, Vec<&Rollup>> = BTreeMap::new();
    for r in rollups
        .iter()
        .filter(|r| r.hour + Duration::hours(1) > from && r.hour < to)
    {
        by_feature
            .entry(r.feature_key.as_str())
            .or_default()
            .push(r);
    }
    for feature in features.iter().filter(|f| only.is_none_or(|k| k == f.key)) {
        let rows = by_feature
            .get(feature.key.as_str())
            .cloned()
            .unwrap_or_default();
        if rows.is_empty() && feature.archived {
            continue;
        }
        let is_max = feature.aggregation == Aggregation::Max;
        let mut points: BTreeMap<DateTime<Utc>, (BigDecimal, i64)> = buckets
            .iter()
            .map(|b| (*b, (BigDecimal::zero(), 0)))
            .collect();
        let (mut total, mut events) = (BigDecimal::zero(), 0i64);
        for r in rows {
            let q = if is_max {
                &r.quantity_max
            } else {
                &r.quantity_sum
            };
            let slot = points
                .entry(bucket(r.hour))
                .or_insert((BigDecimal::zero(), 0));
            if is_max {
                if *q > slot.0 {
                    slot.0 = q.clone();
                }
                if *q > total {
                    total = q.clone();
                }
            } else {
                slot.0 += q;
                total += q;
            }
            slot.1 += r.events;
            events += r.events;
        }
        series.push(FeatureSeries {
            feature: feature.key.clone(),
            unit: feature.unit.clone(),
            points: points
                .into_iter()
                .map(|(t, (quantity, events))| UsagePoint {
                    t,
                    quantity,
                    events,
                })
                .collect(),
        });
        breakdown.push(FeatureUsage {
            feature: feature.key.clone(),
            name: feature.name.clone(),
            unit: feature.unit.clone(),
            total_cost: feature.cost_of(&total),
            total_usage: total,
            events,
            currency: feature.currency,
        });
    }
    UsageReport {
        from,
        to,
        granularity,
        series,
        breakdown,
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub customer_id: Option<String>,
    pub feature: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn feature(agg: Aggregation, prop: Option<&str>) -> Feature {
        let now = Utc::now();
        Feature {
            id: FeatureId::new(),
            tenant_id: "t".into(),
            key: "k".into(),
            name: "n".into(),
            unit: "u".into(),
            aggregation: agg,
            value_property: prop.map(Into::into),
            unit_price: BigDecimal::from_str("0.01").unwrap(),
            currency: crate::money::Currency::parse("USD").unwrap(),
            archived: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn quantities() {
        let props = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert_eq!(
            feature(Aggregation::Count, None)
                .quantity_of(&props(serde_json::json!({})))
                .unwrap(),
            BigDecimal::from(1)
        );
        let sum = feature(Aggregation::Sum, Some("bytes"));
        assert_eq!(
            sum.quantity_of(&props(serde_json::json!({"bytes": 1.5})))
                .unwrap(),
            BigDecimal::from_str("1.5").unwrap()
        );
        assert_eq!(
            sum.quantity_of(&props(serde_json::json!({"bytes": "0.1"})))
                .unwrap(),
            BigDecimal::from_str("0.1").unwrap()
        );
        assert!(sum.quantity_of(&props(serde_json::json!({}))).is_err());
        assert!(sum
            .quantity_of(&props(serde_json::json!({"bytes": "x"})))
            .is_err());
        assert!(sum
            .quantity_of(&props(serde_json::json!({"bytes": -1})))
            .is_err());
        // Bounded before any arithmetic: a short string cannot make a huge number.
        for huge in [
            "1e10000000",
            "1e1000000",
            "1e39",
            "0.0000000000000000001",
            " 1",
            "1 ",
        ] {
            assert!(
                sum.quantity_of(&props(serde_json::json!({ "bytes": huge })))
                    .is_err(),
                "{huge}"
            );
        }
        assert_eq!(
            sum.quantity_of(&props(serde_json::json!({"bytes": "1.5e3"})))
                .unwrap(),
            BigDecimal::from(1500)
        );
        assert!(sum
            .quantity_of(&props(serde_json::json!({"bytes": 1e300})))
            .is_err());
        assert!(
            validate_feature(None, None, None, Some(Aggregation::Sum), None, None, None).is_err()
        );
    }
}
