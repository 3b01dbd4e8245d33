//! Webhook endpoints, the event outbox, deliveries and their attempts. Events and deliveries
//! are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so the worker of every replica takes
//! its own rows; on SQLite the write transaction already excludes other writers.

use diesel::prelude::*;
use domain::id::{WebhookDeliveryId, WebhookEndpointId, WebhookEventId};
use domain::page::{Page, PageRequest};
use domain::ports::{Outbox, WebhookRepo};
use domain::webhook::{
    DeliveryAttempt, DeliveryStatus, DisabledReason, Dispatch, EndpointStatus, EventType,
    WebhookDelivery, WebhookEndpoint, WebhookEvent,
};
use domain::DomainResult;

use super::stored::{json, stored_id, Stored};
use super::{first_locked, internal, newest_first};
use crate::connection::{read_tx, DbConnection};
use crate::prepared::Prepare;
use crate::schema::{
    webhook_attempts as wa, webhook_deliveries as wd, webhook_endpoints as we, webhook_events as ev,
};
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = we, treat_none_as_null = true)]
struct EndpointRow {
    id: String,
    tenant_id: String,
    url: String,
    description: Option<String>,
    event_types: Option<String>,
    status: String,
    disabled_reason: Option<String>,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<DbTime>,
    failing_since: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
}

impl EndpointRow {
    fn from_domain(e: &WebhookEndpoint) -> Self {
        Self {
            id: e.id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            url: e.url.clone(),
            description: e.description.clone(),
            event_types: e
                .event_types
                .as_ref()
                .map(|t| json(&t.iter().map(|t| t.as_str()).collect::<Vec<_>>())),
            status: e.status.as_str().to_owned(),
            disabled_reason: e.disabled_reason.map(|r| r.as_str().to_owned()),
            secret: e.secret.clone(),
            previous_secret: e.previous_secret.clone(),
            previous_secret_expires_at: e.previous_secret_expires_at.map(DbTime),
            failing_since: e.failing_since.map(DbTime),
            created_at: DbTime(e.created_at),
            updated_at: DbTime(e.updated_at),
        }
    }

    fn into_domain(self) -> DomainResult<WebhookEndpoint> {
        let row = Stored {
            kind: "webhook endpoint",
            id: &self.id,
        };
        let event_types = match &self.event_types {
            None => None,
            Some(text) => Some(
                row.json::<Vec<String>>("event_types", text)?
                    .iter()
                    .map(|t| row.text("event_types", t, EventType::parse))
                    .collect::<DomainResult<Vec<_>>>()?,
            ),
        };
        Ok(WebhookEndpoint {
            status: row.text("status", &self.status, EndpointStatus::parse)?,
            disabled_reason: self
                .disabled_reason
                .as_deref()
                .map(|r| row.text("disabled_reason", r, DisabledReason::parse))
                .transpose()?,
            id: stored_id(&self.id)?,
            event_types,
            tenant_id: self.tenant_id.into(),
            url: self.url,
            description: self.description,
            secret: self.secret,
            previous_secret: self.previous_secret,
            previous_secret_expires_at: self.previous_secret_expires_at.map(|t| t.0),
            failing_since: self.failing_since.map(|t| t.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ev)]
struct EventRow {
    id: String,
    tenant_id: String,
    event_type: String,
    payload: String,
    created_at: DbTime,
    dispatched: bool,
}

impl EventRow {
    fn from_domain(e: &WebhookEvent, dispatched: bool) -> Self {
        Self {
            id: e.id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            event_type: e.event_type.as_str().to_owned(),
            payload: e.payload.clone(),
            created_at: DbTime(e.created_at),
            dispatched,
        }
    }

    fn into_domain(self) -> DomainResult<WebhookEvent> {
        let row = Stored {
            kind: "webhook event",
            id: &self.id,
        };
        Ok(WebhookEvent {
            event_type: row.text("type", &self.event_type, EventType::parse)?,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            created_at: self.created_at.0,
            payload: self.payload,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = wd, treat_none_as_null = true)]
struct DeliveryRow {
    id: String,
    tenant_id: String,
    event_id: String,
    endpoint_id: String,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
}

impl DeliveryRow {
    fn from_domain(d: &WebhookDelivery) -> Self {
        Self {
            id: d.id.to_string(),
            tenant_id: d.tenant_id.to_string(),
            event_id: d.event_id.to_string(),
            endpoint_id: d.endpoint_id.to_string(),
            event_type: d.event_type.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(DbTime),
            created_at: DbTime(d.created_at),
            updated_at: DbTime(d.updated_at),
        }
    }

    fn into_domain(self, log: Vec<DeliveryAttempt>) -> DomainResult<WebhookDelivery> {
        let row = Stored {
            kind: "webhook delivery",
            id: &self.id,
        };
        Ok(WebhookDelivery {
            event_type: row.text("event_type", &self.event_type, EventType::parse)?,
            status: row.text("status", &self.status, DeliveryStatus::parse)?,
            id: stored_id(&self.id)?,
            event_id: stored_id(&self.event_id)?,
            endpoint_id: stored_id(&self.endpoint_id)?,
            tenant_id: self.tenant_id.into(),
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at.map(|t| t.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            log,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = wa)]
struct AttemptRow {
    id: String,
    tenant_id: String,
    delivery_id: String,
    number: i32,
    attempted_at: DbTime,
    http_status: Option<i32>,
    duration_ms: i64,
    response_excerpt: Option<String>,
    error: Option<String>,
}

impl AttemptRow {
    fn into_domain(self) -> DeliveryAttempt {
        DeliveryAttempt {
            number: self.number,
            attempted_at: self.attempted_at.0,
            http_status: self.http_status,
            duration_ms: self.duration_ms,
            response_excerpt: self.response_excerpt,
            error: self.error,
        }
    }
}

impl Store {
    fn insert_event(&self, e: &WebhookEvent, dispatched: bool) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(ev::table)
            .values(EventRow::from_domain(e, dispatched))
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    /// The deliveries with their attempts, oldest attempt first.
    fn with_log(
        &self,
        conn: &mut DbConnection,
        rows: Vec<DeliveryRow>,
    ) -> DomainResult<Vec<WebhookDelivery>> {
        let Some(tenant) = rows.first().map(|r| r.tenant_id.clone()) else {
            return Ok(Vec::new());
        };
        let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
        let attempts: Vec<AttemptRow> = wa::table
            .filter(wa::tenant_id.eq(tenant))
            .filter(wa::delivery_id.eq_any(ids))
            .order(wa::id.asc())
            .select(AttemptRow::as_select())
            .load(conn)
            .map_err(internal)?;
        let mut logs: std::collections::HashMap<String, Vec<DeliveryAttempt>> =
            std::collections::HashMap::new();
        for a in attempts {
            logs.entry(a.delivery_id.clone())
                .or_default()
                .push(a.into_domain());
        }
        rows.into_iter()
            .map(|r| {
                let log = logs.remove(&r.id).unwrap_or_default();
                r.into_domain(log)
            })
            .collect()
    }
}

/// `status = 'pending'` as SQL text, the predicate of the partial index webhook_deliveries_due:
/// SQLite uses a partial index only for a query that states its predicate literally.
fn pending_literal() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("status = 'pending'")
}

impl Outbox for Store {
    fn emit(&self, event: &WebhookEvent) -> DomainResult<()> {
        self.insert_event(event, false)
    }
}

impl WebhookRepo for Store {
    fn emit_dispatched(&self, event: &WebhookEvent) -> DomainResult<()> {
        self.insert_event(event, true)
    }

    fn insert_endpoint(&self, e: &WebhookEndpoint) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(we::table)
            .values(EndpointRow::from_domain(e))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn endpoint(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &WebhookEndpointId,
    ) -> DomainResult<Option<WebhookEndpoint>> {
        let mut conn = self.conn()?;
        we::table
            .filter(we::tenant_id.eq(tenant_id.as_str()))
            .filter(we::id.eq(id.as_str()))
            .select(EndpointRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(EndpointRow::into_domain)
            .transpose()
    }

    fn lock_endpoint(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &WebhookEndpointId,
    ) -> DomainResult<Option<WebhookEndpoint>> {
        let mut conn = self.conn()?;
        let row: Option<EndpointRow> = first_locked!(
            &mut *conn,
            we::table
                .filter(we::tenant_id.eq(tenant_id.as_str()))
                .filter(we::id.eq(id.as_str()))
                .select(EndpointRow::as_select())
        )
        .map_err(internal)?;
        row.map(EndpointRow::into_domain).transpose()
    }

    fn save_endpoint(&self, e: &WebhookEndpoint) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            we::table
                .filter(we::tenant_id.eq(e.tenant_id.to_string()))
                .filter(we::id.eq(e.id.to_string())),
        )
        .set(EndpointRow::from_domain(e))
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(())
    }

    fn delete_endpoint(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &WebhookEndpointId,
    ) -> DomainResult<bool> {
        self.in_unit(|| {
            let mut conn = self.conn()?;
            let deliveries = wd::table
                .filter(wd::tenant_id.eq(tenant_id.as_str()))
                .filter(wd::endpoint_id.eq(id.as_str()))
                .select(wd::id);
            let attempts = wa::table
                .filter(wa::tenant_id.eq(tenant_id.as_str()))
                .filter(wa::delivery_id.eq_any(deliveries));
            diesel::delete(attempts)
                .execute(&mut *conn)
                .map_err(internal)?;
            diesel::delete(
                wd::table
                    .filter(wd::tenant_id.eq(tenant_id.as_str()))
                    .filter(wd::endpoint_id.eq(id.as_str())),
            )
            .execute(&mut *conn)
            .map_err(internal)?;
            let n = diesel::delete(
                we::table
                    .filter(we::tenant_id.eq(tenant_id.as_str()))
                    .filter(we::id.eq(id.as_str())),
            )
            .execute(&mut *conn)
            .map_err(internal)?;
            Ok(n > 0)
        })
    }

    fn endpoints(
        &self,
        tenant_id: &domain::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<WebhookEndpoint>> {
        let mut conn = self.conn()?;
        let q = we::table
            .filter(we::tenant_id.eq(tenant_id.to_string()))
            .select(EndpointRow::as_select())
            .into_boxed();
        let rows: Vec<EndpointRow> =
            newest_first!(q, we::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(EndpointRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |e: &WebhookEndpoint| {
            e.id.as_str()
        }))
    }

    fn enabled_endpoints(
        &self,
        tenant_id: &domain::id::TenantId,
    ) -> DomainResult<Vec<WebhookEndpoint>> {
        let mut conn = self.conn()?;
        we::table
            .filter(we::tenant_id.eq(tenant_id.as_str()))
            .filter(we::status.eq(EndpointStatus::Enabled.as_str()))
            .select(EndpointRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?
            .into_iter()
            .map(EndpointRow::into_domain)
            .collect()
    }

    fn event(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &WebhookEventId,
    ) -> DomainResult<Option<WebhookEvent>> {
        let mut conn = self.conn()?;
        ev::table
            .filter(ev::tenant_id.eq(tenant_id.as_str()))
            .filter(ev::id.eq(id.as_str()))
            .select(EventRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(EventRow::into_domain)
            .transpose()
    }

    fn events(
        &self,
        tenant_id: &domain::id::TenantId,
        event_type: Option<EventType>,
        page: &PageRequest,
    ) -> DomainResult<Page<WebhookEvent>> {
        let mut conn = self.conn()?;
        let mut q = ev::table
            .filter(ev::tenant_id.eq(tenant_id.to_string()))
            .select(EventRow::as_select())
            .into_boxed();
        if let Some(t) = event_type {
            q = q.filter(ev::event_type.eq(t.as_str()));
        }
        let rows: Vec<EventRow> = newest_first!(q, ev::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(EventRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |e: &WebhookEvent| {
            e.id.as_str()
        }))
    }

    fn events_since(
        &self,
        tenant_id: &domain::id::TenantId,
        since: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> DomainResult<Vec<WebhookEvent>> {
        let mut conn = self.conn()?;
        ev::table
            .filter(ev::tenant_id.eq(tenant_id.as_str()))
            .filter(ev::created_at.ge(DbTime(since)))
            .order(ev::id.asc())
            .limit(limit)
            .select(EventRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?
            .into_iter()
            .map(EventRow::into_domain)
            .collect()
    }

    fn accounts_undispatched(&self, limit: i64) -> DomainResult<Vec<domain::id::TenantId>> {
        let mut conn = self.conn()?;
        let due = ev::table.filter(diesel::dsl::not(ev::dispatched));
        super::accounts_with_work!(&mut *conn, due, ev::tenant_id, "webhook_events.id", limit)
    }

    fn claim_undispatched(
        &self,
        tenant_id: &domain::id::TenantId,
        limit: i64,
    ) -> DomainResult<Vec<WebhookEvent>> {
        let mut conn = self.conn()?;
        macro_rules! undispatched {
            () => {
                // Literal predicates, as the partial index webhook_events_undispatched has them
                // (a bound value would not match it).
                ev::table
                    .filter(ev::tenant_id.eq(tenant_id.as_str()))
                    .filter(diesel::dsl::not(ev::dispatched))
                    .order(ev::id.asc())
                    .limit(limit)
                    .select(EventRow::as_select())
            };
        }
        let rows: Vec<EventRow> = match &mut *conn {
            DbConnection::Postgres(pg) => undispatched!().for_update().skip_locked().load(pg),
            DbConnection::Sqlite(sq) => undispatched!().load(sq),
        }
        .map_err(internal)?;
        rows.into_iter().map(EventRow::into_domain).collect()
    }

    fn mark_dispatched(
        &self,
        tenant_id: &domain::id::TenantId,
        ids: &[WebhookEventId],
    ) -> DomainResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn()?;
        let ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
        let these = ev::table
            .filter(ev::tenant_id.eq(tenant_id.as_str()))
            .filter(ev::id.eq_any(ids));
        diesel::update(these)
            .set(ev::dispatched.eq(true))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn insert_deliveries(&self, deliveries: &[WebhookDelivery]) -> DomainResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn()?;
        let rows: Vec<DeliveryRow> = deliveries.iter().map(DeliveryRow::from_domain).collect();
        match &mut *conn {
            // Bounded statements: at most 65,535 binds, 10 per row.
            DbConnection::Postgres(pg) => {
                for chunk in rows.chunks(1000) {
                    diesel::insert_into(wd::table)
                        .values(chunk)
                        .execute(pg)
                        .map_err(internal)?;
                }
            }
            // SQLite has no multi-row insert in diesel; in-process, a row at a time costs little.
            DbConnection::Sqlite(sq) => {
                for row in &rows {
                    diesel::insert_into(wd::table)
                        .values(row)
                        .execute(sq)
                        .map_err(internal)?;
                }
            }
        }
        Ok(())
    }

    fn accounts_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> DomainResult<Vec<domain::id::TenantId>> {
        let mut conn = self.conn()?;
        let due = wd::table
            .filter(pending_literal())
            .filter(wd::next_attempt_at.le(DbTime(now)));
        super::accounts_with_work!(
            &mut *conn,
            due,
            wd::tenant_id,
            "webhook_deliveries.next_attempt_at",
            limit
        )
    }

    fn claim_due(
        &self,
        tenant_id: &domain::id::TenantId,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> DomainResult<Vec<Dispatch>> {
        self.in_unit(|| {
            let mut conn = self.conn()?;
            // Matches the partial index webhook_deliveries_due.
            macro_rules! due {
                () => {
                    wd::table
                        .filter(wd::tenant_id.eq(tenant_id.as_str()))
                        .filter(pending_literal())
                        .filter(wd::next_attempt_at.le(DbTime(now)))
                        .order(wd::next_attempt_at.asc())
                        .limit(limit)
                        .select(DeliveryRow::as_select())
                };
            }
            let rows: Vec<DeliveryRow> = match &mut *conn {
                DbConnection::Postgres(pg) => due!().for_update().skip_locked().load(pg),
                DbConnection::Sqlite(sq) => due!().load(sq),
            }
            .map_err(internal)?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
            let claimed = wd::table
                .filter(wd::tenant_id.eq(tenant_id.as_str()))
                .filter(wd::id.eq_any(&ids));
            diesel::update(claimed)
                .set((
                    wd::attempts.eq(wd::attempts + 1),
                    wd::next_attempt_at.eq(DbTime(lease_until)),
                    wd::updated_at.eq(DbTime(now)),
                ))
                .execute(&mut *conn)
                .map_err(internal)?;
            let event_ids: Vec<&String> = rows.iter().map(|r| &r.event_id).collect();
            let payloads: Vec<(String, String)> = ev::table
                .filter(ev::tenant_id.eq(tenant_id.as_str()))
                .filter(ev::id.eq_any(event_ids))
                .select((ev::id, ev::payload))
                .load(&mut *conn)
                .map_err(internal)?;
            let endpoint_ids: Vec<&String> = rows.iter().map(|r| &r.endpoint_id).collect();
            let endpoints: Vec<WebhookEndpoint> = we::table
                .filter(we::tenant_id.eq(tenant_id.as_str()))
                .filter(we::id.eq_any(endpoint_ids))
                .select(EndpointRow::as_select())
                .load(&mut *conn)
                .map_err(internal)?
                .into_iter()
                .map(EndpointRow::into_domain)
                .collect::<DomainResult<_>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let endpoint = endpoints.iter().find(|e| e.id == r.endpoint_id);
                let payload = payloads.iter().find(|(id, _)| *id == r.event_id);
                let (Some(endpoint), Some((_, payload))) = (endpoint, payload) else {
                    continue;
                };
                if endpoint.status != EndpointStatus::Enabled {
                    continue; // disabled between its last change and now; fail_pending ends it
                }
                out.push(Dispatch {
                    delivery_id: stored_id(&r.id)?,
                    tenant_id: r.tenant_id.into(),
                    endpoint_id: endpoint.id.clone(),
                    url: endpoint.url.clone(),
                    secrets: endpoint.signing_secrets(now),
                    event_id: stored_id(&r.event_id)?,
                    payload: payload.clone(),
                    attempt: r.attempts + 1,
                });
            }
            Ok(out)
        })
    }

    fn lock_delivery(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &WebhookDeliveryId,
    ) -> DomainResult<Option<WebhookDelivery>> {
        let mut conn = self.conn()?;
        let row: Option<DeliveryRow> = first_locked!(
            &mut *conn,
            wd::table
                .filter(wd::tenant_id.eq(tenant_id.as_str()))
                .filter(wd::id.eq(id.as_str()))
                .select(DeliveryRow::as_select())
        )
        .map_err(internal)?;
        row.map(|r| r.into_domain(Vec::new())).transpose()
    }

    fn save_delivery(
        &self,
        d: &WebhookDelivery,
        attempt: Option<&DeliveryAttempt>,
    ) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            wd::table
                .filter(wd::tenant_id.eq(d.tenant_id.to_string()))
                .filter(wd::id.eq(d.id.to_string())),
        )
        .set(DeliveryRow::from_domain(d))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)?;
        if let Some(a) = attempt {
            diesel::insert_into(wa::table)
                .values(AttemptRow {
                    id: domain::id::new_id(domain::id::WEBHOOK_ATTEMPT),
                    tenant_id: d.tenant_id.to_string(),
                    delivery_id: d.id.to_string(),
                    number: a.number,
                    attempted_at: DbTime(a.attempted_at),
                    http_status: a.http_status,
                    duration_ms: a.duration_ms,
                    response_excerpt: a.response_excerpt.clone(),
                    error: a.error.clone(),
                })
                .prepared()
                .execute(&mut conn)
                .map_err(internal)?;
        }
        Ok(())
    }

    fn fail_pending_deliveries(
        &self,
        tenant_id: &domain::id::TenantId,
        endpoint_id: &WebhookEndpointId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<usize> {
        let mut conn = self.conn()?;
        diesel::update(
            wd::table
                .filter(wd::tenant_id.eq(tenant_id.as_str()))
                .filter(wd::endpoint_id.eq(endpoint_id.as_str()))
                .filter(wd::status.eq(DeliveryStatus::Pending.as_str())),
        )
        .set((
            wd::status.eq(DeliveryStatus::Failed.as_str()),
            wd::next_attempt_at.eq(None::<DbTime>),
            wd::updated_at.eq(DbTime(now)),
        ))
        .execute(&mut *conn)
        .map_err(internal)
    }

    fn purge(&self, before: chrono::DateTime<chrono::Utc>, limit: i64) -> DomainResult<usize> {
        let mut conn = self.conn()?;
        let pending = wd::table
            .filter(wd::status.eq(DeliveryStatus::Pending.as_str()))
            .select(wd::event_id);
        let old: Vec<(String, String)> = ev::table
            .filter(ev::created_at.lt(DbTime(before)))
            .filter(ev::dispatched.eq(true))
            .filter(ev::id.ne_all(pending))
            .order(ev::id.asc())
            .limit(limit)
            .select((ev::tenant_id, ev::id))
            .load(&mut *conn)
            .map_err(internal)?;
        // Deleted per account: each statement reads the keys that lead with tenant_id.
        let mut by_account: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (tenant, id) in old {
            by_account.entry(tenant).or_default().push(id);
        }
        let mut purged = 0;
        for (tenant, ids) in &by_account {
            let deliveries = wd::table
                .filter(wd::tenant_id.eq(tenant))
                .filter(wd::event_id.eq_any(ids))
                .select(wd::id);
            let attempts = wa::table
                .filter(wa::tenant_id.eq(tenant))
                .filter(wa::delivery_id.eq_any(deliveries));
            diesel::delete(attempts)
                .execute(&mut *conn)
                .map_err(internal)?;
            let deliveries = wd::table
                .filter(wd::tenant_id.eq(tenant))
                .filter(wd::event_id.eq_any(ids));
            diesel::delete(deliveries)
                .execute(&mut *conn)
                .map_err(internal)?;
            let events = ev::table
                .filter(ev::tenant_id.eq(tenant))
                .filter(ev::id.eq_any(ids));
            purged += diesel::delete(events)
                .execute(&mut *conn)
                .map_err(internal)?;
        }
        Ok(purged)
    }

    fn deliveries(
        &self,
        tenant_id: &domain::id::TenantId,
        endpoint_id: &WebhookEndpointId,
        page: &PageRequest,
    ) -> DomainResult<Page<WebhookDelivery>> {
        let mut conn = self.conn()?;
        let q = wd::table
            .filter(wd::tenant_id.eq(tenant_id.to_string()))
            .filter(wd::endpoint_id.eq(endpoint_id.to_string()))
            .select(DeliveryRow::as_select())
            .into_boxed();
        let items = read_tx(&mut conn, |conn| {
            let rows: Vec<DeliveryRow> = newest_first!(q, wd::id, page, conn).map_err(internal)?;
            self.with_log(conn, rows)
        })?;
        Ok(Page::from_rows(items, page, |d: &WebhookDelivery| {
            d.id.as_str()
        }))
    }

    fn delivery(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &WebhookDeliveryId,
    ) -> DomainResult<Option<WebhookDelivery>> {
        let mut conn = self.conn()?;
        read_tx(&mut conn, |conn| {
            let row: Option<DeliveryRow> = wd::table
                .filter(wd::tenant_id.eq(tenant_id.as_str()))
                .filter(wd::id.eq(id.as_str()))
                .select(DeliveryRow::as_select())
                .first(conn)
                .optional()
                .map_err(internal)?;
            match row {
                None => Ok(None),
                Some(r) => Ok(self.with_log(conn, vec![r])?.pop()),
            }
        })
    }
}
