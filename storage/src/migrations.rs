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
        let applied = match &mut *conn {
            DbConnection::Postgres(c) => {
                // Replicas starting together must not apply the same migration twice.
                diesel::sql_query("SELECT pg_advisory_lock(72170000)")
                    .execute(c)
                    .map_err(StorageError::Query)?;
                let result = c
                    .run_pending_migrations(POSTGRES)
                    .map(|v| v.iter().map(|m| m.to_string()).collect());
                diesel::sql_query("SELECT pg_advisory_unlock(72170000)")
                    .execute(c)
                    .map_err(StorageError::Query)?;
                result
            }
            DbConnection::Sqlite(c) => c
                .run_pending_migrations(SQLITE)
                .map(|v| v.iter().map(|m| m.to_string()).collect()),
        };
        applied.map_err(|e| StorageError::Migrate(e.to_string()))
    }
}
