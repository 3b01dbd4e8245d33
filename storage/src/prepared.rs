//! Keeping fixed-shape writes prepared on PostgreSQL.
//!
//! diesel prepares and caches SELECTs, but never an INSERT or an UPDATE (their SQL can vary with
//! the values: a `None` becomes `DEFAULT`, a change set may skip columns), so PostgreSQL parses
//! and plans each of those on every call: in a renewal, that was most of the server's time
//! spent outside execution. [`Prepared::execute`] renders the statement and its binds, then runs
//! it as a query that may be cached by its SQL text: one prepared statement per shape and
//! connection. Only writes whose shapes are few belong here (a single row from a row struct, an
//! update of a fixed set of columns), never a multi-row insert or one built from a variable
//! list. SQLite prepares in-process at little cost; it runs the statement as it is.

use diesel::pg::{Pg, PgQueryBuilder};
use diesel::query_builder::bind_collector::RawBytesBindCollector;
use diesel::query_builder::{CollectedQuery, QueryBuilder, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use crate::connection::DbConnection;

/// A write statement to run through [`Prepared::execute`].
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

impl<Q> Prepared<Q>
where
    Q: QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId,
{
    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        match conn {
            DbConnection::Postgres(pg) => {
                let mut sql = PgQueryBuilder::default();
                QueryFragment::<Pg>::to_sql(&self.0, &mut sql, &Pg)?;
                let mut binds = RawBytesBindCollector::<Pg>::new();
                QueryFragment::<Pg>::collect_binds(&self.0, &mut binds, pg, &Pg)?;
                ExecuteDsl::execute(CollectedQuery::new(sql.finish(), true, binds), pg)
            }
            DbConnection::Sqlite(sq) => ExecuteDsl::execute(self.0, sq),
        }
    }
}

/// `.prepared()` on a write statement: see the module documentation.
pub trait Prepare: Sized {
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<T: diesel::QuerySource, U, Op, Ret> Prepare
    for diesel::query_builder::InsertStatement<T, U, Op, Ret>
{
}

impl<T: diesel::QuerySource, U, V, Ret> Prepare
    for diesel::query_builder::UpdateStatement<T, U, V, Ret>
{
}
