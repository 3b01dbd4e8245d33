//! Usage analytics as clients see them (admin and portal): the window query and the report.

use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::usage::{Granularity, UsageReport};
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Usage window: `window` (1d, 7d, 30d; ending now) or `from` and `to`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// `1d`, `7d` or `30d` (default 30d), ending now.
    #[param(value_type = Option<crate::schema::UsageWindow>)]
    pub window: Option<String>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub to: Option<DateTime<Utc>>,
    /// `hour` or `day` (default: hour for 1d, day otherwise). Days are cut in the customer's
    /// time zone.
    #[param(value_type = Option<crate::schema::Granularity>)]
    pub granularity: Option<String>,
    /// Only this feature key.
    pub feature: Option<String>,
}

impl UsageQuery {
    pub fn resolve(&self) -> Result<(DateTime<Utc>, DateTime<Utc>, Granularity), ApiError> {
        let bad = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
        let (from, to, default) = match (self.window.as_deref(), self.from, self.to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(bad("window", "give either window or from/to"))
            }
            (None, Some(f), Some(t)) => (f, t, Granularity::Day),
            (None, Some(_), None) | (None, None, Some(_)) => {
                return Err(bad("from", "give both from and to"))
            }
            (w, None, None) => {
                let days = match w.unwrap_or("30d") {
                    "1d" => 1,
                    "7d" => 7,
                    "30d" => 30,
                    _ => return Err(bad("window", "must be 1d, 7d or 30d")),
                };
                let now = domain::clock::now();
                (
                    now - chrono::Duration::days(days),
                    now,
                    if days == 1 {
                        Granularity::Hour
                    } else {
                        Granularity::Day
                    },
                )
            }
        };
        let granularity = match self.granularity.as_deref() {
            None => default,
            Some("hour") => Granularity::Hour,
            Some("day") => Granularity::Day,
            Some(_) => return Err(bad("granularity", "must be hour or day")),
        };
        Ok((from, to, granularity))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointView {
    pub t: DateTime<Utc>,
    pub quantity: String,
    pub events: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesView {
    pub feature: String,
    pub unit: String,
    pub points: Vec<PointView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownView {
    pub feature: String,
    pub name: String,
    pub unit: String,
    pub total_usage: String,
    pub events: i64,
    /// total_usage × unit price, exact.
    pub total_cost: String,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schema(value_type = crate::schema::Granularity)]
    pub granularity: &'static str,
    pub series: Vec<SeriesView>,
    pub breakdown: Vec<BreakdownView>,
}

impl From<UsageReport> for UsageView {
    fn from(r: UsageReport) -> Self {
        Self {
            from: r.from,
            to: r.to,
            granularity: r.granularity.as_str(),
            series: r
                .series
                .into_iter()
                .map(|s| SeriesView {
                    feature: s.feature,
                    unit: s.unit,
                    points: s
                        .points
                        .into_iter()
                        .map(|p| PointView {
                            t: p.t,
                            quantity: canonical(&p.quantity),
                            events: p.events,
                        })
                        .collect(),
                })
                .collect(),
            breakdown: r
                .breakdown
                .into_iter()
                .map(|b| BreakdownView {
                    total_usage: canonical(&b.total_usage),
                    total_cost: canonical(&b.total_cost),
                    feature: b.feature,
                    name: b.name,
                    unit: b.unit,
                    events: b.events,
                    currency: b.currency.to_string(),
                })
                .collect(),
        }
    }
}

/// A usage export for the merchant: every raw event the filters match.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportUsage {
    pub customer_id: Option<String>,
    /// Feature key.
    pub feature: Option<String>,
    /// Events at or after (RFC 3339).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub from: Option<DateTime<Utc>>,
    /// Events before (RFC 3339).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub to: Option<DateTime<Utc>>,
}

impl ExportUsage {
    /// The events' filter; `from` after `to` is a 422.
    pub fn filter(self) -> Result<domain::usage::EventFilter, ApiError> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(ApiError::validation(vec![FieldError::new(
                    "from",
                    "must not be after to",
                )]));
            }
        }
        Ok(domain::usage::EventFilter {
            customer_id: self.customer_id,
            feature: self.feature,
            from: self.from,
            to: self.to,
        })
    }
}

/// The columns of the merchant's usage export.
pub const EVENTS_HEADER: &[&str] = &[
    "id",
    "event_id",
    "customer_id",
    "feature",
    "quantity",
    "timestamp",
    "received_at",
];

/// One event as a row of [`EVENTS_HEADER`].
pub fn event_row(e: domain::usage::UsageEvent) -> Vec<String> {
    vec![
        e.id,
        e.event_id,
        e.customer_id,
        e.feature_key,
        canonical(&e.quantity),
        e.timestamp.to_rfc3339(),
        e.received_at.to_rfc3339(),
    ]
}

/// The columns of the customer's usage export.
pub const REPORT_HEADER: &[&str] = &[
    "period_start",
    "feature",
    "name",
    "unit",
    "quantity",
    "events",
];

/// A usage report as rows of [`REPORT_HEADER`]: one per feature and bucket, zeros included.
pub fn report_rows(r: &UsageReport) -> Vec<Vec<String>> {
    r.series
        .iter()
        .flat_map(|s| {
            let name = r
                .breakdown
                .iter()
                .find(|b| b.feature == s.feature)
                .map_or_else(|| s.feature.clone(), |b| b.name.clone());
            s.points.iter().map(move |p| {
                vec![
                    p.t.to_rfc3339(),
                    s.feature.clone(),
                    name.clone(),
                    s.unit.clone(),
                    canonical(&p.quantity),
                    p.events.to_string(),
                ]
            })
        })
        .collect()
}
