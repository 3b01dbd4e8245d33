use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::id::{SubscriptionId, TestClockId};
use domain::page::{Page, PageRequest};
use domain::plan::Interval;
use domain::ports::SubscriptionRepo;
use domain::scope::{CustomerScope, Scope};
use domain::subscription::SubscriptionChange;
use domain::subscription::SubscriptionFilter;
use domain::subscription::{
    BillingAnchor, CancellationReason, Collection, Subscription, SubscriptionStatus,
};
use domain::DomainResult;

use super::stored::{json, stored_id, Stored};
use super::{first_locked, internal, newest_first, one_of, scoped, TxError};
use crate::connection::DbConnection;
use crate::prepared::Prepare;
use crate::schema::subscriptions as su;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = su, treat_none_as_null = true)]
pub(crate) struct SubscriptionRow {
    id: String,
    tenant_id: String,
    customer_id: String,
    plan_id: String,
    status: String,
    billing_anchor: String,
    collection: String,
    anchor_at: DbTime,
    billing_interval: String,
    interval_count: i32,
    started_at: DbTime,
    current_period_start: DbTime,
    current_period_end: DbTime,
    trial_end: Option<DbTime>,
    #[serde(deserialize_with = "crate::sql_types::flag")]
    cancel_at_period_end: bool,
    canceled_at: Option<DbTime>,
    ended_at: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
    test_clock_id: Option<String>,
    period_index: i32,
    due_at: Option<DbTime>,
    collection_retry_at: Option<DbTime>,
    dunning_attempts: i32,
    billing_retry_at: Option<DbTime>,
    billing_error: Option<String>,
    pending_plan_id: Option<String>,
    pending_lines: String,
    cancellation_reason: Option<String>,
    cancellation_comment: Option<String>,
    quantity: i32,
    pending_quantity: Option<i32>,
    discount: Option<String>,
    retention_accepted_at: Option<DbTime>,
}

impl SubscriptionRow {
    fn from_domain(s: &Subscription) -> Self {
        Self {
            id: s.id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            customer_id: s.customer_id.to_string(),
            plan_id: s.plan_id.to_string(),
            status: s.status.as_str().to_owned(),
            billing_anchor: s.billing_anchor.as_str().to_owned(),
            collection: s.collection.as_str().to_owned(),
            anchor_at: DbTime(s.anchor_at),
            billing_interval: s.interval.as_str().to_owned(),
            // Bounded by plan::check_interval.
            interval_count: i32::try_from(s.interval_count).unwrap_or(i32::MAX),
            started_at: DbTime(s.started_at),
            current_period_start: DbTime(s.current_period_start),
            current_period_end: DbTime(s.current_period_end),
            trial_end: s.trial_end.map(DbTime),
            cancel_at_period_end: s.cancel_at_period_end,
            canceled_at: s.canceled_at.map(DbTime),
            ended_at: s.ended_at.map(DbTime),
            created_at: DbTime(s.created_at),
            updated_at: DbTime(s.updated_at),
            test_clock_id: s.test_clock_id.as_ref().map(|c| c.to_string()),
            period_index: i32::try_from(s.period_index).unwrap_or(i32::MAX),
            // The worker's schedule, kept in step with the state on every write.
            due_at: s.due_at().map(DbTime),
            collection_retry_at: s.collection_retry_at.map(DbTime),
            dunning_attempts: i32::try_from(s.dunning_attempts).unwrap_or(i32::MAX),
            billing_retry_at: s.billing_retry_at.map(DbTime),
            billing_error: s.billing_error.clone(),
            pending_plan_id: s.pending_plan_id.as_ref().map(|p| p.to_string()),
            pending_lines: json(&s.pending_lines),
            cancellation_reason: s.cancellation_reason.map(|r| r.as_str().to_owned()),
            cancellation_comment: s.cancellation_comment.clone(),
            // Bounded by plan::MAX_QUANTITY.
            quantity: i32::try_from(s.quantity).unwrap_or(i32::MAX),
            pending_quantity: s
                .pending_quantity
                .map(|q| i32::try_from(q).unwrap_or(i32::MAX)),
            discount: s.discount.as_ref().map(json),
            retention_accepted_at: s.retention_accepted_at.map(DbTime),
        }
    }

    pub(crate) fn into_domain(self) -> DomainResult<Subscription> {
        let row = Stored {
            kind: "subscription",
            id: &self.id,
        };
        Ok(Subscription {
            id: stored_id(&self.id)?,
            customer_id: stored_id(&self.customer_id)?,
            plan_id: stored_id(&self.plan_id)?,
            status: row.text("status", &self.status, SubscriptionStatus::parse)?,
            billing_anchor: row.text(
                "billing_anchor",
                &self.billing_anchor,
                BillingAnchor::parse,
            )?,
            collection: row.text("collection", &self.collection, Collection::parse)?,
            interval: row.text("billing_interval", &self.billing_interval, Interval::parse)?,
            interval_count: u32::try_from(self.interval_count)
                .map_err(|_| row.damaged("interval_count"))?,
            tenant_id: self.tenant_id.into(),
            anchor_at: self.anchor_at.0,
            started_at: self.started_at.0,
            current_period_start: self.current_period_start.0,
            current_period_end: self.current_period_end.0,
            trial_end: self.trial_end.map(|t| t.0),
            cancel_at_period_end: self.cancel_at_period_end,
            canceled_at: self.canceled_at.map(|t| t.0),
            ended_at: self.ended_at.map(|t| t.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            test_clock_id: self.test_clock_id.as_deref().map(stored_id).transpose()?,
            period_index: u32::try_from(self.period_index)
                .map_err(|_| row.damaged("period_index"))?,
            collection_retry_at: self.collection_retry_at.map(|t| t.0),
            dunning_attempts: u32::try_from(self.dunning_attempts)
                .map_err(|_| row.damaged("dunning_attempts"))?,
            billing_retry_at: self.billing_retry_at.map(|t| t.0),
            billing_error: self.billing_error,
            pending_plan_id: self.pending_plan_id.as_deref().map(stored_id).transpose()?,
            pending_lines: row.json("pending_lines", &self.pending_lines)?,
            cancellation_reason: self
                .cancellation_reason
                .as_deref()
                .map(|r| row.text("cancellation_reason", r, CancellationReason::parse))
                .transpose()?,
            cancellation_comment: self.cancellation_comment,
            quantity: u32::try_from(self.quantity).map_err(|_| row.damaged("quantity"))?,
            pending_quantity: self
                .pending_quantity
                .map(|q| u32::try_from(q).map_err(|_| row.damaged("pending_quantity")))
                .transpose()?,
            discount: self
                .discount
                .as_deref()
                .map(|d| row.json("discount", d))
                .transpose()?,
            retention_accepted_at: self.retention_accepted_at.map(|t| t.0),
        })
    }
}

impl SubscriptionRepo for Store {
    fn insert(&self, subscription: &Subscription) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(su::table)
            .values(SubscriptionRow::from_domain(subscription))
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn get(
        &self,
        scope: &Scope,
        id: &domain::id::SubscriptionId,
    ) -> DomainResult<Option<Subscription>> {
        let mut conn = self.conn()?;
        scoped!(su::table.into_boxed(), su, scope)
            .filter(su::id.eq(id.as_str()))
            .select(SubscriptionRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(SubscriptionRow::into_domain)
            .transpose()
    }

    fn change(
        &self,
        scope: &Scope,
        id: &domain::id::SubscriptionId,
        change: SubscriptionChange<'_>,
    ) -> DomainResult<Subscription> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<Subscription, TxError> {
            let this = su::table
                .filter(su::tenant_id.eq(scope.tenant_id().as_str()))
                .filter(su::id.eq(id.as_str()));
            let row = first_locked!(c, this.select(SubscriptionRow::as_select()))?;
            // The customer of a customer scope is checked on the locked row (a locking query
            // cannot be boxed to add the filter); another customer's is simply not found.
            let mut s = row.ok_or_else(SubscriptionId::not_found)?.into_domain()?;
            if !scope.admits(&s.customer_id) {
                return Err(SubscriptionId::not_found().into());
            }
            change(&mut s)?;
            diesel::update(
                su::table
                    .filter(su::tenant_id.eq(s.tenant_id.as_str()))
                    .filter(su::id.eq(s.id.as_str())),
            )
            .set(SubscriptionRow::from_domain(&s))
            .prepared()
            .execute(c)?;
            Ok(s)
        })
        .map_err(|e| e.into_domain(|| domain::DomainError::internal("unexpected unique violation")))
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &SubscriptionFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Subscription>> {
        let mut conn = self.conn()?;
        let mut q = scoped!(
            su::table.select(SubscriptionRow::as_select()).into_boxed(),
            su,
            scope
        );
        if let Some(c) = &filter.customer_id {
            q = q.filter(su::customer_id.eq(c.clone()));
        }
        if let Some(s) = filter.status {
            q = q.filter(su::status.eq(s.as_str()));
        }
        let rows: Vec<SubscriptionRow> =
            newest_first!(q, su::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(SubscriptionRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |s: &Subscription| {
            s.id.as_str()
        }))
    }

    fn running(&self, customer: &CustomerScope) -> DomainResult<Vec<Subscription>> {
        let mut conn = self.conn()?;
        use SubscriptionStatus::{Active, PastDue, Paused, Trialing};
        su::table
            .filter(su::tenant_id.eq(customer.tenant_id.as_str()))
            .filter(su::customer_id.eq(customer.customer_id.as_str()))
            .filter(one_of!(
                su::status,
                [
                    Trialing.as_str(),
                    Active.as_str(),
                    PastDue.as_str(),
                    Paused.as_str()
                ]
            ))
            .order(su::id.desc())
            .select(SubscriptionRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?
            .into_iter()
            .map(SubscriptionRow::into_domain)
            .collect()
    }

    fn clock_intervals(
        &self,
        tenant_id: &domain::id::TenantId,
        clock: &TestClockId,
    ) -> DomainResult<Vec<(Interval, u32)>> {
        let mut conn = self.conn()?;
        use SubscriptionStatus::{Active, PastDue, Paused, Trialing};
        let rows: Vec<(String, i32)> = su::table
            .filter(su::tenant_id.eq(tenant_id.as_str()))
            .filter(su::test_clock_id.eq(clock.as_str()))
            .filter(one_of!(
                su::status,
                [
                    Trialing.as_str(),
                    Active.as_str(),
                    PastDue.as_str(),
                    Paused.as_str()
                ]
            ))
            .select((su::billing_interval, su::interval_count))
            .distinct()
            .load(&mut *conn)
            .map_err(internal)?;
        let stored = Stored {
            kind: "test clock",
            id: clock.as_str(),
        };
        rows.into_iter()
            .map(|(interval, count)| {
                Ok((
                    stored.text("subscriptions.billing_interval", &interval, Interval::parse)?,
                    u32::try_from(count)
                        .map_err(|_| stored.damaged("subscriptions.interval_count"))?,
                ))
            })
            .collect()
    }

    fn lock(
        &self,
        scope: &Scope,
        id: &domain::id::SubscriptionId,
    ) -> DomainResult<Option<Subscription>> {
        let mut conn = self.conn()?;
        let this = su::table
            .filter(su::tenant_id.eq(scope.tenant_id().as_str()))
            .filter(su::id.eq(id.as_str()));
        let row = first_locked!(&mut *conn, this.select(SubscriptionRow::as_select()))
            .map_err(internal)?;
        // The customer of a customer scope is checked on the locked row.
        Ok(row
            .map(SubscriptionRow::into_domain)
            .transpose()?
            .filter(|s| scope.admits(&s.customer_id)))
    }

    fn update(&self, s: &Subscription) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            su::table
                .filter(su::tenant_id.eq(s.tenant_id.as_str()))
                .filter(su::id.eq(s.id.as_str())),
        )
        .set(SubscriptionRow::from_domain(s))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)?;
        Ok(())
    }

    fn claim_due(
        &self,
        tenant_id: &domain::id::TenantId,
        clock: Option<&TestClockId>,
        now: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &domain::id::SubscriptionId)>,
        limit: usize,
    ) -> DomainResult<Vec<Subscription>> {
        let mut conn = self.conn()?;
        // Keyset from the caller's last claim: the index scan starts there instead of walking
        // again over the entries of rows just billed (their old versions stay in the index
        // until vacuum, all at the same due time in a bulk renewal).
        let (from, from_id) = after
            .map(|(t, id)| (t, id.to_string()))
            .unwrap_or((DateTime::<Utc>::UNIX_EPOCH, String::new()));
        // (A macro: the select's type is fixed per backend.)
        macro_rules! due {
            () => {
                su::table
                    .filter(su::tenant_id.eq(tenant_id.as_str()))
                    .filter(su::due_at.le(DbTime(now)))
                    .filter(
                        diesel::dsl::sql::<diesel::sql_types::Bool>(
                            "(subscriptions.due_at, subscriptions.id) > (",
                        )
                        .bind::<crate::sql_types::UtcTimestamp, _>(DbTime(from))
                        .sql(", ")
                        .bind::<diesel::sql_types::Text, _>(from_id.clone())
                        .sql(")"),
                    )
                    .order((su::due_at.asc(), su::id.asc()))
                    .limit(i64::try_from(limit).unwrap_or(i64::MAX))
                    .select(SubscriptionRow::as_select())
            };
        }
        // Each filter matches one of the two partial indexes (subscriptions_account_due,
        // subscriptions_clock_due). On PostgreSQL, rows another replica's worker holds are
        // skipped, not waited for.
        let clock = clock.map(|c| c.to_string());
        let rows: Vec<SubscriptionRow> = match (&mut *conn, clock) {
            (DbConnection::Postgres(pg), None) => due!()
                .filter(su::test_clock_id.is_null())
                .for_update()
                .skip_locked()
                .load(pg),
            (DbConnection::Postgres(pg), Some(c)) => due!()
                .filter(su::test_clock_id.eq(c))
                .for_update()
                .skip_locked()
                .load(pg),
            (DbConnection::Sqlite(sq), None) => due!().filter(su::test_clock_id.is_null()).load(sq),
            (DbConnection::Sqlite(sq), Some(c)) => due!().filter(su::test_clock_id.eq(c)).load(sq),
        }
        .map_err(internal)?;
        rows.into_iter().map(SubscriptionRow::into_domain).collect()
    }

    fn accounts_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<domain::id::TenantId>> {
        let mut conn = self.conn()?;
        // A range over the partial index subscriptions_due: only what is due is read.
        let due = su::table
            .filter(su::due_at.le(DbTime(now)))
            .filter(su::test_clock_id.is_null());
        super::accounts_with_work!(
            &mut *conn,
            due,
            su::tenant_id,
            "subscriptions.due_at",
            limit
        )
    }
}
