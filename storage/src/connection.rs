use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, PooledConnection};
use domain::DomainError;

use crate::sql_types;

/// One connection type over both backends; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unsupported DATABASE_URL (expected postgres://…, postgresql://… or sqlite://<path>)")]
    UnsupportedUrl,
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("migrations failed: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

impl From<StorageError> for DomainError {
    fn from(e: StorageError) -> Self {
        DomainError::internal(e)
    }
}

/// Where the data lives, decided by the URL scheme (never by trial and error, which would hide
/// the real PostgreSQL error behind a generic one).
#[derive(Clone)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl std::fmt::Debug for DatabaseUrl {
    // Never print a PostgreSQL URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("Postgres(<redacted>)"),
            Self::Sqlite(p) => write!(f, "Sqlite({p})"),
        }
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(Self::Sqlite(path.to_owned()))
        } else {
            Err(StorageError::UnsupportedUrl)
        }
    }

    /// The embedded default: `<data_dir>/portal.db`.
    pub fn sqlite_in(data_dir: &Path) -> Self {
        Self::Sqlite(data_dir.join("portal.db").to_string_lossy().into_owned())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    fn establish(&self) -> Result<DbConnection, ConnectionError> {
        Ok(match self {
            Self::Postgres(url) => DbConnection::Postgres(PgConnection::establish(url)?),
            Self::Sqlite(path) => DbConnection::Sqlite(SqliteConnection::establish(path)?),
        })
    }
}

pub struct Manager(DatabaseUrl);

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.0.establish().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        <DbConnection as r2d2::R2D2Connection>::is_broken(conn)
    }
}

/// Per-connection setup. SQLite settings are per connection, and so are the exact-decimal
/// functions that PostgreSQL gets from a migration.
#[derive(Debug)]
struct Setup;

impl CustomizeConnection<DbConnection, r2d2::Error> for Setup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            // busy_timeout first: the other statements may have to wait for a lock.
            // (journal_mode = WAL is persistent and set once in `Store::connect`.)
            c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(r2d2::Error::QueryError)?;
            sql_types::register_sqlite_functions(c).map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type Conn = PooledConnection<Manager>;

/// The storage adapter: a connection pool that implements every domain port.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
}

impl Store {
    /// Opens the pool, failing with the backend's own error if the database is unreachable.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, StorageError> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StorageError::Connect(format!("{}: {e}", dir.display())))?;
            }
        }
        // Try once by hand so the real error (bad password, unknown host…) reaches the operator.
        let mut first = url
            .establish()
            .map_err(|e| StorageError::Connect(e.to_string()))?;
        if let DbConnection::Sqlite(c) = &mut first {
            c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(Setup))
            .build(Manager(url.clone()))
            .map_err(|e| StorageError::Connect(e.to_string()))?;
        Ok(Self {
            pool,
            backend: url.backend(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> Result<Conn, DomainError> {
        self.pool
            .get()
            .map_err(|e| DomainError::internal(format!("database pool: {e}")))
    }

    /// (open connections, idle connections, max size), for metrics.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections, self.pool.max_size())
    }
}

/// Runs `f` in a transaction that holds the write lock from its first statement: `BEGIN
/// IMMEDIATE` on SQLite (a deferred transaction that reads, then writes, can fail with
/// SQLITE_BUSY instead of waiting), a plain transaction on PostgreSQL, where row locks
/// (`FOR UPDATE`) serialise writers.
pub fn write_tx<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgres(_) => {
            <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?
        }
    }
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}
