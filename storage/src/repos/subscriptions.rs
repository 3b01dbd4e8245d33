use diesel::prelude::*;
use domain::id::SubscriptionId;
use domain::page::{Page, PageRequest};
use domain::plan::Interval;
use domain::ports::{SubscriptionChange, SubscriptionFilter, SubscriptionRepo};
use domain::scope::{CustomerScope, Scope};
use domain::subscription::{BillingAnchor, Collection, Subscription, SubscriptionStatus};
use domain::DomainResult;

use super::stored::{stored_id, Stored};
use super::{first_locked, internal, newest_first, scoped, TxError};
use crate::connection::write_tx;
use crate::schema::subscriptions as su;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = su, treat_none_as_null = true)]
struct SubscriptionRow {
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
    cancel_at_period_end: bool,
    canceled_at: Option<DbTime>,
    ended_at: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
}

impl SubscriptionRow {
    fn from_domain(s: &Subscription) -> Self {
        Self {
            id: s.id.to_string(),
            tenant_id: s.tenant_id.clone(),
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
        }
    }

    fn into_domain(self) -> DomainResult<Subscription> {
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
            tenant_id: self.tenant_id,
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
        })
    }
}

impl SubscriptionRepo for Store {
    fn insert(&self, subscription: &Subscription) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(su::table)
            .values(SubscriptionRow::from_domain(subscription))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn get(&self, scope: &Scope, id: &SubscriptionId) -> DomainResult<Option<Subscription>> {
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
        id: &SubscriptionId,
        change: SubscriptionChange<'_>,
    ) -> DomainResult<Subscription> {
        let mut conn = self.conn()?;
        write_tx(&mut conn, |c| -> Result<Subscription, TxError> {
            let this = su::table
                .filter(su::tenant_id.eq(scope.tenant_id()))
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
                    .filter(su::tenant_id.eq(&s.tenant_id))
                    .filter(su::id.eq(s.id.as_str())),
            )
            .set(SubscriptionRow::from_domain(&s))
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
        let live = [
            SubscriptionStatus::Trialing,
            SubscriptionStatus::Active,
            SubscriptionStatus::PastDue,
            SubscriptionStatus::Paused,
        ]
        .map(SubscriptionStatus::as_str);
        su::table
            .filter(su::tenant_id.eq(&customer.tenant_id))
            .filter(su::customer_id.eq(&customer.customer_id))
            .filter(su::status.eq_any(live))
            .order(su::id.desc())
            .select(SubscriptionRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?
            .into_iter()
            .map(SubscriptionRow::into_domain)
            .collect()
    }
}
