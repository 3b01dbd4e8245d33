use std::collections::{BTreeMap, HashSet};

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::page::{Page, PageRequest};
use domain::ports::UsageRepo;
use domain::usage::EventFilter;
use domain::usage::{Aggregation, Feature, Rollup, UsageEvent};
use domain::ErrorCode;
use domain::{DomainError, DomainResult};

use super::stored::stored_id;
use super::stored::Stored;
use super::{internal, newest_first, TxError};
use crate::connection::DbConnection;
use crate::schema::{features as f, usage_events as ue, usage_rollups as ur};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = f, treat_none_as_null = true)]
pub(crate) struct FeatureRow {
    id: String,
    tenant_id: String,
    key: String,
    name: String,
    unit: String,
    aggregation: String,
    value_property: Option<String>,
    unit_price: DbDecimal,
    currency: String,
    #[serde(deserialize_with = "crate::sql_types::flag")]
    archived: bool,
    created_at: DbTime,
    updated_at: DbTime,
}

impl FeatureRow {
    fn from_domain(x: &Feature) -> Self {
        Self {
            id: x.id.to_string(),
            tenant_id: x.tenant_id.to_string(),
            key: x.key.clone(),
            name: x.name.clone(),
            unit: x.unit.clone(),
            aggregation: x.aggregation.as_str().to_owned(),
            value_property: x.value_property.clone(),
            unit_price: DbDecimal(x.unit_price.clone()),
            currency: x.currency.code().to_owned(),
            archived: x.archived,
            created_at: DbTime(x.created_at),
            updated_at: DbTime(x.updated_at),
        }
    }

    pub(crate) fn into_domain(self) -> DomainResult<Feature> {
        let row = Stored {
            kind: "feature",
            id: &self.id,
        };
        Ok(Feature {
            aggregation: row.text("aggregation", &self.aggregation, Aggregation::parse)?,
            currency: row.currency(&self.currency)?,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            key: self.key,
            name: self.name,
            unit: self.unit,
            value_property: self.value_property,
            unit_price: self.unit_price.0,
            archived: self.archived,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ue)]
struct EventRow {
    id: String,
    tenant_id: String,
    event_id: String,
    customer_id: String,
    feature_key: String,
    timestamp: DbTime,
    properties: String,
    quantity: DbDecimal,
    received_at: DbTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ur)]
pub(crate) struct RollupRow {
    tenant_id: String,
    customer_id: String,
    feature_key: String,
    hour: DbTime,
    events: i64,
    quantity_sum: DbDecimal,
    quantity_max: DbDecimal,
}

fn key_taken() -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::FeatureKeyTaken,
        message: "another feature already has this key".into(),
    }
}

/// (customer, feature, hour) of a rollup row.
type RollupKey<'a> = (&'a str, &'a str, DateTime<Utc>);
/// (events, quantity sum, quantity max) to add to a rollup row.
type RollupDelta = (i64, BigDecimal, BigDecimal);

fn event_row(tenant_id: &domain::id::TenantId, e: &UsageEvent) -> EventRow {
    EventRow {
        id: e.id.clone(),
        tenant_id: tenant_id.to_string(),
        event_id: e.event_id.clone(),
        customer_id: e.customer_id.clone(),
        feature_key: e.feature_key.clone(),
        timestamp: DbTime(e.timestamp),
        properties: serde_json::Value::Object(e.properties.clone()).to_string(),
        quantity: DbDecimal(e.quantity.clone()),
        received_at: DbTime(e.received_at),
    }
}

#[derive(QueryableByName)]
struct NewEventId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    event_id: String,
}

/// Inserts a batch of events on PostgreSQL, skipping event ids already stored; the event ids
/// that were new. The batch travels as one array per column and `unnest` turns them back into
/// rows: one short statement of nine parameters whatever the batch size, where a multi-row
/// VALUES list is 9,000 parameters for PostgreSQL to parse and plan on every batch.
fn insert_new_events(
    pg: &mut diesel::PgConnection,
    tenant_id: &domain::id::TenantId,
    rows: &[EventRow],
) -> QueryResult<Vec<String>> {
    use diesel::sql_types::{Array, Numeric, Text, Timestamptz};
    // Bound by reference: a batch is thousands of strings, not worth copying.
    let column = |f: fn(&EventRow) -> &str| rows.iter().map(f).collect::<Vec<_>>();
    let times = |f: fn(&EventRow) -> DateTime<Utc>| rows.iter().map(f).collect::<Vec<_>>();
    let found: Vec<NewEventId> = diesel::sql_query(
        "INSERT INTO usage_events \
         (id, tenant_id, event_id, customer_id, feature_key, timestamp, properties, quantity, received_at) \
         SELECT e.id, $1, e.event_id, e.customer_id, e.feature_key, e.at, e.properties, e.quantity, e.received_at \
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::numeric[], $9::timestamptz[]) \
         AS e (id, event_id, customer_id, feature_key, at, properties, quantity, received_at) \
         ON CONFLICT (tenant_id, event_id) DO NOTHING \
         RETURNING event_id",
    )
    .bind::<Text, _>(tenant_id.as_str())
    .bind::<Array<Text>, _>(column(|r| r.id.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.event_id.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.customer_id.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.feature_key.as_str()))
    .bind::<Array<Timestamptz>, _>(times(|r| r.timestamp.0))
    .bind::<Array<Text>, _>(column(|r| r.properties.as_str()))
    .bind::<Array<Numeric>, _>(rows.iter().map(|r| &r.quantity.0).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(times(|r| r.received_at.0))
    .load(pg)?;
    Ok(found.into_iter().map(|r| r.event_id).collect())
}

/// Adds a batch's new events to their hourly rollups on PostgreSQL: one upsert for all of them
/// (atomic against concurrent ingestion), its rows in key order (`WITH ORDINALITY` keeps the
/// map's order) so that concurrent batches lock shared rollups in the same order.
fn add_to_rollups(
    pg: &mut diesel::PgConnection,
    tenant_id: &domain::id::TenantId,
    deltas: BTreeMap<RollupKey<'_>, RollupDelta>,
) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Numeric, Text, Timestamptz};
    if deltas.is_empty() {
        return Ok(());
    }
    let mut customers = Vec::with_capacity(deltas.len());
    let mut features = Vec::with_capacity(deltas.len());
    let mut hours = Vec::with_capacity(deltas.len());
    let mut counts = Vec::with_capacity(deltas.len());
    let mut sums = Vec::with_capacity(deltas.len());
    let mut maxima = Vec::with_capacity(deltas.len());
    for ((customer, feature, hour), (n, sum, max)) in deltas {
        customers.push(customer);
        features.push(feature);
        hours.push(hour);
        counts.push(n);
        sums.push(sum);
        maxima.push(max);
    }
    diesel::sql_query(
        "INSERT INTO usage_rollups (tenant_id, customer_id, feature_key, hour, events, quantity_sum, quantity_max) \
         SELECT $1, r.customer_id, r.feature_key, r.hour, r.events, r.quantity_sum, r.quantity_max \
         FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::numeric[], $7::numeric[]) \
         WITH ORDINALITY AS r (customer_id, feature_key, hour, events, quantity_sum, quantity_max, n) \
         ORDER BY r.n \
         ON CONFLICT (tenant_id, customer_id, hour, feature_key) DO UPDATE SET \
         events = usage_rollups.events + EXCLUDED.events, \
         quantity_sum = usage_rollups.quantity_sum + EXCLUDED.quantity_sum, \
         quantity_max = GREATEST(usage_rollups.quantity_max, EXCLUDED.quantity_max)",
    )
    .bind::<Text, _>(tenant_id.as_str())
    .bind::<Array<Text>, _>(customers)
    .bind::<Array<Text>, _>(features)
    .bind::<Array<Timestamptz>, _>(hours)
    .bind::<Array<BigInt>, _>(counts)
    .bind::<Array<Numeric>, _>(sums)
    .bind::<Array<Numeric>, _>(maxima)
    .execute(pg)?;
    Ok(())
}

/// Adds `n` events (quantities summing to `sum`, largest `max`) to an hourly rollup on SQLite:
/// read, then write under the transaction's write lock.
#[expect(
    clippy::too_many_arguments,
    reason = "the columns of one rollup upsert"
)]
fn add_to_rollup(
    sq: &mut diesel::SqliteConnection,
    tenant_id: &domain::id::TenantId,
    customer_id: &str,
    feature_key: &str,
    hour: DateTime<Utc>,
    n: i64,
    sum: BigDecimal,
    max: BigDecimal,
) -> QueryResult<()> {
    let hour = DbTime(hour);
    let key = ur::table
        .filter(ur::tenant_id.eq(tenant_id.as_str()))
        .filter(ur::customer_id.eq(customer_id))
        .filter(ur::hour.eq(hour))
        .filter(ur::feature_key.eq(feature_key));
    let existing: Option<RollupRow> = key.select(RollupRow::as_select()).first(sq).optional()?;
    match existing {
        Some(r) => {
            let max = if max > r.quantity_max.0 {
                max
            } else {
                r.quantity_max.0
            };
            diesel::update(key)
                .set((
                    ur::events.eq(r.events + n),
                    ur::quantity_sum.eq(DbDecimal(r.quantity_sum.0 + sum)),
                    ur::quantity_max.eq(DbDecimal(max)),
                ))
                .execute(sq)?;
        }
        None => {
            diesel::insert_into(ur::table)
                .values(RollupRow {
                    tenant_id: tenant_id.to_string(),
                    customer_id: customer_id.to_owned(),
                    feature_key: feature_key.to_owned(),
                    hour,
                    events: n,
                    quantity_sum: DbDecimal(sum),
                    quantity_max: DbDecimal(max),
                })
                .execute(sq)?;
        }
    }
    Ok(())
}

impl UsageRepo for Store {
    fn insert_feature(&self, feature: &Feature) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(f::table)
            .values(FeatureRow::from_domain(feature))
            .execute(&mut *conn)
            .map_err(|e| TxError::Db(e).into_domain(key_taken))?;
        Ok(())
    }

    fn update_feature(&self, feature: &Feature) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            f::table
                .filter(f::tenant_id.eq(feature.tenant_id.as_str()))
                .filter(f::id.eq(feature.id.as_str())),
        )
        .set(FeatureRow::from_domain(feature))
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(())
    }

    fn get_feature(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::FeatureId,
    ) -> DomainResult<Option<Feature>> {
        let mut conn = self.conn()?;
        f::table
            .filter(f::tenant_id.eq(tenant_id.as_str()))
            .filter(f::id.eq(id.as_str()))
            .select(FeatureRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(FeatureRow::into_domain)
            .transpose()
    }

    fn features(&self, tenant_id: &domain::id::TenantId) -> DomainResult<Vec<Feature>> {
        let mut conn = self.conn()?;
        let rows: Vec<FeatureRow> = f::table
            .filter(f::tenant_id.eq(tenant_id.as_str()))
            .select(FeatureRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        rows.into_iter().map(FeatureRow::into_domain).collect()
    }

    fn list_features(
        &self,
        tenant_id: &domain::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<Feature>> {
        let mut conn = self.conn()?;
        let q = f::table
            .filter(f::tenant_id.eq(tenant_id.as_str()))
            .select(FeatureRow::as_select())
            .into_boxed();
        let rows: Vec<FeatureRow> = newest_first!(q, f::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(FeatureRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |x: &Feature| &x.id))
    }

    fn ingest(
        &self,
        tenant_id: &domain::id::TenantId,
        events: &[UsageEvent],
    ) -> DomainResult<Vec<bool>> {
        // Work in event_id order (stable, so the first of repeated ids wins): concurrent batches
        // then take their unique-index locks in the same order and cannot deadlock.
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| events[a].event_id.cmp(&events[b].event_id));
        let rows: Vec<EventRow> = order
            .iter()
            .map(|&i| event_row(tenant_id, &events[i]))
            .collect();
        let mut conn = self.conn()?;
        conn.write(|c| -> QueryResult<Vec<bool>> {
            let mut fresh = vec![false; events.len()];
            match c {
                // One insert of the whole batch; RETURNING names the rows that were new. The
                // unique (tenant_id, event_id) index decides, within the batch and against
                // earlier or concurrent ones (which wait for this commit).
                DbConnection::Postgres(pg) => {
                    let new: HashSet<String> = insert_new_events(pg, tenant_id, &rows)?
                        .into_iter()
                        .collect();
                    let mut seen = HashSet::new();
                    for &i in &order {
                        let id = events[i].event_id.as_str();
                        fresh[i] = new.contains(id) && seen.insert(id);
                    }
                }
                DbConnection::Sqlite(sq) => {
                    for (row, &i) in rows.iter().zip(&order) {
                        fresh[i] = diesel::insert_into(ue::table)
                            .values(row)
                            .on_conflict_do_nothing()
                            .execute(sq)?
                            == 1;
                    }
                }
            }
            // One rollup change per (customer, feature, hour), in key order.
            let mut deltas: BTreeMap<RollupKey<'_>, RollupDelta> = BTreeMap::new();
            for (e, _) in events.iter().zip(&fresh).filter(|(_, new)| **new) {
                let d = deltas
                    .entry((e.customer_id.as_str(), e.feature_key.as_str(), e.hour()))
                    .or_insert_with(|| (0, BigDecimal::from(0), e.quantity.clone()));
                d.0 += 1;
                d.1 += &e.quantity;
                if e.quantity > d.2 {
                    d.2 = e.quantity.clone();
                }
            }
            match c {
                DbConnection::Postgres(pg) => add_to_rollups(pg, tenant_id, deltas)?,
                DbConnection::Sqlite(sq) => {
                    for ((customer, feature, hour), (n, sum, max)) in deltas {
                        add_to_rollup(sq, tenant_id, customer, feature, hour, n, sum, max)?;
                    }
                }
            }
            super::usage_counters::add_events(c, tenant_id, events, &fresh)?;
            Ok(fresh)
        })
        .map_err(internal)
    }

    fn events(
        &self,
        tenant_id: &domain::id::TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<UsageEvent>> {
        let mut conn = self.conn()?;
        let mut q = ue::table
            .filter(ue::tenant_id.eq(tenant_id.as_str()))
            .select(EventRow::as_select())
            .into_boxed();
        if let Some(c) = &filter.customer_id {
            q = q.filter(ue::customer_id.eq(c.clone()));
        }
        if let Some(k) = &filter.feature {
            q = q.filter(ue::feature_key.eq(k.clone()));
        }
        if let Some(t) = filter.from {
            q = q.filter(ue::timestamp.ge(DbTime(t)));
        }
        if let Some(t) = filter.to {
            q = q.filter(ue::timestamp.lt(DbTime(t)));
        }
        let rows: Vec<EventRow> = newest_first!(q, ue::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(EventRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |x: &UsageEvent| &x.id))
    }

    fn recorded_event(
        &self,
        tenant_id: &domain::id::TenantId,
        dedupe_key: &str,
    ) -> DomainResult<Option<UsageEvent>> {
        let mut conn = self.conn()?;
        let found: Option<EventRow> = ue::table
            .filter(ue::tenant_id.eq(tenant_id.as_str()))
            .filter(ue::event_id.eq(dedupe_key))
            .select(EventRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        found.map(EventRow::into_domain).transpose()
    }

    fn check_view(
        &self,
        customer: &domain::scope::CustomerScope,
        feature: &str,
    ) -> DomainResult<Option<domain::usage::CheckView>> {
        self.read_check_view(customer, feature)
    }

    fn counters(
        &self,
        tenant_id: &domain::id::TenantId,
        customer_id: &domain::id::CustomerId,
        starts: &[DateTime<Utc>],
    ) -> DomainResult<Vec<domain::usage::Counter>> {
        self.read_counters(tenant_id, customer_id, starts)
    }

    fn lock_counter(
        &self,
        tenant_id: &domain::id::TenantId,
        customer_id: &domain::id::CustomerId,
        feature_key: &str,
        period: domain::usage::CounterPeriod,
    ) -> DomainResult<domain::usage::Counter> {
        self.lock_one_counter(tenant_id, customer_id, feature_key, period)
    }

    fn mark_limit_reached(
        &self,
        tenant_id: &domain::id::TenantId,
        customer_id: &domain::id::CustomerId,
        feature_key: &str,
        period_start: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> DomainResult<bool> {
        self.mark_counter_limit_reached(tenant_id, customer_id, feature_key, period_start, at)
    }

    fn recount(
        &self,
        tenant_id: &domain::id::TenantId,
        customer_id: &domain::id::CustomerId,
        periods: &[domain::usage::CounterPeriod],
    ) -> DomainResult<()> {
        self.recount_periods(tenant_id, customer_id, periods)
    }

    fn rebuild_counters(&self) -> DomainResult<Vec<domain::usage::CounterDrift>> {
        self.rebuild_all_counters()
    }

    fn rollups(
        &self,
        tenant_id: &domain::id::TenantId,
        customer_id: &domain::id::CustomerId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> DomainResult<Vec<Rollup>> {
        let mut conn = self.conn()?;
        let rows: Vec<RollupRow> = ur::table
            .filter(ur::tenant_id.eq(tenant_id.as_str()))
            .filter(ur::customer_id.eq(customer_id.as_str()))
            .filter(ur::hour.ge(DbTime(from)))
            .filter(ur::hour.lt(DbTime(to)))
            .order(ur::hour.asc())
            .select(RollupRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        Ok(rows.into_iter().map(RollupRow::into_domain).collect())
    }
}

impl RollupRow {
    pub(crate) fn into_domain(self) -> Rollup {
        Rollup {
            customer_id: self.customer_id,
            feature_key: self.feature_key,
            hour: self.hour.0,
            events: self.events,
            quantity_sum: self.quantity_sum.0,
            quantity_max: self.quantity_max.0,
        }
    }
}

impl EventRow {
    fn into_domain(self) -> DomainResult<UsageEvent> {
        let properties = Stored {
            kind: "usage event",
            id: &self.id,
        }
        .object("properties", &self.properties)?;
        Ok(UsageEvent {
            id: self.id,
            tenant_id: self.tenant_id.into(),
            event_id: self.event_id,
            customer_id: self.customer_id,
            feature_key: self.feature_key,
            timestamp: self.timestamp.0,
            properties,
            quantity: self.quantity.0,
            received_at: self.received_at.0,
            // Read back: its counters were added to when it was accepted.
            periods: Vec::new(),
        })
    }
}
