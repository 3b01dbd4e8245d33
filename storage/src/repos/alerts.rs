//! Customers' alerts (`alerts`) and their triggers (`alert_triggers`, unique per alert and
//! period: what makes an alert fire once per crossing).

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::alert::{Alert, AlertOwner, AlertTrigger, AlertType};
use domain::id::{AlertId, CustomerId, TenantId};
use domain::money::Currency;
use domain::ports::AlertRepo;
use domain::scope::CustomerScope;
use domain::DomainResult;

use super::internal;
use super::stored::{stored_id, Stored};
use crate::connection::DbConnection;
use crate::schema::{alert_triggers as at, alerts as al, invoices as inv};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = al)]
struct AlertRow {
    id: String,
    tenant_id: String,
    customer_id: String,
    alert_type: String,
    feature_key: Option<String>,
    currency: Option<String>,
    threshold: DbDecimal,
    created_by: String,
    created_at: DbTime,
    triggered_at: Option<DbTime>,
}

impl AlertRow {
    fn from_domain(a: &Alert) -> Self {
        Self {
            id: a.id.to_string(),
            tenant_id: a.tenant_id.to_string(),
            customer_id: a.customer_id.to_string(),
            alert_type: a.alert_type.as_str().to_owned(),
            feature_key: a.feature_key.clone(),
            currency: a.currency.map(|c| c.code().to_owned()),
            threshold: DbDecimal(a.threshold.clone()),
            created_by: a.created_by.as_str().to_owned(),
            created_at: DbTime(a.created_at),
            triggered_at: a.triggered_at.map(DbTime),
        }
    }

    fn into_domain(self) -> DomainResult<Alert> {
        let stored = Stored {
            kind: "alert",
            id: &self.id,
        };
        Ok(Alert {
            alert_type: stored.text("alert_type", &self.alert_type, AlertType::parse)?,
            created_by: stored.text("created_by", &self.created_by, AlertOwner::parse)?,
            currency: self
                .currency
                .as_deref()
                .map(|c| stored.text("currency", c, |c| Currency::parse(c).ok()))
                .transpose()?,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            customer_id: stored_id(&self.customer_id)?,
            feature_key: self.feature_key,
            threshold: self.threshold.0.normalized(),
            created_at: self.created_at.0,
            triggered_at: self.triggered_at.map(|t| t.0),
        })
    }
}

fn rows(found: Vec<AlertRow>) -> DomainResult<Vec<Alert>> {
    found.into_iter().map(AlertRow::into_domain).collect()
}

impl AlertRepo for Store {
    fn insert(&self, alert: &Alert) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(al::table)
            .values(AlertRow::from_domain(alert))
            .execute(&mut *conn)
            .map_err(internal)?;
        Ok(())
    }

    fn of_customer(&self, customer: &CustomerScope) -> DomainResult<Vec<Alert>> {
        let mut conn = self.conn()?;
        let found: Vec<AlertRow> = al::table
            .filter(al::tenant_id.eq(customer.tenant_id.as_str()))
            .filter(al::customer_id.eq(customer.customer_id.as_str()))
            .order(al::id.asc())
            .select(AlertRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        rows(found)
    }

    fn delete(&self, customer: &CustomerScope, id: &AlertId) -> DomainResult<bool> {
        self.in_unit(|| {
            let mut conn = self.conn()?;
            let owned = al::table
                .filter(al::tenant_id.eq(customer.tenant_id.as_str()))
                .filter(al::customer_id.eq(customer.customer_id.as_str()))
                .filter(al::id.eq(id.as_str()));
            diesel::delete(
                at::table
                    .filter(at::tenant_id.eq(customer.tenant_id.as_str()))
                    .filter(at::alert_id.eq_any(owned.select(al::id))),
            )
            .execute(&mut *conn)
            .map_err(internal)?;
            let n = diesel::delete(owned)
                .execute(&mut *conn)
                .map_err(internal)?;
            Ok(n == 1)
        })
    }

    fn watching(
        &self,
        tenant_id: &TenantId,
        alert_type: AlertType,
        customers: &[CustomerId],
    ) -> DomainResult<Vec<Alert>> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let ids: Vec<&str> = customers.iter().map(CustomerId::as_str).collect();
        let found: Vec<AlertRow> = al::table
            .filter(al::tenant_id.eq(tenant_id.as_str()))
            .filter(al::customer_id.eq_any(&ids))
            .filter(al::alert_type.eq(alert_type.as_str()))
            .order(al::id.asc())
            .select(AlertRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        rows(found)
    }

    fn fire(&self, trigger: &AlertTrigger) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let a = &trigger.alert;
        let row = (
            at::tenant_id.eq(a.tenant_id.as_str()),
            at::alert_id.eq(a.id.as_str()),
            at::period.eq(&trigger.period),
            at::value.eq(DbDecimal(trigger.value.clone())),
            at::triggered_at.eq(DbTime(trigger.at)),
        );
        let insert = diesel::insert_into(at::table).values(row);
        // The unique (alert_id, period): a racing transaction that saw the same crossing waits
        // for this one and records nothing.
        let n = match &mut *conn {
            DbConnection::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg),
            DbConnection::Sqlite(sq) => insert.on_conflict_do_nothing().execute(sq),
        }
        .map_err(internal)?;
        if n == 1 {
            diesel::update(
                al::table
                    .filter(al::tenant_id.eq(a.tenant_id.as_str()))
                    .filter(al::id.eq(a.id.as_str())),
            )
            .set(al::triggered_at.eq(DbTime(trigger.at)))
            .execute(&mut *conn)
            .map_err(internal)?;
        }
        Ok(n == 1)
    }

    fn spend(
        &self,
        customer: &CustomerScope,
        currency: Currency,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> DomainResult<BigDecimal> {
        let mut conn = self.conn()?;
        // Summed in minor units (exact integers on both backends).
        let minor: Option<i64> = inv::table
            .filter(inv::tenant_id.eq(customer.tenant_id.as_str()))
            .filter(inv::customer_id.eq(customer.customer_id.as_str()))
            .filter(inv::currency.eq(currency.code()))
            .filter(inv::status.eq("finalized"))
            .filter(inv::issued_at.ge(DbTime(from)))
            .filter(inv::issued_at.lt(DbTime(to)))
            // PostgreSQL's SUM of BIGINT is NUMERIC: cast back, the same SQL on both.
            .select(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
            >("CAST(SUM(total_minor) AS BIGINT)"))
            .first::<Option<i64>>(&mut *conn)
            .map_err(internal)?;
        Ok(BigDecimal::new(
            minor.unwrap_or(0).into(),
            i64::from(currency.minor_units()),
        ))
    }
}
