//! Runs a storage test on SQLite (a temp file) and, when TEST_DATABASE_URL is set, on
//! PostgreSQL in a fresh schema that is dropped afterwards (REQUIRE_POSTGRES=1: no skipping).

#![allow(dead_code, reason = "each test binary uses part of it")]

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use storage::{DatabaseUrl, Store};

pub fn on_sqlite(test: impl FnOnce(&Store)) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&DatabaseUrl::sqlite_in(dir.path()), 2).unwrap();
    store.migrate().expect("migrations apply");
    test(&store);
}

pub fn on_postgres(name: &str, test: impl FnOnce(&Store)) {
    in_postgres_schema(name, |url| {
        let store = Store::connect(&DatabaseUrl::parse(url).unwrap(), 2).unwrap();
        store.migrate().expect("migrations apply");
        test(&store);
    });
}

/// Runs `test` with the URL of a fresh PostgreSQL schema (empty), dropped afterwards.
pub fn in_postgres_schema(name: &str, test: impl FnOnce(&str)) {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is unset"
        );
        eprintln!("SKIPPED {name} on PostgreSQL: TEST_DATABASE_URL is not set");
        return;
    };
    let schema = format!("t_{name}_{}", std::process::id());
    let mut admin = PgConnection::establish(&base).expect("connect to TEST_DATABASE_URL");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&url)));
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
