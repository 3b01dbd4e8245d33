//! The exact-decimal column type round-trips and sums exactly on SQLite and PostgreSQL.
//! PostgreSQL runs when TEST_DATABASE_URL is set (required when REQUIRE_POSTGRES=1).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::str::FromStr;

use bigdecimal::BigDecimal;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use storage::sql_types::{dec_add, dec_sum, DbDecimal};
use storage::{DbConnection, Store};

mod common;

diesel::table! {
    use diesel::sql_types::Integer;
    use storage::sql_types::ExactDecimal;
    amounts (id) {
        id -> Integer,
        v -> ExactDecimal,
    }
}

const VALUES: &[&str] = &[
    "0.1",
    "0.2",
    "19.99",
    "1000000000000",
    "0.000001",
    "-3.5",
    "123456789012345678.123456789012345678",
];

fn d(s: &str) -> BigDecimal {
    BigDecimal::from_str(s).unwrap()
}

fn exercise(store: &Store) {
    let mut conn = store.conn().unwrap();
    let ddl = match &*conn {
        DbConnection::Postgres(_) => {
            "CREATE TEMPORARY TABLE amounts (id INTEGER PRIMARY KEY, v NUMERIC NOT NULL)"
        }
        DbConnection::Sqlite(_) => {
            "CREATE TEMPORARY TABLE amounts (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"
        }
    };
    conn.batch_execute(ddl).unwrap();
    for (i, v) in VALUES.iter().enumerate() {
        diesel::insert_into(amounts::table)
            .values((amounts::id.eq(i as i32), amounts::v.eq(DbDecimal(d(v)))))
            .execute(&mut *conn)
            .unwrap();
    }

    // Round trip: every value comes back equal, digit for digit.
    let back: Vec<DbDecimal> = amounts::table
        .order(amounts::id)
        .select(amounts::v)
        .load(&mut *conn)
        .unwrap();
    for (v, got) in VALUES.iter().zip(&back) {
        assert_eq!(got.0, d(v), "round trip of {v}");
    }

    // Exact sum in SQL: 0.1 + 0.2 is 0.3, large and tiny amounts are not lost.
    let expected: BigDecimal = VALUES.iter().map(|v| d(v)).sum();
    let total: Option<DbDecimal> = amounts::table
        .select(dec_sum(amounts::v))
        .first(&mut *conn)
        .unwrap();
    assert_eq!(total.unwrap().0, expected);
    let small: Option<DbDecimal> = amounts::table
        .filter(amounts::id.lt(2))
        .select(dec_sum(amounts::v))
        .first(&mut *conn)
        .unwrap();
    assert_eq!(small.unwrap().0, d("0.3"));
    let none: Option<DbDecimal> = amounts::table
        .filter(amounts::id.lt(0))
        .select(dec_sum(amounts::v))
        .first(&mut *conn)
        .unwrap();
    assert!(none.is_none(), "sum over no rows is NULL");

    // Exact in-place addition, as a balance update would do it.
    diesel::update(amounts::table.filter(amounts::id.eq(0)))
        .set(amounts::v.eq(dec_add(amounts::v, DbDecimal(d("0.2")))))
        .execute(&mut *conn)
        .unwrap();
    let v0: DbDecimal = amounts::table
        .filter(amounts::id.eq(0))
        .select(amounts::v)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(v0.0, d("0.3"));
    // And the stored form is equality-comparable: the canonical 0.3 matches.
    let n: i64 = amounts::table
        .filter(amounts::v.eq(DbDecimal(d("0.30"))))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn exact_decimal_on_sqlite() {
    common::on_sqlite(exercise);
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
fn exact_decimal_on_postgres() {
    common::on_postgres("dec", exercise);
}
