//! Test clocks as clients send and see them.

use chrono::{DateTime, Datelike, Utc};
use domain::test_clock::TestClock;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::routes::common::list_type;

/// The latest time a clock may show: periods of up to ten years must still be computable.
const LAST_YEAR: i32 = 2999;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"frozen_time": "2027-01-01T00:00:00Z", "name": "annual renewal rehearsal"}))]
pub struct CreateTestClock {
    /// Where the clock starts (required, up to year 2999).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub frozen_time: Option<DateTime<Utc>>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "2027-02-01T00:00:00Z"}))]
pub struct AdvanceTestClock {
    /// The new time: later than `frozen_time`, at most two intervals of the shortest running
    /// subscription on the clock on (two years with none).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub to: Option<DateTime<Utc>>,
}

/// A required time up to [`LAST_YEAR`].
pub fn clock_time(field: &str, t: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, ApiError> {
    match t {
        Some(t) if t.year() <= LAST_YEAR => Ok(t),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            field,
            format!("must be before the year {}", LAST_YEAR + 1),
        )])),
        None => Err(ApiError::validation(vec![FieldError::new(
            field,
            "is required",
        )])),
    }
}

pub fn clock_name(name: Option<String>) -> Result<Option<String>, ApiError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::validation(vec![FieldError::new(
            "name",
            "must be at most 200 characters",
        )]));
    }
    Ok(name)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestClockView {
    #[schema(example = "clock_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub name: Option<String>,
    /// The clock's current time: "now" for its customers. While the clock advances it moves
    /// forward with each boundary billed, and reaches `advancing_to` when `status` is `ready`.
    pub frozen_time: DateTime<Utc>,
    /// `ready`: everything due up to `frozen_time` has run. `advancing`: the billing workers
    /// are running what is due up to `advancing_to`; poll until `ready` (another advance is
    /// refused meanwhile).
    #[schema(value_type = crate::schema::ClockStatus)]
    pub status: &'static str,
    /// While advancing: where the clock is moving to; otherwise null.
    pub advancing_to: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TestClock> for TestClockView {
    fn from(c: TestClock) -> Self {
        Self {
            id: c.id.into(),
            name: c.name,
            frozen_time: c.frozen_time,
            status: c.status.as_str(),
            advancing_to: c.advancing_to,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

list_type!(TestClockList, TestClockView);
