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

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = uc)]
struct CounterRow {
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
    fn into_domain(self) -> Counter {
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
