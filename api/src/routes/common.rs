//! What every resource's routes share: paging parameters, list envelopes, decimal input.

use bigdecimal::BigDecimal;
use domain::money::parse_amount;
use domain::FieldError;
use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;

use crate::error::ApiError;

/// Cursor pagination parameters shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Declares a list response `{data, has_more, next_cursor}` for an item type.
macro_rules! list_type {
    ($name:ident, $item:ty) => {
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Whether another page follows.
            pub has_more: bool,
            /// Pass as `cursor` to get the next page; null on the last page.
            pub next_cursor: Option<String>,
        }

        impl From<domain::page::Page<$item>> for $name {
            fn from(p: domain::page::Page<$item>) -> Self {
                Self {
                    data: p.items,
                    has_more: p.has_more,
                    next_cursor: p.next_cursor,
                }
            }
        }
    };
}
pub(crate) use list_type;

/// Parses a decimal string for `field` (plain notation, e.g. `"12.50"`).
pub fn decimal(field: &str, s: &str) -> Result<BigDecimal, ApiError> {
    parse_amount(s).map_err(|e| match e {
        domain::DomainError::Validation(errs) => ApiError::validation(
            errs.into_iter()
                .map(|f| FieldError::new(field, f.message))
                .collect(),
        ),
        other => other.into(),
    })
}

/// Tells a field sent as `null` (Some(None)) from a field left out (None).
pub fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The customer a request names: exactly one of `customer_id` and `external_customer_id`.
pub fn customer_ref(
    customer_id: Option<String>,
    external_customer_id: Option<String>,
) -> Result<domain::portal_session::CustomerRef, ApiError> {
    use domain::portal_session::CustomerRef;
    match (customer_id, external_customer_id) {
        (Some(id), None) => Ok(CustomerRef::Id(id)),
        (None, Some(ext)) => Ok(CustomerRef::ExternalId(ext)),
        _ => Err(ApiError::validation(vec![FieldError::new(
            "customer_id",
            "give exactly one of customer_id and external_customer_id",
        )])),
    }
}

/// Reads a request's fields, collecting every problem instead of stopping at the first. A bad
/// field yields a placeholder that `done` never lets out.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// A decimal string (see `decimal`).
    pub fn decimal(&mut self, field: &str, s: &str) -> BigDecimal {
        decimal(field, s).unwrap_or_else(|e| {
            self.0.extend(e.errors);
            BigDecimal::default()
        })
    }

    /// One of a domain text enum's forms; `value` absent gives `default`. The message lists
    /// the variants (the same list the contract's `enum` shows).
    pub fn variant<T>(&mut self, field: &str, value: Option<&str>, default: T) -> T
    where
        T: strum::VariantArray + Copy + Into<&'static str>,
    {
        match value {
            None => default,
            Some(v) => T::VARIANTS
                .iter()
                .copied()
                .find(|t| Into::<&'static str>::into(*t) == v)
                .unwrap_or_else(|| {
                    self.0.push(FieldError::new(
                        field,
                        format!("must be {}", choices::<T>()),
                    ));
                    default
                }),
        }
    }

    /// One of an enum's text forms; `value` absent gives `default`. `what` lists the choices.
    pub fn one_of<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        default: T,
        parse: fn(&str) -> Option<T>,
        what: &str,
    ) -> T {
        match value {
            None => default,
            Some(v) => parse(v).unwrap_or_else(|| {
                self.0
                    .push(FieldError::new(field, format!("must be {what}")));
                default
            }),
        }
    }

    /// `value`, or 422 `validation_failed` with every problem found.
    pub fn done<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// A text enum's forms as a sentence: "`a`, `b` or `c`".
pub fn choices<T>() -> String
where
    T: strum::VariantArray + Copy + Into<&'static str>,
{
    either(T::VARIANTS.iter().map(|v| Into::<&'static str>::into(*v)))
}

/// Words as a sentence of choices, each in backticks: "`a`, `b` or `c`".
pub fn either<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = words.into_iter().map(|w| format!("`{w}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A CSV document (RFC 4180, UTF-8, a header row first), streamed.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct CsvDocument(
    #[expect(
        dead_code,
        reason = "a schema for the spec only; the handler streams the rows"
    )]
    Vec<u8>,
);
