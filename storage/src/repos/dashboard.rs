//! The customer dashboard's read model: every part the overview is computed from, in one
//! statement. Each part is a scalar subquery that aggregates its rows into a JSON array, read
//! back into the same row types the other queries load. The two backends differ only in how a
//! row becomes JSON (PostgreSQL: the row itself, `json_agg(w)`; SQLite, which has no row-to-JSON
//! function: `json_object` over the row type's own columns, listed once from its diesel
//! selection), so the SQL of each is side by side here.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use domain::dashboard::DashboardReads;
use domain::invoice::OpenAmount;
use domain::ports::DashboardRepo;
use domain::scope::CustomerScope;
use domain::subscription::SubscriptionStatus::{Active, PastDue, Paused, Trialing};
use domain::{DomainError, DomainResult};
use serde::de::DeserializeOwned;

use super::internal;
use super::plans::PlanRow;
use super::stored::Stored;
use super::subscriptions::SubscriptionRow;
use super::usage::{FeatureRow, RollupRow};
use super::usage_counters::CounterRow;
use super::wallets::WalletRow;
use crate::connection::DbConnection;
use crate::schema::{
    features as f, plans as pl, subscriptions as su, usage_counters as uc, usage_rollups as ur,
    wallets as w,
};
use crate::sql_types::{DbDecimal, DbTime, UtcTimestamp};
use crate::Store;

/// One row: the customer's time zone and each part as a JSON array.
#[derive(QueryableByName)]
struct Parts {
    #[diesel(sql_type = Text)]
    timezone: String,
    #[diesel(sql_type = Text)]
    features: String,
    #[diesel(sql_type = Text)]
    rollups: String,
    #[diesel(sql_type = Text)]
    wallets: String,
    #[diesel(sql_type = Text)]
    running: String,
    #[diesel(sql_type = Text)]
    plans: String,
    #[diesel(sql_type = Text)]
    counters: String,
    #[diesel(sql_type = Text)]
    open_invoices: String,
}

/// An open invoice's amounts (as `InvoiceRepo::open_amounts` reads them).
#[derive(serde::Deserialize)]
struct OpenRow {
    id: String,
    currency: String,
    total: DbDecimal,
    amount_paid: DbDecimal,
    amount_credited: DbDecimal,
    due_at: Option<DbTime>,
}

/// The statement, with `{object(alias)}` standing for "this row as JSON" and `{running}` for the
/// running subscriptions' condition. Parameters: account, customer, usage from, usage to.
const TEMPLATE: &str = "SELECT c.timezone AS timezone, \
 CAST(COALESCE((SELECT {agg}({object(f)}) FROM features f WHERE f.tenant_id = {1}), '[]') AS TEXT) AS features, \
 CAST(COALESCE((SELECT {agg}({object(r)} ORDER BY r.hour, r.feature_key) FROM usage_rollups r \
   WHERE r.tenant_id = {1} AND r.customer_id = {2} AND r.hour >= {3} AND r.hour < {4}), '[]') AS TEXT) AS rollups, \
 CAST(COALESCE((SELECT {agg}({object(w)} ORDER BY w.id DESC) FROM wallets w \
   WHERE w.tenant_id = {1} AND w.customer_id = {2}), '[]') AS TEXT) AS wallets, \
 CAST(COALESCE((SELECT {agg}({object(s)} ORDER BY s.id DESC) FROM subscriptions s \
   WHERE {running(s)}), '[]') AS TEXT) AS running, \
 CAST(COALESCE((SELECT {agg}({object(p)}) FROM plans p WHERE p.tenant_id = {1} AND p.id IN \
   (SELECT s.plan_id FROM subscriptions s WHERE {running(s)} \
    UNION SELECT s.pending_plan_id FROM subscriptions s WHERE {running(s)})), '[]') AS TEXT) AS plans, \
 CAST(COALESCE((SELECT {agg}({object(u)}) FROM usage_counters u \
   WHERE u.tenant_id = {1} AND u.customer_id = {2} AND u.period_start IN \
   (SELECT s.current_period_start FROM subscriptions s WHERE {running(s)})), '[]') AS TEXT) AS counters, \
 CAST(COALESCE((SELECT {agg}({open(i)}) FROM invoices i \
   WHERE i.tenant_id = {1} AND i.customer_id = {2} AND i.status = 'finalized' \
   AND i.payment_status IN ('unpaid', 'partially_paid')), '[]') AS TEXT) AS open_invoices \
 FROM customers c WHERE c.tenant_id = {1} AND c.id = {2}";

/// The open invoices' columns, as `InvoiceRepo::open_amounts` selects them.
const OPEN_COLUMNS: [&str; 6] = [
    "id",
    "currency",
    "total",
    "amount_paid",
    "amount_credited",
    "due_at",
];

/// [`TEMPLATE`] in one backend's dialect.
struct Dialect {
    agg: &'static str,
    param: fn(usize) -> String,
    object: fn(&str) -> String,
    open: fn(&str) -> String,
}

fn render(d: &Dialect) -> String {
    let statuses = [Trialing, Active, PastDue, Paused]
        .map(|s| format!("'{}'", s.as_str()))
        .join(", ");
    let running = format!(
        "s.tenant_id = {} AND s.customer_id = {} AND s.status IN ({statuses})",
        (d.param)(1),
        (d.param)(2)
    );
    let mut sql = TEMPLATE
        .replace("{agg}", d.agg)
        .replace("{running(s)}", &running)
        .replace("{open(i)}", &(d.open)("i"));
    for alias in ["f", "r", "w", "s", "p", "u"] {
        sql = sql.replace(&format!("{{object({alias})}}"), &(d.object)(alias));
    }
    for n in 1..=4 {
        sql = sql.replace(&format!("{{{n}}}"), &(d.param)(n));
    }
    sql
}

/// PostgreSQL: the row itself (`row_to_json` of the alias, every column by its name).
fn postgres_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        render(&Dialect {
            agg: "json_agg",
            param: |n| format!("${n}"),
            object: |alias| alias.to_owned(),
            open: |alias| {
                let pairs: Vec<String> = OPEN_COLUMNS
                    .iter()
                    .map(|c| format!("'{c}', {alias}.{c}"))
                    .collect();
                format!("json_build_object({})", pairs.join(", "))
            },
        })
    })
}

/// SQLite: `json_object` over the columns each row type selects.
fn sqlite_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        render(&Dialect {
            agg: "json_group_array",
            param: |n| format!("?{n}"),
            object: |alias| json_object(alias, &sqlite_columns(alias)),
            open: |alias| json_object(alias, &OPEN_COLUMNS.map(str::to_owned)),
        })
    })
}

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
        "r" => of(ur::table.select(RollupRow::as_select())),
        "w" => of(w::table.select(WalletRow::as_select())),
        "s" => of(su::table.select(SubscriptionRow::as_select())),
        "p" => of(pl::table.select(PlanRow::as_select())),
        "u" => of(uc::table.select(CounterRow::as_select())),
        other => unreachable!("no row type for alias {other}"),
    }
}

fn rows<T: DeserializeOwned>(part: &str, json: &str) -> DomainResult<Vec<T>> {
    serde_json::from_str(json).map_err(|e| DomainError::internal(format!("dashboard {part}: {e}")))
}

impl DashboardRepo for Store {
    fn dashboard(
        &self,
        customer: &CustomerScope,
        usage_from: DateTime<Utc>,
        usage_to: DateTime<Utc>,
    ) -> DomainResult<Option<DashboardReads>> {
        let mut conn = self.conn()?;
        let (tenant, id) = (customer.tenant_id.as_str(), customer.customer_id.as_str());
        macro_rules! read {
            ($c:expr, $sql:expr) => {
                diesel::sql_query($sql)
                    .bind::<Text, _>(tenant)
                    .bind::<Text, _>(id)
                    .bind::<UtcTimestamp, _>(DbTime(usage_from))
                    .bind::<UtcTimestamp, _>(DbTime(usage_to))
                    .get_result::<Parts>($c)
                    .optional()
            };
        }
        let found = match &mut *conn {
            DbConnection::Postgres(pg) => read!(pg, postgres_sql()),
            DbConnection::Sqlite(sq) => read!(sq, sqlite_sql()),
        }
        .map_err(internal)?;
        let Some(parts) = found else {
            return Ok(None);
        };
        let open = rows::<OpenRow>("open invoices", &parts.open_invoices)?
            .into_iter()
            .map(|r| {
                let row = Stored {
                    kind: "invoice",
                    id: &r.id,
                };
                Ok(OpenAmount {
                    currency: row.currency(&r.currency)?,
                    total: r.total.0,
                    amount_paid: r.amount_paid.0,
                    amount_credited: r.amount_credited.0,
                    due_at: r.due_at.map(|t| t.0),
                })
            })
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Some(DashboardReads {
            timezone: parts.timezone,
            features: rows::<FeatureRow>("features", &parts.features)?
                .into_iter()
                .map(FeatureRow::into_domain)
                .collect::<DomainResult<_>>()?,
            rollups: rows::<RollupRow>("rollups", &parts.rollups)?
                .into_iter()
                .map(RollupRow::into_domain)
                .collect(),
            wallets: rows::<WalletRow>("wallets", &parts.wallets)?
                .into_iter()
                .map(WalletRow::into_domain)
                .collect::<DomainResult<_>>()?,
            running: rows::<SubscriptionRow>("subscriptions", &parts.running)?
                .into_iter()
                .map(SubscriptionRow::into_domain)
                .collect::<DomainResult<_>>()?,
            plans: rows::<PlanRow>("plans", &parts.plans)?
                .into_iter()
                .map(PlanRow::into_domain)
                .collect::<DomainResult<_>>()?,
            counters: rows::<CounterRow>("counters", &parts.counters)?
                .into_iter()
                .map(CounterRow::into_domain)
                .collect(),
            open_invoices: open,
        }))
    }
}
