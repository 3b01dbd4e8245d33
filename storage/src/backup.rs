//! Backups of the embedded SQLite database while it serves: `VACUUM INTO`, SQLite's own
//! consistent copy. It reads one snapshot (WAL mode lets writers go on meanwhile) and writes a
//! compact, self-contained database file — no `-wal` to carry along — that opens as it is.
//! Chosen over the C online-backup API, which the diesel driver does not expose, and which
//! restarts its copy whenever another connection writes, so under steady writes it may never
//! finish. PostgreSQL is backed up with its own tools (`pg_dump`, base backups).

use std::path::Path;

use diesel::sql_types::Text;
use diesel::RunQueryDsl;

use crate::connection::{DbConnection, StorageError};
use crate::Store;

const POSTGRES: &str = "this is a PostgreSQL database: back it up with pg_dump or a base backup";

impl Store {
    /// Writes a consistent copy of the database to `file`, which must not exist yet. SQLite
    /// only.
    pub fn backup_to(&self, file: &Path) -> Result<(), StorageError> {
        let target = file.to_str().ok_or_else(|| {
            StorageError::Connect(format!("{}: not a UTF-8 path", file.display()))
        })?;
        if self.backend() == crate::Backend::Postgres {
            return Err(StorageError::Connect(POSTGRES.into()));
        }
        if file.exists() {
            return Err(StorageError::Connect(format!("{target} already exists")));
        }
        // Created empty and readable by its owner only, as the database is (it holds sealed
        // secrets and digests of keys): SQLite writes into an empty file it is given.
        crate::connection::owner_only(file)?;
        let mut conn = self
            .conn()
            .map_err(|e| StorageError::Connect(e.to_string()))?;
        match &mut *conn {
            DbConnection::Sqlite(c) => {
                diesel::sql_query("VACUUM INTO ?")
                    .bind::<Text, _>(target)
                    .execute(c)?;
                Ok(())
            }
            DbConnection::Postgres(_) => Err(StorageError::Connect(POSTGRES.into())),
        }
    }
}
