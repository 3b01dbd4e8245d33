//! Saved payment methods. Every query names the customer; the partial unique index
//! `payment_methods_one_default` keeps at most one default per customer.

use diesel::prelude::*;
use domain::customer::CustomerStatus;
use domain::id::PaymentMethodId;
use domain::page::{Page, PageRequest};
use domain::payment_method::MethodFilter;
use domain::payment_method::{Display, MethodStatus, MethodType, PaymentMethod};
use domain::ports::PaymentMethodRepo;
use domain::scope::CustomerScope;
use domain::DomainResult;

use super::stored::{stored_id, Stored};
use super::{first_locked, internal, newest_first};
use crate::prepared::Prepare;
use crate::schema::{customers as cu, payment_methods as pm};
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = pm, treat_none_as_null = true)]
struct MethodRow {
    id: String,
    tenant_id: String,
    customer_id: String,
    kind: String,
    provider: String,
    provider_reference: String,
    brand: Option<String>,
    last4: Option<String>,
    exp_month: Option<i32>,
    exp_year: Option<i32>,
    holder_name: Option<String>,
    bank_name: Option<String>,
    is_default: bool,
    status: String,
    created_at: DbTime,
    updated_at: DbTime,
    detached_at: Option<DbTime>,
}

impl MethodRow {
    fn from_domain(m: &PaymentMethod) -> Self {
        let d = &m.display;
        Self {
            id: m.id.to_string(),
            tenant_id: m.tenant_id.to_string(),
            customer_id: m.customer_id.to_string(),
            kind: m.kind.as_str().to_owned(),
            provider: m.provider.clone(),
            provider_reference: m.provider_reference.clone(),
            brand: d.brand.clone(),
            last4: d.last4.clone(),
            exp_month: d.exp_month.map(|v| v as i32),
            exp_year: d.exp_year,
            holder_name: d.holder_name.clone(),
            bank_name: d.bank_name.clone(),
            is_default: m.is_default,
            status: m.stored_status.as_str().to_owned(),
            created_at: DbTime(m.created_at),
            updated_at: DbTime(m.updated_at),
            detached_at: m.detached_at.map(DbTime),
        }
    }

    fn into_domain(self) -> DomainResult<PaymentMethod> {
        let row = Stored {
            kind: "payment method",
            id: &self.id,
        };
        Ok(PaymentMethod {
            kind: row.text("type", &self.kind, MethodType::parse)?,
            stored_status: row.text("status", &self.status, MethodStatus::parse)?,
            id: stored_id(&self.id)?,
            customer_id: stored_id(&self.customer_id)?,
            tenant_id: self.tenant_id.into(),
            provider: self.provider,
            provider_reference: self.provider_reference,
            display: Display {
                brand: self.brand,
                last4: self.last4,
                exp_month: self.exp_month.and_then(|v| u32::try_from(v).ok()),
                exp_year: self.exp_year,
                holder_name: self.holder_name,
                bank_name: self.bank_name,
            },
            is_default: self.is_default,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            detached_at: self.detached_at.map(|t| t.0),
        })
    }
}

/// The customer's methods.
macro_rules! of {
    ($owner:expr) => {
        pm::table
            .filter(pm::tenant_id.eq($owner.tenant_id.to_string()))
            .filter(pm::customer_id.eq($owner.customer_id.to_string()))
    };
}

impl PaymentMethodRepo for Store {
    fn lock_owner(&self, owner: &CustomerScope) -> DomainResult<Option<(CustomerStatus, bool)>> {
        let mut conn = self.conn()?;
        let this = cu::table
            .filter(cu::tenant_id.eq(owner.tenant_id.as_str()))
            .filter(cu::id.eq(owner.customer_id.as_str()))
            .select((cu::status, cu::auto_pay));
        let found: Option<(String, bool)> = first_locked!(&mut *conn, this).map_err(internal)?;
        let row = Stored {
            kind: "customer",
            id: &owner.customer_id,
        };
        found
            .map(|(s, auto_pay)| Ok((row.text("status", &s, CustomerStatus::parse)?, auto_pay)))
            .transpose()
    }

    fn insert(&self, method: &PaymentMethod) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(pm::table)
            .values(MethodRow::from_domain(method))
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn get(
        &self,
        owner: &CustomerScope,
        id: &PaymentMethodId,
    ) -> DomainResult<Option<PaymentMethod>> {
        let mut conn = self.conn()?;
        of!(owner)
            .filter(pm::id.eq(id.as_str()))
            .select(MethodRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(MethodRow::into_domain)
            .transpose()
    }

    fn update(&self, method: &PaymentMethod) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            pm::table
                .filter(pm::tenant_id.eq(method.tenant_id.as_str()))
                .filter(pm::id.eq(method.id.as_str())),
        )
        .set(MethodRow::from_domain(method))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)?;
        Ok(())
    }

    fn default_of(&self, owner: &CustomerScope) -> DomainResult<Option<PaymentMethod>> {
        let mut conn = self.conn()?;
        of!(owner)
            .filter(pm::is_default.eq(true))
            .select(MethodRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(MethodRow::into_domain)
            .transpose()
    }

    fn has_attached(&self, owner: &CustomerScope) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let one: Option<String> = of!(owner)
            .filter(pm::status.ne(MethodStatus::Detached.as_str()))
            .select(pm::id)
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        Ok(one.is_some())
    }

    fn list(
        &self,
        owner: &CustomerScope,
        filter: &MethodFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<PaymentMethod>> {
        let mut conn = self.conn()?;
        let mut q = of!(owner).select(MethodRow::as_select()).into_boxed();
        if !filter.include_detached {
            q = q.filter(pm::status.ne(MethodStatus::Detached.as_str()));
        }
        let rows: Vec<MethodRow> = newest_first!(q, pm::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(MethodRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |m: &PaymentMethod| {
            m.id.as_str()
        }))
    }
}
