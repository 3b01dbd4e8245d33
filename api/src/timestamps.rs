//! Timestamps accepted from clients (bodies and query strings): RFC 3339, from
//! 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z, no leap second. Both databases store
//! and read back every instant of that range identically; outside it they do not (SQLite keeps
//! text, and a year like `-0001` then no longer reads back), so anything else is a 422 naming
//! the field. Use with `#[serde(default, deserialize_with = "timestamps::opt")]`.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{de::Error, Deserialize, Deserializer};

pub const RANGE: &str = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z";

fn check<E: Error>(t: DateTime<Utc>) -> Result<DateTime<Utc>, E> {
    // A leap second is carried as nanoseconds ≥ 10^9.
    if (1970..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 {
        Ok(t)
    } else {
        Err(E::custom(RANGE))
    }
}

/// An optional timestamp.
pub fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d)?
        .map(check)
        .transpose()
}

/// A timestamp an update may clear: absent → `None`, `null` → `Some(None)`.
pub fn nullable<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    opt(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "opt")]
        at: Option<DateTime<Utc>>,
    }

    fn at(json: &str) -> Result<Option<DateTime<Utc>>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.at)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn bounds() {
        assert!(at(r#"{"at": "1970-01-01T00:00:00Z"}"#).unwrap().is_some());
        assert!(at(r#"{"at": "9999-12-31T23:59:59.999999Z"}"#)
            .unwrap()
            .is_some());
        assert_eq!(at("{}").unwrap(), None);
        assert_eq!(at(r#"{"at": null}"#).unwrap(), None);
        for bad in [
            "-0001-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2016-12-31T23:59:60Z",
        ] {
            let e = at(&format!(r#"{{"at": "{bad}"}}"#)).unwrap_err();
            assert!(e.contains(RANGE), "{bad}: {e}");
        }
    }
}
