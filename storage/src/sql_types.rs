//! Column types that must behave the same on both backends.
//!
//! - [`ExactDecimal`] / [`DbDecimal`]: exact money. PostgreSQL `NUMERIC`; SQLite canonical decimal
//!   TEXT (see `domain::money::canonical`). diesel's own SQLite `Numeric` converts through `f64`
//!   (19.99 → 19.98999…), so it is never used.
//! - [`UtcTimestamp`] / [`DbTime`]: PostgreSQL `TIMESTAMPTZ`; SQLite fixed-width RFC 3339 TEXT
//!   (`2026-01-02T03:04:05.000006Z`), which sorts as text in time order. Microseconds on both.
//!
//! Exact arithmetic in SQL uses functions with the same names on both backends: `dec_add(a, b)`
//! and the aggregate `dec_sum(x)` are created by a migration on PostgreSQL and registered on
//! every SQLite connection (see [`register_sqlite_functions`]). Canonical TEXT does not sort
//! numerically on SQLite: order or compare amounts in SQL only through such a function.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Numeric, Text, Timestamptz};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::QueryResult;

use crate::connection::{MultiBackend, MultiRawValue};

#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 1700, array_oid = 1231))]
#[diesel(sqlite_type(name = "Text"))]
pub struct ExactDecimal;

#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct UtcTimestamp;

/// A decimal as stored: convert with `.0` / `DbDecimal(x)` at the repository boundary.
#[derive(
    Debug, Clone, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = ExactDecimal)]
pub struct DbDecimal(pub BigDecimal);

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = UtcTimestamp)]
pub struct DbTime(pub DateTime<Utc>);

impl ToSql<ExactDecimal, Pg> for DbDecimal {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <BigDecimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<ExactDecimal, Pg> for DbDecimal {
    fn from_sql(
        bytes: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <BigDecimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(DbDecimal)
    }
}

impl ToSql<ExactDecimal, Sqlite> for DbDecimal {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(domain::money::canonical(&self.0));
        Ok(IsNull::No)
    }
}

impl FromSql<ExactDecimal, Sqlite> for DbDecimal {
    fn from_sql(
        value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        parse_decimal(&text).map(DbDecimal).map_err(Into::into)
    }
}

impl ToSql<UtcTimestamp, Pg> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<UtcTimestamp, Pg> for DbTime {
    fn from_sql(
        bytes: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(bytes).map(DbTime)
    }
}

impl ToSql<UtcTimestamp, Sqlite> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.to_rfc3339_opts(SecondsFormat::Micros, true));
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTimestamp, Sqlite> for DbTime {
    fn from_sql(
        value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| DbTime(t.with_timezone(&Utc)))
            .map_err(|e| format!("invalid timestamp {text:?} in SQLite: {e}").into())
    }
}

/// The MultiConnection backend dispatches to the concrete backend's impls above.
macro_rules! multi_backend_type {
    ($sql:ident, $rust:ty) => {
        impl diesel::sql_types::HasSqlType<$sql> for MultiBackend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                MultiBackend::lookup_sql_type::<$sql>(lookup)
            }
        }

        impl ToSql<$sql, MultiBackend> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value(($sql, self));
                Ok(IsNull::No)
            }
        }

        impl FromSql<$sql, MultiBackend> for $rust {
            fn from_sql(bytes: MultiRawValue<'_>) -> deserialize::Result<Self> {
                bytes.from_sql::<Self, $sql>()
            }
        }
    };
}

multi_backend_type!(ExactDecimal, DbDecimal);
multi_backend_type!(UtcTimestamp, DbTime);

fn parse_decimal(text: &str) -> Result<BigDecimal, String> {
    BigDecimal::from_str(text).map_err(|e| format!("invalid decimal {text:?} in SQLite: {e}"))
}

diesel::define_sql_function! {
    /// Exact `a + b` on both backends.
    fn dec_add(a: ExactDecimal, b: ExactDecimal) -> ExactDecimal;
}

diesel::define_sql_function! {
    /// Exact sum on both backends; NULL over no rows, like SQL's `SUM`.
    #[aggregate]
    fn dec_sum(x: ExactDecimal) -> diesel::sql_types::Nullable<ExactDecimal>;
}

/// SQLite implementations, declared over TEXT (the storage class of `ExactDecimal` there)
/// because diesel registers SQLite functions only for its built-in types.
mod sqlite_impl {
    use diesel::sql_types::Text;

    diesel::define_sql_function! {
        #[sql_name = "dec_add"]
        fn dec_add_text(a: Text, b: Text) -> Text;
    }

    diesel::define_sql_function! {
        #[aggregate]
        #[sql_name = "dec_sum"]
        fn dec_sum_text(x: Text) -> diesel::sql_types::Nullable<Text>;
    }
}

#[derive(Default)]
struct DecSum(BigDecimal);

impl diesel::sqlite::SqliteAggregateFunction<String> for DecSum {
    type Output = Option<String>;

    fn step(&mut self, x: String) {
        // Stored values are canonical; anything else is corruption, and a panic here surfaces as
        // an SQL error rather than a wrong total.
        self.0 += parse_decimal(&x).expect("dec_sum over a non-decimal value");
    }

    fn finalize(agg: Option<Self>) -> Self::Output {
        agg.map(|a| domain::money::canonical(&a.0))
    }
}

/// Registers `dec_add` and `dec_sum` on an SQLite connection (PostgreSQL gets them from the
/// first migration).
pub fn register_sqlite_functions(conn: &mut SqliteConnection) -> QueryResult<()> {
    sqlite_impl::dec_add_text_utils::register_impl(conn, |a: String, b: String| {
        let sum = parse_decimal(&a).expect("dec_add over a non-decimal value")
            + parse_decimal(&b).expect("dec_add over a non-decimal value");
        domain::money::canonical(&sum)
    })?;
    sqlite_impl::dec_sum_text_utils::register_impl::<DecSum, _>(conn)?;
    Ok(())
}

/// Rows read back as JSON (the dashboard's read model, `repos::dashboard`): a timestamp as both
/// backends write it there, an RFC 3339 string.
impl<'de> serde::Deserialize<'de> for DbTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| DbTime(t.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom)
    }
}

/// A decimal read back as JSON: PostgreSQL writes `numeric` as a JSON number, SQLite's text
/// column is a JSON string. Either is parsed from its exact text, never through a float.
impl<'de> serde::Deserialize<'de> for DbDecimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        BigDecimal::from_str(text)
            .map(DbDecimal)
            .map_err(serde::de::Error::custom)
    }
}

/// A boolean read back as JSON: `true`/`false` from PostgreSQL, `1`/`0` from SQLite.
pub fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match <Flag as serde::Deserialize>::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}
