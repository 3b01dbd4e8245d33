//! The customer dashboard's read model in two statements. The first reads the customer's time
//! zone and the few rows a wallet's accrued usage is priced from (features, wallets, running
//! subscriptions, their plans and counters), each part a scalar subquery that aggregates its
//! rows into a JSON array, read back into the same row types the other queries load. The two
//! backends differ only in how a row becomes JSON (PostgreSQL: the row itself, `json_agg(w)`;
//! SQLite, which has no row-to-JSON function: `json_object` over the row type's own columns,
//! listed once from its diesel selection), so the SQL of each is side by side here. The second,
//! for the overview only, reads the many rows (a week of hourly rollups, every open invoice)
//! as typed columns: PostgreSQL writes a timestamp or a number as JSON text at several times the
//! cost of sending it as binary (measured: 2.5 µs a rollup row).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use domain::dashboard::DashboardReads;
use domain::invoice::OpenAmount;
use domain::ports::DashboardRepo;
use domain::scope::CustomerScope;
use domain::subscription::SubscriptionStatus::{Active, PastDue, Paused, Trialing};
use domain::usage::Rollup;
use domain::{DomainError, DomainResult};
use serde::de::DeserializeOwned;

use super::internal;
use super::plans::PlanRow;
use super::stored::Stored;
use super::subscriptions::SubscriptionRow;
use super::usage::FeatureRow;
use super::usage_counters::CounterRow;
use super::wallets::WalletRow;
use crate::connection::DbConnection;
use crate::schema::{
    features as f, plans as pl, subscriptions as su, usage_counters as uc, wallets as w,
};
use crate::sql_types::{DbDecimal, DbTime, ExactDecimal, UtcTimestamp};
use crate::Store;

/// One row: the customer's time zone and each part as a JSON array.
#[derive(QueryableByName)]
struct Parts {
    #[diesel(sql_type = Text)]
    timezone: String,
    #[diesel(sql_type = Text)]
    features: String,
    #[diesel(sql_type = Text)]
    wallets: String,
    #[diesel(sql_type = Text)]
    running: String,
    #[diesel(sql_type = Text)]
    plans: String,
    #[diesel(sql_type = Text)]
    counters: String,
}

/// A row of the second statement: an hourly rollup (`kind` "r": feature key, hour, events,
/// sum, max) or an open invoice (`kind` "i": id, currency, due time, total, paid, credited).
#[derive(QueryableByName)]
struct ChartRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<UtcTimestamp>)]
    at: Option<DbTime>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
    #[diesel(sql_type = ExactDecimal)]
    a: DbDecimal,
    #[diesel(sql_type = ExactDecimal)]
    b: DbDecimal,
    #[diesel(sql_type = ExactDecimal)]
    c: DbDecimal,
}

/// The chart's rollups and the open invoices in one typed statement (`{1}`…`{4}` as in
/// [`TEMPLATE`]; both backends read it alike).
const CHART: &str = "SELECT 'r' AS kind, r.feature_key AS key, '' AS label, r.hour AS at, \
 r.events AS count, r.quantity_sum AS a, r.quantity_max AS b, r.quantity_max AS c \
 FROM usage_rollups r \
 WHERE r.tenant_id = {1} AND r.customer_id = {2} AND r.hour >= {3} AND r.hour < {4} \
 UNION ALL SELECT 'i', i.id, i.currency, i.due_at, 0, i.total, i.amount_paid, i.amount_credited \
 FROM invoices i WHERE i.tenant_id = {1} AND i.customer_id = {2} AND i.status = 'finalized' \
 AND i.payment_status IN ('unpaid', 'partially_paid') \
 ORDER BY 1, 4, 2";

/// The statement, with `{object(alias)}` standing for "this row as JSON" and `{running}` for the
/// running subscriptions' condition. Parameters: account, customer.
const TEMPLATE: &str = "SELECT c.timezone AS timezone, \
 CAST(COALESCE((SELECT {agg}({object(f)}) FROM features f WHERE f.tenant_id = {1}), '[]') AS TEXT) AS features, \
 CAST(COALESCE((SELECT {agg}({object(w)} ORDER BY w.id DESC) FROM wallets w \
   WHERE w.tenant_id = {1} AND w.customer_id = {2}), '[]') AS TEXT) AS wallets, \
 CAST(COALESCE((SELECT {agg}({object(s)} ORDER BY s.id DESC) FROM subscriptions s \
   WHERE {running(s)}), '[]') AS TEXT) AS running, \
 CAST(COALESCE((SELECT {agg}({object(p)}) FROM plans p WHERE p.tenant_id = {1} AND p.id IN \
   (SELECT s.plan_id FROM subscriptions s WHERE {running(s)} \
    UNION SELECT s.pending_plan_id FROM subscriptions s WHERE {running(s)})), '[]') AS TEXT) AS plans, \
 CAST(COALESCE((SELECT {agg}({object(u)}) FROM usage_counters u \
   WHERE u.tenant_id = {1} AND u.customer_id = {2} AND u.period_start IN \
   (SELECT s.current_period_start FROM subscriptions s WHERE {running(s)})), '[]') AS TEXT) AS counters \
 FROM customers c WHERE c.tenant_id = {1} AND c.id = {2}";

/// [`TEMPLATE`] in one backend's dialect (the parameters stay `{1}`…`{4}`: see [`Fixed`]).
struct Dialect {
    agg: &'static str,
    object: fn(&str) -> String,
}

fn render(d: &Dialect) -> String {
    let statuses = [Trialing, Active, PastDue, Paused]
        .map(|s| format!("'{}'", s.as_str()))
        .join(", ");
    let running =
        format!("s.tenant_id = {{1}} AND s.customer_id = {{2}} AND s.status IN ({statuses})");
    let mut sql = TEMPLATE
        .replace("{agg}", d.agg)
        .replace("{running(s)}", &running);
    for alias in ["f", "w", "s", "p", "u"] {
        sql = sql.replace(&format!("{{object({alias})}}"), &(d.object)(alias));
    }
    sql
}

/// PostgreSQL: the row itself (`row_to_json` of the alias, every column by its name).
fn postgres_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        render(&Dialect {
            agg: "json_agg",
            object: |alias| alias.to_owned(),
        })
    })
}

/// SQLite: `json_object` over the columns each row type selects.
fn sqlite_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        render(&Dialect {
            agg: "json_group_array",
            object: |alias| json_object(alias, &sqlite_columns(alias)),
        })
    })
}

/// A fixed statement with its parameters, which diesel prepares once per connection and keeps
/// (its `sql_query` is never kept: the dashboard's statement was parsed and planned on every
/// call, about a millisecond of PostgreSQL's time). Each `{n}` of the text is bound in place as
/// the n-th value: the account, the customer, the chart's window.
struct Fixed<'a> {
    sql: &'static str,
    tenant: &'a str,
    customer: &'a str,
    window: Option<(DbTime, DbTime)>,
}

impl<DB> QueryFragment<DB> for Fixed<'_>
where
    DB: diesel::backend::Backend,
    str: diesel::serialize::ToSql<Text, DB>,
    DbTime: diesel::serialize::ToSql<UtcTimestamp, DB>,
    DB: diesel::sql_types::HasSqlType<Text> + diesel::sql_types::HasSqlType<UtcTimestamp>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        let mut rest = self.sql;
        while let Some(at) = rest.find('{') {
            out.push_sql(&rest[..at]);
            let n = rest.as_bytes().get(at + 1).copied();
            match (n, &self.window) {
                (Some(b'1'), _) => out.push_bind_param::<Text, str>(self.tenant)?,
                (Some(b'2'), _) => out.push_bind_param::<Text, str>(self.customer)?,
                (Some(b'3'), Some((from, _))) => out.push_bind_param::<UtcTimestamp, _>(from)?,
                (Some(b'4'), Some((_, to))) => out.push_bind_param::<UtcTimestamp, _>(to)?,
                _ => {
                    return Err(diesel::result::Error::QueryBuilderError(
                        "unknown parameter".into(),
                    ))
                }
            }
            rest = &rest[at + 3..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl QueryId for Fixed<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Fixed<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Fixed<'_> {}

fn json_object(alias: &str, columns: &[String]) -> String {
    let pairs: Vec<String> = columns
        .iter()
        .map(|c| format!("'{c}', {alias}.\"{c}\""))
        .collect();
    format!("json_object({})", pairs.join(", "))
}

/// The columns a row type selects, in order, from diesel's own SQL for its selection.
fn sqlite_columns(alias: &str) -> Vec<String> {
    fn of<Q: QueryFragment<Sqlite>>(query: Q) -> Vec<String> {
        let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
        let list = sql
            .strip_prefix("SELECT ")
            .and_then(|s| s.split(" FROM ").next())
            .unwrap_or_default();
        list.split(", ")
            .filter_map(|c| c.rsplit('.').next())
            .map(|c| c.trim_matches('`').to_owned())
            .collect()
    }
    match alias {
        "f" => of(f::table.select(FeatureRow::as_select())),
        "w" => of(w::table.select(WalletRow::as_select())),
        "s" => of(su::table.select(SubscriptionRow::as_select())),
        "p" => of(pl::table.select(PlanRow::as_select())),
        "u" => of(uc::table.select(CounterRow::as_select())),
        other => unreachable!("no row type for alias {other}"),
    }
}

/// A part's JSON array, each row decoded into its row type and converted by `into`.
fn rows<R: DeserializeOwned, T>(
    part: &str,
    json: &str,
    into: impl Fn(R) -> DomainResult<T>,
) -> DomainResult<Vec<T>> {
    serde_json::from_str::<Vec<R>>(json)
        .map_err(|e| DomainError::internal(format!("dashboard {part}: {e}")))?
        .into_iter()
        .map(into)
        .collect()
}

impl DashboardRepo for Store {
    fn dashboard(
        &self,
        customer: &CustomerScope,
        chart: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> DomainResult<Option<DashboardReads>> {
        let mut conn = self.conn()?;
        let (tenant, id) = (customer.tenant_id.as_str(), customer.customer_id.as_str());
        let fixed = |sql| Fixed {
            sql,
            tenant,
            customer: id,
            window: chart.map(|(from, to)| (DbTime(from), DbTime(to))),
        };
        let found = match &mut *conn {
            DbConnection::Postgres(pg) => fixed(postgres_sql()).get_result::<Parts>(pg),
            DbConnection::Sqlite(sq) => fixed(sqlite_sql()).get_result::<Parts>(sq),
        }
        .optional()
        .map_err(internal)?;
        let Some(parts) = found else {
            return Ok(None);
        };
        let (rollups, open_invoices) = match chart {
            Some(_) => {
                let rows = match &mut *conn {
                    DbConnection::Postgres(pg) => fixed(CHART).load::<ChartRow>(pg),
                    DbConnection::Sqlite(sq) => fixed(CHART).load::<ChartRow>(sq),
                }
                .map_err(internal)?;
                split_chart(rows, id)?
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok(Some(DashboardReads {
            timezone: parts.timezone,
            features: rows("features", &parts.features, FeatureRow::into_domain)?,
            rollups,
            wallets: rows("wallets", &parts.wallets, WalletRow::into_domain)?,
            running: rows(
                "subscriptions",
                &parts.running,
                SubscriptionRow::into_domain,
            )?,
            plans: rows("plans", &parts.plans, PlanRow::into_domain)?,
            counters: rows("counters", &parts.counters, |r: CounterRow| {
                Ok(r.into_domain())
            })?,
            open_invoices,
        }))
    }
}

/// The chart's rows as the domain's rollups and open invoices.
fn split_chart(
    rows: Vec<ChartRow>,
    customer_id: &str,
) -> DomainResult<(Vec<Rollup>, Vec<OpenAmount>)> {
    let (mut rollups, mut open) = (Vec::new(), Vec::new());
    for row in rows {
        if row.kind == "r" {
            let hour = row
                .at
                .ok_or_else(|| DomainError::internal("a usage rollup without its hour"))?;
            rollups.push(Rollup {
                customer_id: customer_id.to_owned(),
                feature_key: row.key,
                hour: hour.0,
                events: row.count,
                quantity_sum: row.a.0,
                quantity_max: row.b.0,
            });
        } else {
            let stored = Stored {
                kind: "invoice",
                id: &row.key,
            };
            open.push(OpenAmount {
                currency: stored.currency(&row.label)?,
                total: row.a.0,
                amount_paid: row.b.0,
                amount_credited: row.c.0,
                due_at: row.at.map(|t| t.0),
            });
        }
    }
    Ok((rollups, open))
}
