//! Test clocks and the billing run log.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::id::TestClockId;
use domain::page::{Page, PageRequest};
use domain::ports::{BillingRunRepo, TestClockRepo};
use domain::test_clock::{BillingRun, ClockStatus, RunKind, RunSource, TestClock};
use domain::DomainResult;

use super::stored::{stored_id, Stored};
use super::{first_locked, internal, newest_first};
use crate::prepared::Prepare;
use crate::schema::{billing_runs as br, test_clocks as tc};
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tc, treat_none_as_null = true)]
struct ClockRow {
    id: String,
    tenant_id: String,
    name: Option<String>,
    frozen_time: DbTime,
    created_at: DbTime,
    updated_at: DbTime,
    status: String,
    advancing_to: Option<DbTime>,
    lease_until: Option<DbTime>,
}

impl ClockRow {
    fn from_domain(c: &TestClock) -> Self {
        Self {
            id: c.id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            name: c.name.clone(),
            frozen_time: DbTime(c.frozen_time),
            created_at: DbTime(c.created_at),
            updated_at: DbTime(c.updated_at),
            status: c.status.as_str().to_owned(),
            advancing_to: c.advancing_to.map(DbTime),
            lease_until: c.lease_until.map(DbTime),
        }
    }

    fn into_domain(self) -> DomainResult<TestClock> {
        Ok(TestClock {
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            name: self.name,
            frozen_time: self.frozen_time.0,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            status: Stored {
                kind: "test clock",
                id: &self.id,
            }
            .text("status", &self.status, ClockStatus::parse)?,
            advancing_to: self.advancing_to.map(|t| t.0),
            lease_until: self.lease_until.map(|t| t.0),
        })
    }
}

impl TestClockRepo for Store {
    fn insert(&self, clock: &TestClock) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(tc::table)
            .values(ClockRow::from_domain(clock))
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn get(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &TestClockId,
    ) -> DomainResult<Option<TestClock>> {
        let mut conn = self.conn()?;
        tc::table
            .filter(tc::tenant_id.eq(tenant_id.as_str()))
            .filter(tc::id.eq(id.as_str()))
            .select(ClockRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(ClockRow::into_domain)
            .transpose()
    }

    fn lock(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &TestClockId,
    ) -> DomainResult<Option<TestClock>> {
        let mut conn = self.conn()?;
        let this = tc::table
            .filter(tc::tenant_id.eq(tenant_id.as_str()))
            .filter(tc::id.eq(id.as_str()));
        first_locked!(&mut *conn, this.select(ClockRow::as_select()))
            .map_err(internal)?
            .map(ClockRow::into_domain)
            .transpose()
    }

    fn update(&self, clock: &TestClock) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            tc::table
                .filter(tc::tenant_id.eq(clock.tenant_id.as_str()))
                .filter(tc::id.eq(clock.id.as_str())),
        )
        .set(ClockRow::from_domain(clock))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)?;
        Ok(())
    }

    fn advancing(&self, now: DateTime<Utc>, limit: usize) -> DomainResult<Vec<TestClock>> {
        let mut conn = self.conn()?;
        let rows: Vec<ClockRow> = tc::table
            .filter(tc::status.eq(ClockStatus::Advancing.as_str()))
            .filter(
                tc::lease_until
                    .is_null()
                    .or(tc::lease_until.lt(DbTime(now))),
            )
            .order(tc::updated_at.asc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .select(ClockRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        rows.into_iter().map(ClockRow::into_domain).collect()
    }

    fn list(
        &self,
        tenant_id: &domain::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<TestClock>> {
        let mut conn = self.conn()?;
        let q = tc::table
            .filter(tc::tenant_id.eq(tenant_id.to_string()))
            .select(ClockRow::as_select())
            .into_boxed();
        let rows: Vec<ClockRow> = newest_first!(q, tc::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(ClockRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |c: &TestClock| c.id.as_str()))
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = br)]
struct RunRow {
    id: String,
    tenant_id: String,
    subscription_id: String,
    customer_id: String,
    kind: String,
    period_start: Option<DbTime>,
    invoice_id: Option<String>,
    outcome: String,
    error: Option<String>,
    source: String,
    created_at: DbTime,
}

impl RunRow {
    fn into_domain(self) -> DomainResult<BillingRun> {
        let row = Stored {
            kind: "billing run",
            id: &self.id,
        };
        Ok(BillingRun {
            kind: row.text("kind", &self.kind, RunKind::parse)?,
            source: row.text("source", &self.source, RunSource::parse)?,
            subscription_id: stored_id(&self.subscription_id)?,
            id: self.id,
            tenant_id: self.tenant_id.into(),
            customer_id: self.customer_id,
            period_start: self.period_start.map(|t| t.0),
            invoice_id: self.invoice_id,
            outcome: self.outcome,
            error: self.error,
            created_at: self.created_at.0,
        })
    }
}

impl BillingRunRepo for Store {
    fn record(&self, run: &BillingRun) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(br::table)
            .values(RunRow {
                id: run.id.clone(),
                tenant_id: run.tenant_id.to_string(),
                subscription_id: run.subscription_id.to_string(),
                customer_id: run.customer_id.clone(),
                kind: run.kind.as_str().to_owned(),
                period_start: run.period_start.map(DbTime),
                invoice_id: run.invoice_id.clone(),
                outcome: run.outcome.clone(),
                error: run.error.clone(),
                source: run.source.as_str().to_owned(),
                created_at: DbTime(run.created_at),
            })
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn list(
        &self,
        tenant_id: &domain::id::TenantId,
        subscription_id: Option<&domain::id::SubscriptionId>,
        page: &PageRequest,
    ) -> DomainResult<Page<BillingRun>> {
        let mut conn = self.conn()?;
        let mut q = br::table
            .filter(br::tenant_id.eq(tenant_id.to_string()))
            .select(RunRow::as_select())
            .into_boxed();
        if let Some(s) = subscription_id {
            q = q.filter(br::subscription_id.eq(s.to_string()));
        }
        let rows: Vec<RunRow> = newest_first!(q, br::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(RunRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |r: &BillingRun| r.id.as_str()))
    }
}
