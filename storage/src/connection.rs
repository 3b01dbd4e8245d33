use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, PooledConnection};
use domain::{DomainError, DomainResult};

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
            Self::Sqlite(path) => {
                stable_sqlite_plans();
                DbConnection::Sqlite(SqliteConnection::establish(path)?)
            }
        })
    }
}

/// Turns on SQLite's query planner stability guarantee (QPSG) for every connection this process
/// opens from now on.
///
/// Without it, SQLite plans with the values bound to some parameters: the bundled SQLite (3.53)
/// reads a bound `LIMIT ?` as a constant, as are the values compared with a partial index's
/// predicate and a `LIKE` pattern. A statement so planned is marked stale by its next bind, even of
/// the same value, and parsed and planned again on its next step: every cached read with a `LIMIT`
/// (each `.first()`, each page) was re-prepared on every execution, half of a session check's CPU
/// on SQLite. With QPSG a statement keeps the plan it was prepared with, whatever is bound, which
/// is what the statement cache is for. The queries that rely on a partial index state its predicate
/// literally (`credit_lots.available <> 0`, `status = 'pending'`), as PostgreSQL's generic plans
/// need too, so no plan depended on a bound value.
#[expect(
    unsafe_code,
    reason = "SQLite's automatic-extension hook is a C API; each block has its SAFETY note"
)]
fn stable_sqlite_plans() {
    use libsqlite3_sys as ffi;
    use std::ffi::{c_char, c_int};

    /// Called by SQLite as each connection opens; a non-OK answer fails the open.
    unsafe extern "C" fn enable_qpsg(
        db: *mut ffi::sqlite3,
        _err: *mut *mut c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        // SAFETY: `db` is the connection being opened; ENABLE_QPSG takes an int (1: on) and an
        // optional int pointer for the setting's new value, not wanted here.
        unsafe {
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as c_int,
                std::ptr::null_mut::<c_int>(),
            )
        }
    }

    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `enable_qpsg` has the signature SQLite calls an automatic extension with, and
        // is a plain function that lives as long as the process.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(enable_qpsg)) };
        assert_eq!(rc, ffi::SQLITE_OK, "sqlite3_auto_extension failed");
    });
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
type Pooled = PooledConnection<Manager>;

thread_local! {
    /// The connection of the unit of work open on this thread, if any (see [`Store::in_unit`]).
    static UNIT: RefCell<Option<UnitSlot>> = const { RefCell::new(None) };
    /// The connection this thread's repository calls share outside a unit, if any (see
    /// [`Store::on_one_connection`]).
    static PINNED: RefCell<Option<UnitSlot>> = const { RefCell::new(None) };
}

/// Takes a free connection out of `slot`, leaving it lent; `None` if the slot is empty or its
/// connection is already lent.
fn borrow_slot(slot: &'static std::thread::LocalKey<RefCell<Option<UnitSlot>>>) -> Option<Pooled> {
    slot.with(|u| match u.borrow_mut().as_mut() {
        Some(s @ UnitSlot::Free(_)) => match std::mem::replace(s, UnitSlot::Lent) {
            UnitSlot::Free(conn) => Some(conn),
            UnitSlot::Lent => None,
        },
        _ => None,
    })
}

/// Gives a lent connection back to `slot`, if the slot is still open and waiting for it.
fn give_back(slot: &'static std::thread::LocalKey<RefCell<Option<UnitSlot>>>, conn: Pooled) {
    slot.with(|u| {
        if let Some(s @ UnitSlot::Lent) = u.borrow_mut().as_mut() {
            *s = UnitSlot::Free(conn);
        }
    });
}

/// Where a [`Conn`]'s connection came from, and so where it goes back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Pool,
    Unit,
    Pinned,
}

enum UnitSlot {
    Free(Pooled),
    /// Lent to a [`Conn`] of a repository call; it comes back when that `Conn` drops.
    Lent,
}

/// A database connection for one repository call: from the pool, or, inside a unit of work,
/// the unit's own connection (so the call joins the unit's transaction).
pub struct Conn {
    conn: Option<Pooled>,
    origin: Origin,
    /// The store's SQLite writer queue (`None` on PostgreSQL, and for the unit's connection,
    /// whose unit already holds its turn).
    writers: Option<Writers>,
}

/// SQLite admits one writer at a time, and a writer that finds the lock taken waits in SQLite's
/// busy handler, which sleeps in growing steps (up to 100 ms) and wakes in no order: under
/// contention the unlucky writer waits hundreds of milliseconds while others pass. So a write
/// transaction of this process first takes its turn on this lock (eventually fair: it hands the
/// lock to the longest waiter at least every half millisecond), and only then `BEGIN
/// IMMEDIATE`; SQLite's busy handler is left to other processes on the same file. A turn not
/// had within the busy timeout goes ahead without it, as before (a write nested in another on a
/// second connection would otherwise wait for itself).
pub type Writers = std::sync::Arc<parking_lot::Mutex<()>>;

/// Waits for this process's turn to write to SQLite (see [`Writers`]).
fn writer_turn(writers: Option<&Writers>) -> Option<parking_lot::MutexGuard<'_, ()>> {
    writers.and_then(|w| w.try_lock_for(Duration::from_secs(10)))
}

impl Conn {
    /// [`write_tx`] on this connection, in this process's turn to write (SQLite).
    pub fn write<T, E>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        let writers = self.writers.clone();
        let _turn = writer_turn(writers.as_ref());
        write_tx(self, f)
    }
}

impl Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Back to the unit or the pinned slot, if still open (they always are: repository calls
        // return before their unit ends); otherwise the connection simply returns to the pool.
        let slot = match self.origin {
            Origin::Pool => return,
            Origin::Unit => &UNIT,
            Origin::Pinned => &PINNED,
        };
        give_back(
            slot,
            self.conn.take().expect("connection present until drop"),
        );
    }
}

/// Empties a thread's slot however its scope leaves (a panic included): the connection goes back
/// to the pool, which discards it if a transaction is still open.
struct SlotGuard(&'static std::thread::LocalKey<RefCell<Option<UnitSlot>>>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.with(|u| u.borrow_mut().take());
    }
}

/// The storage adapter: a connection pool that implements every domain port.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
    /// SQLite: this process's writer queue (see [`Writers`]).
    writers: Option<Writers>,
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
            if !path.starts_with(':') && !path.starts_with("file:") {
                owner_only(Path::new(path))?;
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
            // r2d2 would otherwise send `SELECT 1` before every checkout: a round trip per
            // repository call, up to half of a short read's database time. A connection that
            // broke while idle (the server restarted) fails its one call instead, and the pool
            // discards it on return (`has_broken`), as it does any broken connection.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(Setup))
            .build(Manager(url.clone()))
            .map_err(|e| StorageError::Connect(e.to_string()))?;
        Ok(Self {
            pool,
            backend: url.backend(),
            writers: match url {
                DatabaseUrl::Sqlite(_) => Some(Writers::default()),
                _ => None,
            },
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection for one repository call: the unit of work's, when one is open on this
    /// thread, else one from the pool.
    pub fn conn(&self) -> Result<Conn, DomainError> {
        let lent = UNIT.with(|u| {
            u.borrow_mut()
                .as_mut()
                .map(|slot| match std::mem::replace(slot, UnitSlot::Lent) {
                    UnitSlot::Free(conn) => Ok(conn),
                    UnitSlot::Lent => Err(DomainError::internal(
                        "the unit of work's connection is already in use on this thread",
                    )),
                })
        });
        if let Some(conn) = lent {
            return Ok(Conn {
                conn: Some(conn?),
                origin: Origin::Unit,
                writers: None,
            });
        }
        let (conn, origin) = match borrow_slot(&PINNED) {
            Some(conn) => (conn, Origin::Pinned),
            None => (self.pooled()?, Origin::Pool),
        };
        Ok(Conn {
            conn: Some(conn),
            origin,
            writers: self.writers.clone(),
        })
    }

    /// Runs `work` with every repository call it makes on this thread sharing one connection,
    /// checked out of the pool once (a unit of work opened inside runs its transaction on it).
    /// No transaction is opened: each call still reads or writes as it would on its own. A
    /// request's authentication and reads so cost one checkout. Nested, it simply joins.
    pub fn on_one_connection<T>(&self, work: impl FnOnce() -> DomainResult<T>) -> DomainResult<T> {
        let open = |slot: &'static std::thread::LocalKey<RefCell<Option<UnitSlot>>>| {
            slot.with(|u| u.borrow().is_some())
        };
        if open(&UNIT) || open(&PINNED) {
            return work();
        }
        let conn = self.pooled()?;
        PINNED.with(|p| *p.borrow_mut() = Some(UnitSlot::Free(conn)));
        let _end = SlotGuard(&PINNED);
        work()
    }

    fn pooled(&self) -> Result<Pooled, DomainError> {
        self.pool
            .get()
            .map_err(|e| DomainError::internal(format!("database pool: {e}")))
    }

    /// Runs `work` as one unit of work: one write transaction that every repository call `work`
    /// makes on this thread joins (their own transactions become savepoints). It commits if
    /// `work` succeeds and rolls back otherwise, so its effects happen together or not at all,
    /// also across a crash. Inside a unit, a nested `in_unit` simply joins it.
    pub fn in_unit<T>(&self, work: impl FnOnce() -> DomainResult<T>) -> DomainResult<T> {
        if UNIT.with(|u| u.borrow().is_some()) {
            return work();
        }
        // The connection first, then the turn, as in `Conn::write`: the writer whose turn it is
        // never waits for a connection that a writer queued behind it holds. A connection pinned
        // on this thread (see `on_one_connection`) is used, and given back once the unit ends.
        let (mut conn, pinned) = match borrow_slot(&PINNED) {
            Some(conn) => (conn, true),
            None => (self.pooled()?, false),
        };
        let _turn = writer_turn(self.writers.as_ref());
        begin_write(&mut conn).map_err(|e| DomainError::internal(format!("database: {e}")))?;
        UNIT.with(|u| *u.borrow_mut() = Some(UnitSlot::Free(conn)));
        let end = SlotGuard(&UNIT);
        let result = work();
        let Some(UnitSlot::Free(mut conn)) = UNIT.with(|u| u.borrow_mut().take()) else {
            return Err(DomainError::internal(
                "a repository call kept the unit of work's connection",
            ));
        };
        drop(end);
        type Tm = <DbConnection as Connection>::TransactionManager;
        let outcome = match result {
            Ok(value) => Tm::commit_transaction(&mut conn)
                .map(|()| value)
                .map_err(|e| DomainError::internal(format!("database: {e}"))),
            Err(e) => {
                let _ = Tm::rollback_transaction(&mut conn);
                Err(e)
            }
        };
        // Only a sound connection with no transaction left open goes back to the pinned slot;
        // any other returns to the pool, which discards it.
        if pinned && reusable(&mut conn) {
            give_back(&PINNED, conn);
        }
        outcome
    }

    /// Inside a unit of work, runs `work` in a savepoint: if it fails, only its own effects are
    /// undone and the unit goes on (on PostgreSQL a failed statement otherwise spoils the whole
    /// transaction). Outside one, `work` is a unit of its own.
    pub fn in_savepoint<T>(&self, work: impl FnOnce() -> DomainResult<T>) -> DomainResult<T> {
        if UNIT.with(|u| u.borrow().is_none()) {
            return self.in_unit(work);
        }
        type Tm = <DbConnection as Connection>::TransactionManager;
        let db = |e: diesel::result::Error| DomainError::internal(format!("database: {e}"));
        Tm::begin_transaction(&mut *self.conn()?).map_err(db)?;
        let result = work();
        let mut conn = self.conn()?;
        match result {
            Ok(value) => {
                Tm::commit_transaction(&mut *conn).map_err(db)?;
                Ok(value)
            }
            Err(e) => {
                Tm::rollback_transaction(&mut *conn).map_err(db)?;
                Err(e)
            }
        }
    }

    /// (open connections, idle connections, max size), for metrics.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections, self.pool.max_size())
    }
}

impl domain::ports::UnitOfWork for Store {
    fn atomically(&self, work: &mut dyn FnMut() -> DomainResult<()>) -> DomainResult<()> {
        self.in_unit(work)
    }

    fn attempt(&self, work: &mut dyn FnMut() -> DomainResult<()>) -> DomainResult<()> {
        self.in_savepoint(work)
    }
}

/// The database holds customers' data and hashed secrets: only its owner may read it. SQLite
/// gives its `-wal` and `-shm` files the database file's mode, so creating that file 0600 (and
/// tightening older ones) covers all three.
pub(crate) fn owner_only(db: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let fail =
            |p: &Path, e: std::io::Error| StorageError::Connect(format!("{}: {e}", p.display()));
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)
            .map_err(|e| fail(db, e))?;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", db.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| fail(&file, e))?;
            }
        }
    }
    Ok(())
}

/// Whether a connection that ran a transaction is fit for the next call: not broken, and with
/// no transaction left open (a failed commit or rollback leaves one).
fn reusable(conn: &mut DbConnection) -> bool {
    type Tm = <DbConnection as Connection>::TransactionManager;
    let closed = Tm::transaction_manager_status_mut(conn)
        .transaction_depth()
        .is_ok_and(|d| d.is_none());
    closed && !<DbConnection as r2d2::R2D2Connection>::is_broken(conn)
}

/// Opens a write transaction (see [`write_tx`]); inside one already open (a unit of work), a
/// savepoint.
fn begin_write(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    type Tm = <DbConnection as Connection>::TransactionManager;
    let nested = Tm::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some();
    match conn {
        DbConnection::Sqlite(c) if !nested => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        _ => Tm::begin_transaction(conn),
    }
}

/// Runs `f`, whose statements together make one answer, on one snapshot of the database: a
/// read-only `REPEATABLE READ` transaction on PostgreSQL, a deferred one on SQLite (WAL keeps
/// its first read's snapshot). Otherwise a write committing between two statements shows
/// half of itself (a delivery's new attempt in its log, but not its new schedule). Inside an
/// open transaction `f` simply joins it.
pub fn read_tx<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    type Tm = <DbConnection as Connection>::TransactionManager;
    let db = |e: diesel::result::Error| DomainError::internal(format!("database: {e}"));
    if Tm::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(db)?
        .is_some()
    {
        return f(conn);
    }
    match conn {
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ),
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN"),
    }
    .map_err(db)?;
    // A failed commit or rollback leaves the transaction open: the pool then discards the
    // connection.
    match f(conn) {
        Ok(value) => Tm::commit_transaction(conn).map_err(db).map(|()| value),
        Err(e) => {
            let _ = Tm::rollback_transaction(conn);
            Err(e)
        }
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
    begin_write(conn)?;
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

#[cfg(test)]
mod tests {
    use std::ffi::{c_int, CStr};
    use std::ptr::null_mut;

    use libsqlite3_sys as ffi;

    /// Times SQLite re-prepared `SELECT … LIMIT ?` over three executions, each binding its
    /// parameters again, on a new in-memory connection; `qpsg` forces the setting on it.
    #[expect(
        unsafe_code,
        reason = "the test drives SQLite's C API directly; each block has its SAFETY note"
    )]
    fn reprepares(qpsg: Option<bool>) -> c_int {
        let run = |db: *mut ffi::sqlite3, sql: &CStr| {
            // SAFETY: an open connection and a NUL-terminated statement.
            let rc = unsafe { ffi::sqlite3_exec(db, sql.as_ptr(), None, null_mut(), null_mut()) };
            assert_eq!(rc, ffi::SQLITE_OK);
        };
        // SAFETY: each call gets the handles the previous calls returned, checked for SQLITE_OK,
        // and both handles are released at the end.
        unsafe {
            let mut db = null_mut();
            assert_eq!(
                ffi::sqlite3_open(c":memory:".as_ptr(), &mut db),
                ffi::SQLITE_OK
            );
            if let Some(on) = qpsg {
                let rc = ffi::sqlite3_db_config(
                    db,
                    ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                    on as c_int,
                    null_mut::<c_int>(),
                );
                assert_eq!(rc, ffi::SQLITE_OK);
            }
            run(db, c"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
            run(db, c"INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')");
            let mut stmt = null_mut();
            let sql = c"SELECT v FROM t WHERE id > ?1 ORDER BY id LIMIT ?2";
            let rc = ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, null_mut());
            assert_eq!(rc, ffi::SQLITE_OK);
            for _ in 0..3 {
                assert_eq!(ffi::sqlite3_bind_int64(stmt, 1, 1), ffi::SQLITE_OK);
                assert_eq!(ffi::sqlite3_bind_int64(stmt, 2, 1), ffi::SQLITE_OK);
                assert_eq!(ffi::sqlite3_step(stmt), ffi::SQLITE_ROW);
                let v = CStr::from_ptr(ffi::sqlite3_column_text(stmt, 0).cast());
                assert_eq!(v, c"b");
                ffi::sqlite3_reset(stmt);
            }
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            ffi::sqlite3_close(db);
            n
        }
    }

    #[test]
    fn a_bound_limit_keeps_its_prepared_plan_on_every_sqlite_connection() {
        // Opening a connection the way the pool does turns the setting on process-wide.
        super::DatabaseUrl::Sqlite(":memory:".into())
            .establish()
            .expect("open an in-memory database");
        assert_eq!(reprepares(None), 0, "a connection opened afterwards");
        // What it prevents: SQLite's own default re-plans on every rebind of LIMIT.
        assert!(reprepares(Some(false)) >= 3);
    }
}
