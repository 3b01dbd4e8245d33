//! One module per domain port. Every query filters by `tenant_id`, except two: the redemption
//! of a portal login code, where the unguessable code itself names the session, and the credit
//! expiry sweeper, a system job that visits every account (and then changes each wallet through
//! its account).

pub mod accounts;
pub mod activity;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod credit_notes;
pub mod customers;
pub mod dashboard;
pub mod discounts;
pub mod emails;
pub mod guest_sessions;
pub mod health;
pub mod idempotency;
pub mod invoices;
pub mod licenses;
pub mod payment_methods;
pub mod payments;
pub mod plans;
pub mod portal_sessions;
mod stored;
pub mod subscriptions;
pub mod tax_rates;
pub mod usage;
mod usage_counters;
pub(crate) use usage_counters::backfill_counters;
pub mod wallets;
pub mod webhooks;

use diesel::result::{DatabaseErrorKind, Error};
use diesel::{QueryResult, RunQueryDsl};
use domain::DomainError;

/// `query.first(conn).optional()` with the row locked until the transaction ends: `FOR UPDATE`
/// on PostgreSQL, where row locks serialise writers; on SQLite the `BEGIN IMMEDIATE` of the
/// write transaction already excludes every other writer. (A macro: the query's diesel type
/// differs per table, and `FOR UPDATE` exists only on the PostgreSQL connection.)
macro_rules! first_locked {
    ($conn:expr, $query:expr) => {
        match $conn {
            $crate::connection::DbConnection::Postgres(pg) => {
                $query.for_update().first(pg).optional()
            }
            $crate::connection::DbConnection::Sqlite(sq) => $query.first(sq).optional(),
        }
    };
}
pub(crate) use first_locked;

/// A boxed query of a table with `tenant_id` and `customer_id`, narrowed to a
/// [`domain::scope::Scope`]: the account, and for a customer scope that customer too. Every read
/// a portal session can reach goes through it.
macro_rules! scoped {
    ($query:expr, $table:ident, $scope:expr) => {{
        let scope: &domain::scope::Scope = $scope;
        let q = $query.filter($table::tenant_id.eq(scope.tenant_id().to_string()));
        match scope.customer_id() {
            Some(c) => q.filter($table::customer_id.eq(c.to_string())),
            None => q,
        }
    }};
}
pub(crate) use scoped;

/// [`scoped!`] for a search on SQLite that its trigram index answers: the same narrowing to the
/// scope, with the columns written `+tenant_id` / `+customer_id` so that SQLite does not walk the
/// account's index in id order (testing every row) but looks up the index's few candidates.
macro_rules! scoped_search {
    ($query:expr, $table:literal, $scope:expr) => {{
        use diesel::sql_types::{Bool, Text};
        let scope: &domain::scope::Scope = $scope;
        let q = $query.filter(
            diesel::dsl::sql::<Bool>(concat!("+", $table, ".tenant_id = "))
                .bind::<Text, _>(scope.tenant_id().to_string()),
        );
        match scope.customer_id() {
            Some(c) => q.filter(
                diesel::dsl::sql::<Bool>(concat!("+", $table, ".customer_id = "))
                    .bind::<Text, _>(c.to_string()),
            ),
            None => q,
        }
    }};
}
pub(crate) use scoped_search;

/// `column = a OR column = b …` for a fixed list of values: a statement with as many binds every
/// time, which SQLite's statement cache keeps. (`eq_any` writes `IN (?, ?, …)` on SQLite, whose
/// bind count follows the list, so diesel prepares it anew on every call.)
macro_rules! one_of {
    ($column:expr, [$first:expr $(, $rest:expr)* $(,)?]) => {
        $column.eq($first)$(.or($column.eq($rest)))*
    };
}
pub(crate) use one_of;

/// One page of a (boxed) query, newest first by id: the rows after the cursor's id, one more
/// than the page so [`domain::page::Page::from_rows`] can tell whether another follows. Keyset
/// paging: no OFFSET scans, and stable while rows are added.
macro_rules! newest_first {
    ($query:expr, $id:expr, $page:expr, $conn:expr) => {{
        let mut q = $query;
        if let Some(after) = &$page.after {
            q = q.filter($id.lt(after.clone()));
        }
        q.order($id.desc()).limit($page.fetch_limit()).load($conn)
    }};
}
pub(crate) use newest_first;

pub(crate) fn internal(e: Error) -> DomainError {
    DomainError::internal(format!("database: {e}"))
}

pub(crate) fn is_unique_violation(e: &Error) -> bool {
    matches!(
        e,
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Transaction error: either a domain decision or a database failure.
pub(crate) enum TxError {
    Domain(DomainError),
    Db(Error),
}

impl From<Error> for TxError {
    fn from(e: Error) -> Self {
        Self::Db(e)
    }
}

impl From<DomainError> for TxError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

impl TxError {
    /// Maps a unique violation to `on_unique`, anything else from the database to Internal.
    pub(crate) fn into_domain(self, on_unique: impl FnOnce() -> DomainError) -> DomainError {
        match self {
            Self::Domain(d) => d,
            Self::Db(e) if is_unique_violation(&e) => on_unique(),
            Self::Db(e) => internal(e),
        }
    }
}

/// Above this many candidates a search reads the account's rows newest first instead: a common
/// string matches one of the first rows read, and looking up and sorting thousands of
/// candidates costs more than that.
const SEARCH_CANDIDATES_MAX: i64 = 1000;

/// A `q` search on SQLite narrowed by the FTS5 trigram index of `table` (`<table>_search`, see
/// migration 000018): `<table>.rowid IN (…MATCH '"q"')`, ANDed to the LIKE filter that confirms
/// each candidate against its row. `None` on PostgreSQL (its trigram GIN indexes serve the LIKE
/// filter), for a `q` shorter than a trigram (3 characters), which the index cannot answer, and
/// for a string so common that scanning finds a page sooner (see [`SEARCH_CANDIDATES_MAX`]).
pub(crate) fn trigram_candidates(
    conn: &mut crate::connection::DbConnection,
    table: &str,
    q: &str,
) -> QueryResult<Option<diesel::expression::SqlLiteral<diesel::sql_types::Bool>>> {
    #[derive(diesel::QueryableByName)]
    struct Candidate {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rowid: i64,
    }
    let crate::connection::DbConnection::Sqlite(sqlite) = conn else {
        return Ok(None);
    };
    if q.chars().count() < 3 {
        return Ok(None);
    }
    // One FTS5 phrase: every character literal, `"` doubled.
    let phrase = format!("\"{}\"", q.replace('"', "\"\""));
    let found: Vec<Candidate> = diesel::sql_query(format!(
        "SELECT rowid FROM {table}_search WHERE {table}_search MATCH ? LIMIT {}",
        SEARCH_CANDIDATES_MAX + 1
    ))
    .bind::<diesel::sql_types::Text, _>(&phrase)
    .load(sqlite)?;
    if found.len() as i64 > SEARCH_CANDIDATES_MAX {
        return Ok(None);
    }
    // Integers read from the index, written into the statement: nothing of `q` is.
    let rowids: Vec<String> = found.iter().map(|c| c.rowid.to_string()).collect();
    Ok(Some(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "{table}.rowid IN ({})",
        rowids.join(",")
    ))))
}

/// A no-op condition that keeps its statement out of the prepared-statement cache (diesel
/// never caches SQL it did not build), so PostgreSQL plans a search for its own pattern: a
/// cached generic plan cannot tell a rare string from a common one, and walked the account's
/// index newest first for every string instead of using the trigram indexes.
pub(crate) fn planned_for_its_values() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE")
}

/// `%`, `_` and `\` in a search string match themselves.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for ch in q.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

diesel::define_sql_function! {
    /// Lower-case (Unicode on PostgreSQL, ASCII on SQLite).
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// A worker's discovery of the accounts with work: the accounts of the rows `$due` selects, the
/// one whose oldest item (`$oldest`, a `table.column` literal) has waited longest first, at most
/// `$limit`. A read without locks; the claims that follow name one account each.
macro_rules! accounts_with_work {
    ($conn:expr, $due:expr, $tenant:expr, $oldest:literal, $limit:expr) => {{
        let found: Vec<String> = $due
            .group_by($tenant)
            .select($tenant)
            .order(diesel::dsl::sql::<diesel::sql_types::Text>(concat!(
                "MIN(", $oldest, ")"
            )))
            .limit($limit)
            .load($conn)
            .map_err(internal)?;
        Ok(found.into_iter().map(Into::into).collect())
    }};
}
pub(crate) use accounts_with_work;
