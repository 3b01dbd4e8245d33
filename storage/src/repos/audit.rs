use diesel::prelude::*;
use domain::audit::{AuditEvent, AuditFilter};
use domain::page::{Page, PageRequest};
use domain::ports::AuditRepo;
use domain::DomainResult;

use super::stored::Stored;
use super::{internal, newest_first};
use crate::prepared::Prepare;
use crate::schema::audit_events as ae;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ae)]
struct AuditRow {
    id: String,
    tenant_id: String,
    occurred_at: DbTime,
    action: String,
    actor: String,
    customer_id: Option<String>,
    session_id: Option<String>,
    details: String,
}

impl AuditRepo for Store {
    fn record(&self, e: &AuditEvent) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(ae::table)
            .values(AuditRow {
                id: e.id.clone(),
                tenant_id: e.tenant_id.to_string(),
                occurred_at: DbTime(e.occurred_at),
                action: e.action.clone(),
                actor: e.actor.clone(),
                customer_id: e.customer_id.clone(),
                session_id: e.session_id.clone(),
                details: serde_json::Value::Object(e.details.clone()).to_string(),
            })
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn list(
        &self,
        tenant_id: &domain::id::TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<AuditEvent>> {
        let mut conn = self.conn()?;
        let mut q = ae::table
            .filter(ae::tenant_id.eq(tenant_id.as_str()))
            .select(AuditRow::as_select())
            .into_boxed();
        if let Some(c) = &filter.customer_id {
            q = q.filter(ae::customer_id.eq(c.clone()));
        }
        if let Some(a) = &filter.action {
            q = q.filter(ae::action.eq(a.clone()));
        }
        if let Some(from) = filter.from {
            q = q.filter(ae::occurred_at.ge(DbTime(from)));
        }
        if let Some(to) = filter.to {
            q = q.filter(ae::occurred_at.lt(DbTime(to)));
        }
        let rows: Vec<AuditRow> = newest_first!(q, ae::id, page, &mut *conn).map_err(internal)?;
        let events = rows
            .into_iter()
            .map(|r| {
                let details = Stored {
                    kind: "audit event",
                    id: &r.id,
                }
                .object("details", &r.details)?;
                Ok(AuditEvent {
                    id: r.id,
                    tenant_id: r.tenant_id.into(),
                    occurred_at: r.occurred_at.0,
                    action: r.action,
                    actor: r.actor,
                    customer_id: r.customer_id,
                    session_id: r.session_id,
                    details,
                })
            })
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(events, page, |e: &AuditEvent| &e.id))
    }
}
