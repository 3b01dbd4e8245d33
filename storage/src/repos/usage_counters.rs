//! Period counters (`domain::usage::Counter`): added to in the transaction that accepts events,
//! read by entitlement checks (one row per feature), locked by an atomic consume, recounted
//! from the hourly rollups when a subscription starts or an operator rebuilds them.

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::id::{CustomerId, TenantId};
use domain::usage::{Counter, CounterDrift, CounterPeriod, UsageEvent};
use domain::DomainResult;

use super::{first_locked, internal};
use crate::connection::{write_tx, DbConnection};
use crate::schema::{subscriptions as su, usage_counters as uc, usage_rollups as ur};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = uc)]
pub(crate) struct CounterRow {
    tenant_id: String,
    customer_id: String,
    feature_key: String,
    period_start: DbTime,
    period_end: DbTime,
    events: i64,
    quantity_sum: DbDecimal,
    quantity_max: DbDecimal,
}

impl CounterRow {
    pub(crate) fn into_domain(self) -> Counter {
        Counter {
            customer_id: self.customer_id,
            feature_key: self.feature_key,
            period: CounterPeriod {
                start: self.period_start.0,
                end: self.period_end.0,
            },
            events: self.events,
            quantity_sum: self.quantity_sum.0,
            quantity_max: self.quantity_max.0,
        }
    }
}

/// One counter's change: (customer, feature, period start) → (period end, events, sum, max).
type Deltas<'a> =
    BTreeMap<(&'a str, &'a str, DateTime<Utc>), (DateTime<Utc>, i64, BigDecimal, BigDecimal)>;

/// Adds the `fresh` events (new, not duplicates) to their periods' counters, in key order (so
/// concurrent batches lock rows in the same order and cannot deadlock).
pub(super) fn add_events(
    c: &mut DbConnection,
    tenant_id: &TenantId,
    events: &[UsageEvent],
    fresh: &[bool],
) -> QueryResult<()> {
    let mut deltas: Deltas<'_> = BTreeMap::new();
    for e in events
        .iter()
        .zip(fresh)
        .filter(|(_, new)| **new)
        .map(|(e, _)| e)
    {
        for p in &e.periods {
            let d = deltas
                .entry((e.customer_id.as_str(), e.feature_key.as_str(), p.start))
                .or_insert_with(|| (p.end, 0, BigDecimal::from(0), e.quantity.clone()));
            d.1 += 1;
            d.2 += &e.quantity;
            if e.quantity > d.3 {
                d.3 = e.quantity.clone();
            }
        }
    }
    for ((customer, feature, start), (end, n, sum, max)) in deltas {
        add(
            c,
            tenant_id,
            customer,
            feature,
            CounterPeriod { start, end },
            n,
            sum,
            max,
        )?;
    }
    Ok(())
}

/// Adds to one counter, creating it. PostgreSQL: one upsert; SQLite: read then write, under
/// the write lock its transaction holds (decimals are text there: summed here, exactly).
#[expect(
    clippy::too_many_arguments,
    reason = "a counter's key (tenant, customer, feature, period) and its change (n, sum, max)"
)]
fn add(
    c: &mut DbConnection,
    tenant_id: &TenantId,
    customer: &str,
    feature: &str,
    period: CounterPeriod,
    n: i64,
    sum: BigDecimal,
    max: BigDecimal,
) -> QueryResult<()> {
    let row = CounterRow {
        tenant_id: tenant_id.to_string(),
        customer_id: customer.to_owned(),
        feature_key: feature.to_owned(),
        period_start: DbTime(period.start),
        period_end: DbTime(period.end),
        events: n,
        quantity_sum: DbDecimal(sum),
        quantity_max: DbDecimal(max),
    };
    match c {
        DbConnection::Postgres(pg) => {
            diesel::sql_query(
                "INSERT INTO usage_counters (tenant_id, customer_id, feature_key, period_start, \
                 period_end, events, quantity_sum, quantity_max) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (tenant_id, customer_id, period_start, feature_key) DO UPDATE SET \
                 events = usage_counters.events + EXCLUDED.events, \
                 quantity_sum = usage_counters.quantity_sum + EXCLUDED.quantity_sum, \
                 quantity_max = GREATEST(usage_counters.quantity_max, EXCLUDED.quantity_max)",
            )
            .bind::<diesel::sql_types::Text, _>(&row.tenant_id)
            .bind::<diesel::sql_types::Text, _>(&row.customer_id)
            .bind::<diesel::sql_types::Text, _>(&row.feature_key)
            .bind::<diesel::sql_types::Timestamptz, _>(period.start)
            .bind::<diesel::sql_types::Timestamptz, _>(period.end)
            .bind::<diesel::sql_types::BigInt, _>(n)
            .bind::<diesel::sql_types::Numeric, _>(&row.quantity_sum.0)
            .bind::<diesel::sql_types::Numeric, _>(&row.quantity_max.0)
            .execute(pg)?;
        }
        DbConnection::Sqlite(sq) => {
            let key = uc::table
                .filter(uc::tenant_id.eq(&row.tenant_id))
                .filter(uc::customer_id.eq(&row.customer_id))
                .filter(uc::period_start.eq(DbTime(period.start)))
                .filter(uc::feature_key.eq(&row.feature_key));
            let found: Option<CounterRow> =
                key.select(CounterRow::as_select()).first(sq).optional()?;
            match found {
                Some(old) => {
                    let max = old.quantity_max.0.max(row.quantity_max.0);
                    diesel::update(key)
                        .set((
                            uc::events.eq(old.events + n),
                            uc::quantity_sum.eq(DbDecimal(old.quantity_sum.0 + row.quantity_sum.0)),
                            uc::quantity_max.eq(DbDecimal(max)),
                        ))
                        .execute(sq)?;
                }
                None => {
                    diesel::insert_into(uc::table).values(&row).execute(sq)?;
                }
            }
        }
    }
    Ok(())
}

/// What the rollups of `period`'s hours make per feature: (events, sum, max).
fn from_rollups(
    c: &mut DbConnection,
    tenant_id: &TenantId,
    customer: &str,
    period: CounterPeriod,
) -> QueryResult<BTreeMap<String, (i64, BigDecimal, BigDecimal)>> {
    let (from, to) = domain::billing::usage_hours(period.start, period.end);
    let rows: Vec<(String, i64, DbDecimal, DbDecimal)> = ur::table
        .filter(ur::tenant_id.eq(tenant_id.as_str()))
        .filter(ur::customer_id.eq(customer))
        .filter(ur::hour.ge(DbTime(from)))
        .filter(ur::hour.lt(DbTime(to)))
        .select((
            ur::feature_key,
            ur::events,
            ur::quantity_sum,
            ur::quantity_max,
        ))
        .load(c)?;
    let mut out: BTreeMap<String, (i64, BigDecimal, BigDecimal)> = BTreeMap::new();
    for (feature, n, sum, max) in rows {
        let e = out
            .entry(feature)
            .or_insert_with(|| (0, BigDecimal::from(0), max.0.clone()));
        e.0 += n;
        e.1 += sum.0;
        if max.0 > e.2 {
            e.2 = max.0;
        }
    }
    Ok(out)
}

impl Store {
    pub(super) fn read_counters(
        &self,
        tenant_id: &TenantId,
        customer_id: &CustomerId,
        starts: &[DateTime<Utc>],
    ) -> DomainResult<Vec<Counter>> {
        if starts.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let rows: Vec<CounterRow> = uc::table
            .filter(uc::tenant_id.eq(tenant_id.as_str()))
            .filter(uc::customer_id.eq(customer_id.as_str()))
            .filter(uc::period_start.eq_any(starts.iter().copied().map(DbTime)))
            .select(CounterRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        Ok(rows.into_iter().map(CounterRow::into_domain).collect())
    }

    pub(super) fn lock_one_counter(
        &self,
        tenant_id: &TenantId,
        customer_id: &CustomerId,
        feature_key: &str,
        period: CounterPeriod,
    ) -> DomainResult<Counter> {
        let mut conn = self.conn()?;
        let customer = customer_id.as_str();
        let locked = |conn: &mut DbConnection| -> QueryResult<Option<CounterRow>> {
            first_locked!(
                conn,
                uc::table
                    .filter(uc::tenant_id.eq(tenant_id.as_str()))
                    .filter(uc::customer_id.eq(customer))
                    .filter(uc::period_start.eq(DbTime(period.start)))
                    .filter(uc::feature_key.eq(feature_key))
                    .select(CounterRow::as_select())
            )
        };
        // Locked as it is; created first only when missing (an update of a hot row, even by
        // nothing, adds a row version that every consumer after it walks past).
        if let Some(row) = locked(&mut conn).map_err(internal)? {
            return Ok(row.into_domain());
        }
        let zero = BigDecimal::from(0);
        add(
            &mut conn,
            tenant_id,
            customer,
            feature_key,
            period,
            0,
            zero.clone(),
            zero,
        )
        .map_err(internal)?;
        locked(&mut conn)
            .map_err(internal)?
            .map(CounterRow::into_domain)
            .ok_or_else(|| domain::DomainError::internal("a counter just written is gone"))
    }

    pub(super) fn mark_counter_limit_reached(
        &self,
        tenant_id: &TenantId,
        customer_id: &CustomerId,
        feature_key: &str,
        period_start: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let marked = diesel::update(
            uc::table
                .filter(uc::tenant_id.eq(tenant_id.as_str()))
                .filter(uc::customer_id.eq(customer_id.as_str()))
                .filter(uc::period_start.eq(DbTime(period_start)))
                .filter(uc::feature_key.eq(feature_key))
                .filter(uc::limit_reached_at.is_null()),
        )
        .set(uc::limit_reached_at.eq(Some(DbTime(at))))
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(marked == 1)
    }

    pub(super) fn recount_periods(
        &self,
        tenant_id: &TenantId,
        customer_id: &CustomerId,
        periods: &[CounterPeriod],
    ) -> DomainResult<()> {
        let mut conn = self.conn()?;
        recount(&mut conn, tenant_id, customer_id.as_str(), periods).map_err(internal)
    }

    pub(super) fn rebuild_all_counters(&self) -> DomainResult<Vec<CounterDrift>> {
        let mut conn = self.conn()?;
        let rows: Vec<CounterRow> = uc::table
            .select(CounterRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        let mut drifts = Vec::new();
        for row in rows {
            let tenant_id = TenantId::from(row.tenant_id.clone());
            let period = CounterPeriod {
                start: row.period_start.0,
                end: row.period_end.0,
            };
            let mut made =
                from_rollups(&mut conn, &tenant_id, &row.customer_id, period).map_err(internal)?;
            let zero = BigDecimal::from(0);
            let rebuilt = made
                .remove(&row.feature_key)
                .unwrap_or((0, zero.clone(), zero));
            let stored = (
                row.events,
                row.quantity_sum.0.clone(),
                row.quantity_max.0.clone(),
            );
            if stored == rebuilt {
                continue;
            }
            diesel::update(
                uc::table
                    .filter(uc::tenant_id.eq(&row.tenant_id))
                    .filter(uc::customer_id.eq(&row.customer_id))
                    .filter(uc::period_start.eq(row.period_start))
                    .filter(uc::feature_key.eq(&row.feature_key)),
            )
            .set((
                uc::events.eq(rebuilt.0),
                uc::quantity_sum.eq(DbDecimal(rebuilt.1.clone())),
                uc::quantity_max.eq(DbDecimal(rebuilt.2.clone())),
            ))
            .execute(&mut *conn)
            .map_err(internal)?;
            drifts.push(CounterDrift {
                tenant_id,
                customer_id: row.customer_id,
                feature_key: row.feature_key,
                period_start: period.start,
                stored,
                rebuilt,
            });
        }
        Ok(drifts)
    }
}

/// Sets each counter of the customer's `periods` to what the rollups of its hours make.
fn recount(
    conn: &mut DbConnection,
    tenant_id: &TenantId,
    customer: &str,
    periods: &[CounterPeriod],
) -> QueryResult<()> {
    write_tx(conn, |c| -> QueryResult<()> {
        for &p in periods {
            diesel::delete(
                uc::table
                    .filter(uc::tenant_id.eq(tenant_id.as_str()))
                    .filter(uc::customer_id.eq(customer))
                    .filter(uc::period_start.eq(DbTime(p.start))),
            )
            .execute(c)?;
            for (feature, (n, sum, max)) in from_rollups(c, tenant_id, customer, p)? {
                add(c, tenant_id, customer, &feature, p, n, sum, max)?;
            }
        }
        Ok(())
    })
}

/// Counts existing usage into the counters of every running subscription's current period, on
/// `conn` (run once, right after the migration that made the counters).
pub(crate) fn backfill_counters(conn: &mut DbConnection) -> QueryResult<usize> {
    let running: Vec<(String, String, DbTime, DbTime)> = su::table
        .filter(su::status.ne_all(["canceled", "ended"]))
        .select((
            su::tenant_id,
            su::customer_id,
            su::current_period_start,
            su::current_period_end,
        ))
        .load(conn)?;
    let mut done = std::collections::HashSet::new();
    for (tenant, customer, start, end) in running {
        if !done.insert((tenant.clone(), customer.clone(), start.0)) {
            continue;
        }
        let period = CounterPeriod {
            start: start.0,
            end: end.0,
        };
        recount(conn, &TenantId::from(tenant), &customer, &[period])?;
    }
    Ok(done.len())
}

/// One row of [`Store::read_check_view`]: the customer, the feature (if any), and one running
/// subscription (if any) with its plan's entitlements and the feature's counter of its period.
type CheckRow = (
    String,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
    Option<DbTime>,
    Option<DbTime>,
    Option<String>,
    Option<DbDecimal>,
    Option<DbDecimal>,
    Option<i64>,
);

impl Store {
    /// Everything an entitlement check reads, in one statement (see `domain::usage::CheckView`):
    /// the customer joined to the feature by key, to each running subscription, its plan, and
    /// the feature's counter of the subscription's current period.
    pub(super) fn read_check_view(
        &self,
        customer: &domain::scope::CustomerScope,
        feature: &str,
    ) -> DomainResult<Option<domain::usage::CheckView>> {
        use crate::schema::{customers as cu, features as fe, plans as pl};
        use domain::subscription::SubscriptionStatus::{Active, PastDue, Paused, Trialing};
        let mut conn = self.conn()?;
        let key = feature.to_owned();
        let rows: Vec<CheckRow> = cu::table
            .left_join(fe::table.on(fe::tenant_id.eq(cu::tenant_id).and(fe::key.eq(key.clone()))))
            .left_join(
                su::table.on(su::tenant_id
                    .eq(cu::tenant_id)
                    .and(su::customer_id.eq(cu::id))
                    .and(super::one_of!(
                        su::status,
                        [
                            Trialing.as_str(),
                            Active.as_str(),
                            PastDue.as_str(),
                            Paused.as_str()
                        ]
                    ))),
            )
            .left_join(pl::table.on(pl::tenant_id.eq(su::tenant_id).and(pl::id.eq(su::plan_id))))
            .left_join(
                uc::table.on(uc::tenant_id
                    .eq(cu::tenant_id)
                    .and(uc::customer_id.eq(cu::id))
                    .and(uc::period_start.eq(su::current_period_start))
                    .and(uc::feature_key.eq(key))),
            )
            .filter(cu::tenant_id.eq(customer.tenant_id.to_string()))
            .filter(cu::id.eq(customer.customer_id.to_string()))
            .select((
                cu::id,
                fe::aggregation.nullable(),
                fe::archived.nullable(),
                su::id.nullable(),
                su::plan_id.nullable(),
                su::current_period_start.nullable(),
                su::current_period_end.nullable(),
                pl::entitlements.nullable(),
                uc::quantity_sum.nullable(),
                uc::quantity_max.nullable(),
                uc::events.nullable(),
            ))
            .order(su::id.desc())
            .load(&mut *conn)
            .map_err(internal)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let feature_state = match (&first.1, first.2) {
            (Some(aggregation), Some(archived)) => Some(domain::usage::FeatureState {
                aggregation: super::stored::Stored {
                    kind: "feature",
                    id: feature,
                }
                .text(
                    "aggregation",
                    aggregation,
                    domain::usage::Aggregation::parse,
                )?,
                archived,
            }),
            _ => None,
        };
        let mut grants = Vec::new();
        for (_, _, _, sub, plan, start, end, entitlements, sum, max, events) in rows {
            let (Some(sub), Some(plan), Some(start), Some(end), Some(entitlements)) =
                (sub, plan, start, end, entitlements)
            else {
                continue;
            };
            let period = CounterPeriod {
                start: start.0,
                end: end.0,
            };
            let entitlements = super::stored::Stored {
                kind: "plan",
                id: &plan,
            }
            .json("entitlements", &entitlements)?;
            let counter = match (sum, max, events) {
                (Some(sum), Some(max), Some(events)) => Some(Counter {
                    customer_id: customer.customer_id.to_string(),
                    feature_key: feature.to_owned(),
                    period,
                    events,
                    quantity_sum: sum.0,
                    quantity_max: max.0,
                }),
                _ => None,
            };
            grants.push(domain::usage::Grant {
                subscription_id: super::stored::stored_id(&sub)?,
                plan_id: super::stored::stored_id(&plan)?,
                period,
                entitlements,
                counter,
            });
        }
        Ok(Some(domain::usage::CheckView {
            feature: feature_state,
            grants,
        }))
    }
}
