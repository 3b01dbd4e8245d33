use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Now, at the microsecond precision both databases store, so an object returned at creation
/// equals the same object read back.
pub fn now() -> DateTime<Utc> {
    to_micros(Utc::now())
}

/// `t` at the microsecond precision both databases store.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
