//! Columns read back into the model: text enums, JSON documents, currency codes. This code wrote
//! them, so a value that does not read back is damaged data: an internal error naming the row
//! and the column (logged, never shown to clients).

use domain::id::PrefixedId;
use domain::money::Currency;
use domain::{DomainError, DomainResult};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON column's text for a model value.
pub(crate) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model values serialise to JSON")
}

/// The row a column is read from, for the error when it is damaged.
pub(crate) struct Stored<'a> {
    pub kind: &'static str,
    pub id: &'a str,
}

impl Stored<'_> {
    pub fn damaged(&self, column: &str) -> DomainError {
        DomainError::internal(format!(
            "{} {}: stored {column} is damaged",
            self.kind, self.id
        ))
    }

    /// A text column holding one of an enum's names.
    pub fn text<T>(
        &self,
        column: &str,
        value: &str,
        parse: fn(&str) -> Option<T>,
    ) -> DomainResult<T> {
        parse(value).ok_or_else(|| self.damaged(column))
    }

    /// A JSON column holding a model value.
    pub fn json<T: DeserializeOwned>(&self, column: &str, value: &str) -> DomainResult<T> {
        serde_json::from_str(value).map_err(|_| self.damaged(column))
    }

    /// A JSON column holding an object (free-form properties or details).
    pub fn object(
        &self,
        column: &str,
        value: &str,
    ) -> DomainResult<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_str(value) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            _ => Err(self.damaged(column)),
        }
    }

    pub fn currency(&self, value: &str) -> DomainResult<Currency> {
        Currency::parse(value).map_err(|_| self.damaged("currency"))
    }
}

/// An id column read back: this code minted it, so it parses.
pub(crate) fn stored_id<T: PrefixedId>(value: &str) -> DomainResult<T> {
    T::parse(value).ok_or_else(|| DomainError::internal(format!("stored id `{value}` is damaged")))
}
