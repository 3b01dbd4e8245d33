use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::connection::{DbConnection, StorageError, Store};

// One folder per backend, same version names; a MultiConnection cannot run migrations itself.
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

impl Store {
    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StorageError> {
        let mut conn = self
            .conn()
            .map_err(|e| StorageError::Connect(e.to_string()))?;
        let postgres = matches!(&*conn, DbConnection::Postgres(_));
        if postgres {
            // Replicas starting together must not apply the same migration twice.
            diesel::sql_query("SELECT pg_advisory_lock(72170000)")
                .execute(&mut *conn)
                .map_err(StorageError::Query)?;
        }
        let applied = match &mut *conn {
            DbConnection::Postgres(c) => c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
            DbConnection::Sqlite(c) => c
                .run_pending_migrations(SQLITE)
                .map(|v| v.iter().map(|m| m.to_string()).collect()),
        }
        .map_err(|e| StorageError::Migrate(e.to_string()))
        // Still under the lock, on the same connection: no replica serves half-counted counters.
        .and_then(|v| after_migrations(&mut conn, &v).map(|()| v));
        if postgres {
            diesel::sql_query("SELECT pg_advisory_unlock(72170000)")
                .execute(&mut *conn)
                .map_err(StorageError::Query)?;
        }
        applied
    }
}

/// Data steps a migration needs the application for: the usage counters' first count
/// (decimals are summed exactly here, which SQLite's SQL cannot do).
fn after_migrations(conn: &mut DbConnection, applied: &[String]) -> Result<(), StorageError> {
    let counters = applied
        .iter()
        .any(|v| v.replace('-', "").starts_with("20261212000031"));
    if counters {
        crate::repos::backfill_counters(conn)
            .map_err(|e| StorageError::Migrate(format!("counting usage in: {e}")))?;
    }
    Ok(())
}
