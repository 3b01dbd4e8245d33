use diesel::prelude::*;
use domain::id::{TaxRateId, TenantId};
use domain::page::{Page, PageRequest};
use domain::ports::TaxRateRepo;
use domain::tax::{TaxRate, TaxRateFilter};
use domain::DomainResult;

use super::stored::stored_id;
use super::{internal, newest_first};
use crate::schema::tax_rates as tr;
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tr)]
struct RateRow {
    id: String,
    tenant_id: String,
    name: String,
    percentage: DbDecimal,
    inclusive: bool,
    country: Option<String>,
    description: Option<String>,
    active: bool,
    created_at: DbTime,
    archived_at: Option<DbTime>,
}

impl RateRow {
    fn from_domain(r: &TaxRate) -> Self {
        Self {
            id: r.id.to_string(),
            tenant_id: r.tenant_id.to_string(),
            name: r.name.clone(),
            percentage: DbDecimal(r.percentage.clone()),
            inclusive: r.inclusive,
            country: r.country.clone(),
            description: r.description.clone(),
            active: r.active,
            created_at: DbTime(r.created_at),
            archived_at: r.archived_at.map(DbTime),
        }
    }

    fn into_domain(self) -> DomainResult<TaxRate> {
        Ok(TaxRate {
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            name: self.name,
            percentage: self.percentage.0.normalized(),
            inclusive: self.inclusive,
            country: self.country,
            description: self.description,
            active: self.active,
            created_at: self.created_at.0,
            archived_at: self.archived_at.map(|t| t.0),
        })
    }
}

fn rows(found: Vec<RateRow>) -> DomainResult<Vec<TaxRate>> {
    found.into_iter().map(RateRow::into_domain).collect()
}

impl TaxRateRepo for Store {
    fn insert(&self, rate: &TaxRate) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(tr::table)
            .values(RateRow::from_domain(rate))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn get(&self, tenant_id: &TenantId, id: &TaxRateId) -> DomainResult<Option<TaxRate>> {
        let mut conn = self.conn()?;
        tr::table
            .filter(tr::tenant_id.eq(tenant_id.as_str()))
            .filter(tr::id.eq(id.as_str()))
            .select(RateRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(RateRow::into_domain)
            .transpose()
    }

    fn many(&self, tenant_id: &TenantId, ids: &[TaxRateId]) -> DomainResult<Vec<TaxRate>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let wanted: Vec<&str> = ids.iter().map(TaxRateId::as_str).collect();
        let found = tr::table
            .filter(tr::tenant_id.eq(tenant_id.as_str()))
            .filter(tr::id.eq_any(wanted))
            .select(RateRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        rows(found)
    }

    fn list(
        &self,
        tenant_id: &TenantId,
        filter: &TaxRateFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<TaxRate>> {
        let mut conn = self.conn()?;
        let mut q = tr::table
            .filter(tr::tenant_id.eq(tenant_id.as_str()))
            .select(RateRow::as_select())
            .into_boxed();
        if let Some(active) = filter.active {
            q = q.filter(tr::active.eq(active));
        }
        let found: Vec<RateRow> = newest_first!(q, tr::id, page, &mut *conn).map_err(internal)?;
        Ok(Page::from_rows(rows(found)?, page, |r: &TaxRate| {
            r.id.as_str()
        }))
    }

    fn archive(
        &self,
        tenant_id: &TenantId,
        id: &TaxRateId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Option<TaxRate>> {
        {
            let mut conn = self.conn()?;
            diesel::update(
                tr::table
                    .filter(tr::tenant_id.eq(tenant_id.as_str()))
                    .filter(tr::id.eq(id.as_str()))
                    .filter(tr::active.eq(true)),
            )
            .set((tr::active.eq(false), tr::archived_at.eq(Some(DbTime(now)))))
            .execute(&mut *conn)
            .map_err(internal)?;
        }
        self.get(tenant_id, id)
    }
}
