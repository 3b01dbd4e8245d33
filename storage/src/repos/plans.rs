use diesel::prelude::*;
use domain::id::PlanId;
use domain::page::{Page, PageRequest};
use domain::plan::PlanFilter;
use domain::plan::{Interval, PastDueAction, Plan, PlanStatus, Visibility};
use domain::ports::PlanRepo;
use domain::{DomainError, DomainResult, ErrorCode};

use super::stored::{json, stored_id, Stored};
use super::{internal, newest_first, TxError};
use crate::schema::plans as pl;
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = pl, treat_none_as_null = true)]
pub(crate) struct PlanRow {
    id: String,
    tenant_id: String,
    code: String,
    name: String,
    description: Option<String>,
    currency: String,
    billing_interval: String,
    interval_count: i32,
    amount: DbDecimal,
    trial_days: i32,
    charges: String,
    entitlements: String,
    visibility: String,
    status: String,
    created_at: DbTime,
    updated_at: DbTime,
    past_due_action: String,
    tax_rate_ids: String,
    quantity_min: i32,
    quantity_max: Option<i32>,
    purchase: String,
    contact_url: Option<String>,
    license_keys: Option<String>,
}

impl PlanRow {
    fn from_domain(p: &Plan) -> Self {
        Self {
            id: p.id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            code: p.code.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            currency: p.currency.code().to_owned(),
            billing_interval: p.interval.as_str().to_owned(),
            // Bounded by check_interval and MAX_TRIAL_DAYS.
            interval_count: i32::try_from(p.interval_count).unwrap_or(i32::MAX),
            amount: DbDecimal(p.amount.clone()),
            trial_days: i32::try_from(p.trial_days).unwrap_or(i32::MAX),
            charges: json(&p.charges),
            entitlements: json(&p.entitlements),
            visibility: p.visibility.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            created_at: DbTime(p.created_at),
            updated_at: DbTime(p.updated_at),
            past_due_action: p.past_due_action.as_str().to_owned(),
            tax_rate_ids: json(&p.tax_rate_ids),
            // Bounded by plan::MAX_QUANTITY.
            quantity_min: i32::try_from(p.quantity.min).unwrap_or(i32::MAX),
            quantity_max: p.quantity.max.map(|m| i32::try_from(m).unwrap_or(i32::MAX)),
            purchase: p.purchase.as_str().to_owned(),
            contact_url: p.contact_url.clone(),
            license_keys: p.license_keys.as_ref().map(json),
        }
    }

    pub(crate) fn into_domain(self) -> DomainResult<Plan> {
        let row = Stored {
            kind: "plan",
            id: &self.id,
        };
        let count = |column: &str, v: i32| u32::try_from(v).map_err(|_| row.damaged(column));
        Ok(Plan {
            id: stored_id(&self.id)?,
            currency: row.currency(&self.currency)?,
            interval: row.text("billing_interval", &self.billing_interval, Interval::parse)?,
            interval_count: count("interval_count", self.interval_count)?,
            trial_days: count("trial_days", self.trial_days)?,
            charges: row.json("charges", &self.charges)?,
            entitlements: row.json("entitlements", &self.entitlements)?,
            visibility: row.text("visibility", &self.visibility, Visibility::parse)?,
            status: row.text("status", &self.status, PlanStatus::parse)?,
            past_due_action: row.text(
                "past_due_action",
                &self.past_due_action,
                PastDueAction::parse,
            )?,
            tax_rate_ids: row.json("tax_rate_ids", &self.tax_rate_ids)?,
            purchase: row.text("purchase", &self.purchase, domain::plan::Purchase::parse)?,
            contact_url: self.contact_url,
            license_keys: self
                .license_keys
                .as_deref()
                .map(|l| row.json("license_keys", l))
                .transpose()?,
            quantity: domain::plan::QuantityLimits {
                min: count("quantity_min", self.quantity_min)?,
                max: self
                    .quantity_max
                    .map(|m| count("quantity_max", m))
                    .transpose()?,
            },
            tenant_id: self.tenant_id.into(),
            code: self.code,
            name: self.name,
            description: self.description,
            amount: self.amount.0,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

fn code_taken() -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::PlanCodeTaken,
        message: "another plan already has this code".into(),
    }
}

impl PlanRepo for Store {
    fn insert(&self, plan: &Plan) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(pl::table)
            .values(PlanRow::from_domain(plan))
            .execute(&mut *conn)
            .map_err(|e| TxError::Db(e).into_domain(code_taken))?;
        Ok(())
    }

    fn get(&self, tenant_id: &domain::id::TenantId, id: &PlanId) -> DomainResult<Option<Plan>> {
        let mut conn = self.conn()?;
        pl::table
            .filter(pl::tenant_id.eq(tenant_id.as_str()))
            .filter(pl::id.eq(id.as_str()))
            .select(PlanRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(PlanRow::into_domain)
            .transpose()
    }

    fn get_many(
        &self,
        tenant_id: &domain::id::TenantId,
        ids: &[PlanId],
    ) -> DomainResult<Vec<Plan>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        pl::table
            .filter(pl::tenant_id.eq(tenant_id.as_str()))
            .filter(pl::id.eq_any(ids.iter().map(PlanId::as_str)))
            .select(PlanRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?
            .into_iter()
            .map(PlanRow::into_domain)
            .collect()
    }

    fn get_by_code(
        &self,
        tenant_id: &domain::id::TenantId,
        code: &str,
    ) -> DomainResult<Option<Plan>> {
        let mut conn = self.conn()?;
        pl::table
            .filter(pl::tenant_id.eq(tenant_id.as_str()))
            .filter(pl::code.eq(code))
            .select(PlanRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(PlanRow::into_domain)
            .transpose()
    }

    fn update(&self, plan: &Plan) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            pl::table
                .filter(pl::tenant_id.eq(plan.tenant_id.as_str()))
                .filter(pl::id.eq(plan.id.as_str())),
        )
        .set(PlanRow::from_domain(plan))
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(())
    }

    fn list(
        &self,
        tenant_id: &domain::id::TenantId,
        filter: &PlanFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Plan>> {
        let mut conn = self.conn()?;
        let mut q = pl::table
            .filter(pl::tenant_id.eq(tenant_id.as_str()))
            .select(PlanRow::as_select())
            .into_boxed();
        if let Some(s) = filter.status {
            q = q.filter(pl::status.eq(s.as_str()));
        }
        if let Some(v) = filter.visibility {
            q = q.filter(pl::visibility.eq(v.as_str()));
        }
        if !filter.currencies.is_empty() {
            let codes: Vec<&str> = filter.currencies.iter().map(|c| c.code()).collect();
            q = q.filter(pl::currency.eq_any(codes));
        }
        let rows: Vec<PlanRow> = newest_first!(q, pl::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(PlanRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |p: &Plan| p.id.as_str()))
    }
}
