use diesel::prelude::*;
use domain::customer::CustomerChange;
use domain::customer::{Address, Customer, CustomerFilter, CustomerStatus, Metadata};
use domain::page::{Page, PageRequest};
use domain::ports::CustomerRepo;
use domain::services::customers::not_found;
use domain::tax::TaxExempt;
use domain::ErrorCode;
use domain::{DomainError, DomainResult};

use super::stored::stored_id;
use super::stored::{json, Stored};
use super::{first_locked, internal, lower, newest_first, scoped_search, TxError};
use crate::prepared::Prepare;
use crate::schema::customers;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
struct CustomerRow {
    id: String,
    tenant_id: String,
    external_id: Option<String>,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    timezone: String,
    locale: Option<String>,
    metadata: String,
    status: String,
    created_at: DbTime,
    updated_at: DbTime,
    archived_at: Option<DbTime>,
    test_clock_id: Option<String>,
    billing: String,
    auto_pay: bool,
    tax_exempt: String,
    tax_rate_ids: String,
}

impl CustomerRow {
    fn from_domain(c: &Customer) -> Self {
        Self {
            id: c.id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            address: c.address.as_ref().map(json),
            timezone: c.timezone.clone(),
            locale: c.locale.clone(),
            metadata: json(&c.metadata),
            status: c.status.as_str().to_owned(),
            created_at: DbTime(c.created_at),
            updated_at: DbTime(c.updated_at),
            archived_at: c.archived_at.map(DbTime),
            test_clock_id: c.test_clock_id.as_ref().map(|t| t.to_string()),
            billing: json(&c.billing),
            auto_pay: c.auto_pay,
            tax_exempt: c.tax_exempt.as_str().to_owned(),
            tax_rate_ids: json(&c.tax_rate_ids),
        }
    }

    fn into_domain(self) -> DomainResult<Customer> {
        let row = Stored {
            kind: "customer",
            id: &self.id,
        };
        let address = match &self.address {
            Some(text) => Some(row.json::<Address>("address", text)?),
            None => None,
        };
        let metadata: Metadata = row.json("metadata", &self.metadata)?;
        let status = row.text("status", &self.status, CustomerStatus::parse)?;
        Ok(Customer {
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            external_id: self.external_id,
            name: self.name,
            email: self.email,
            phone: self.phone,
            address,
            billing: row.json("billing", &self.billing)?,
            auto_pay: self.auto_pay,
            timezone: self.timezone,
            locale: self.locale,
            metadata,
            status,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            archived_at: self.archived_at.map(|t| t.0),
            test_clock_id: self.test_clock_id.as_deref().map(stored_id).transpose()?,
            tax_exempt: row.text("tax_exempt", &self.tax_exempt, TaxExempt::parse)?,
            tax_rate_ids: row.json("tax_rate_ids", &self.tax_rate_ids)?,
        })
    }
}

fn external_id_taken() -> DomainError {
    DomainError::Conflict {
        code: ErrorCode::ExternalIdTaken,
        message: "another customer already has this external_id".into(),
    }
}

impl CustomerRepo for Store {
    fn insert(&self, customer: &Customer) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(customers::table)
            .values(CustomerRow::from_domain(customer))
            .prepared()
            .execute(&mut conn)
            .map_err(|e| TxError::Db(e).into_domain(external_id_taken))?;
        Ok(())
    }

    fn get(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::CustomerId,
    ) -> DomainResult<Option<Customer>> {
        let mut conn = self.conn()?;
        customers::table
            .filter(customers::tenant_id.eq(tenant_id.as_str()))
            .filter(customers::id.eq(id.as_str()))
            .select(CustomerRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(CustomerRow::into_domain)
            .transpose()
    }

    fn lock(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::CustomerId,
    ) -> DomainResult<Option<Customer>> {
        let mut conn = self.conn()?;
        let this = customers::table
            .filter(customers::tenant_id.eq(tenant_id.as_str()))
            .filter(customers::id.eq(id.as_str()));
        first_locked!(&mut *conn, this.select(CustomerRow::as_select()))
            .map_err(internal)?
            .map(CustomerRow::into_domain)
            .transpose()
    }

    fn get_by_external_id(
        &self,
        tenant_id: &domain::id::TenantId,
        external_id: &str,
    ) -> DomainResult<Option<Customer>> {
        let mut conn = self.conn()?;
        customers::table
            .filter(customers::tenant_id.eq(tenant_id.as_str()))
            .filter(customers::external_id.eq(external_id))
            .select(CustomerRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(CustomerRow::into_domain)
            .transpose()
    }

    fn update(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::CustomerId,
        change: CustomerChange<'_>,
    ) -> DomainResult<Customer> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<Customer, TxError> {
            let this = customers::table
                .filter(customers::tenant_id.eq(tenant_id.as_str()))
                .filter(customers::id.eq(id.as_str()));
            let row = first_locked!(c, this.select(CustomerRow::as_select()))?;
            let mut customer = row.ok_or_else(not_found)?.into_domain()?;
            change(&mut customer)?;
            diesel::update(this)
                .set(CustomerRow::from_domain(&customer))
                .prepared()
                .execute(c)?;
            Ok(customer)
        })
        .map_err(|e| e.into_domain(external_id_taken))
    }

    fn list(
        &self,
        tenant_id: &domain::id::TenantId,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Customer>> {
        let mut conn = self.conn()?;
        let text = filter.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let search = match text {
            Some(t) => super::trigram_candidates(&mut conn, "customers", t).map_err(internal)?,
            None => None,
        };
        let all = customers::table
            .select(CustomerRow::as_select())
            .into_boxed();
        let account = domain::scope::Scope::account(tenant_id);
        let mut q = match search {
            Some(found) => scoped_search!(all.filter(found), "customers", &account),
            None => all.filter(customers::tenant_id.eq(tenant_id.as_str())),
        };
        if let Some(status) = filter.status {
            q = q.filter(customers::status.eq(status.as_str()));
        }
        if let Some(text) = text {
            q = q.filter(super::planned_for_its_values());
            let pattern = super::like_pattern(text);
            q = q.filter(
                lower(customers::name.nullable())
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(customers::email).like(pattern.clone()).escape('\\'))
                    .or(lower(customers::external_id).like(pattern).escape('\\')),
            );
        }
        if let Some(email) = &filter.email {
            q = q.filter(lower(customers::email).eq(email.trim().to_lowercase()));
        }
        if let Some(from) = filter.created_from {
            q = q.filter(customers::created_at.ge(DbTime(from)));
        }
        if let Some(to) = filter.created_to {
            q = q.filter(customers::created_at.lt(DbTime(to)));
        }
        let rows: Vec<CustomerRow> =
            newest_first!(q, customers::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(CustomerRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |c: &Customer| &c.id))
    }
}
