use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::customer::CustomerStatus;
use domain::page::{Page, PageRequest};
use domain::portal_session::{EndReason, PortalSession, SessionMode};
use domain::ports::PortalSessionRepo;
use domain::DomainResult;

use super::stored::stored_id;
use super::stored::{json, Stored};
use super::{first_locked, internal, newest_first};
use crate::connection::DbConnection;
use crate::prepared::Prepare;
use crate::schema::{customers, portal_sessions as ps};
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ps)]
struct SessionRow {
    id: String,
    tenant_id: String,
    customer_id: String,
    mode: String,
    return_url: Option<String>,
    sections: String,
    permissions: String,
    created_at: DbTime,
    expires_at: DbTime,
    idle_timeout_seconds: Option<i64>,
    last_seen_at: DbTime,
    ended_at: Option<DbTime>,
    end_reason: Option<String>,
    created_by_key_id: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = ps)]
struct NewSessionRow {
    #[diesel(embed)]
    session: SessionRow,
    login_code_hash: String,
    login_code_expires_at: DbTime,
}

impl SessionRow {
    fn from_domain(s: &PortalSession) -> Self {
        Self {
            id: s.id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            customer_id: s.customer_id.to_string(),
            mode: s.mode.as_str().to_owned(),
            return_url: s.return_url.clone(),
            sections: json(&s.sections),
            permissions: json(&s.permissions),
            created_at: DbTime(s.created_at),
            expires_at: DbTime(s.expires_at),
            idle_timeout_seconds: s.idle_timeout_seconds,
            last_seen_at: DbTime(s.last_seen_at),
            ended_at: s.ended_at.map(DbTime),
            end_reason: s.end_reason.map(|r| r.as_str().to_owned()),
            created_by_key_id: s.created_by_key_id.as_ref().map(ToString::to_string),
        }
    }

    fn into_domain(self) -> DomainResult<PortalSession> {
        let row = Stored {
            kind: "portal session",
            id: &self.id,
        };
        let mode = row.text("mode", &self.mode, SessionMode::parse)?;
        let sections = row.json("sections", &self.sections)?;
        let permissions = row.json("permissions", &self.permissions)?;
        let end_reason = match &self.end_reason {
            Some(r) => Some(row.text("end_reason", r, EndReason::parse)?),
            None => None,
        };
        Ok(PortalSession {
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            customer_id: stored_id(&self.customer_id)?,
            mode,
            return_url: self.return_url,
            sections,
            permissions,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            idle_timeout_seconds: self.idle_timeout_seconds,
            last_seen_at: self.last_seen_at.0,
            ended_at: self.ended_at.map(|t| t.0),
            end_reason,
            created_by_key_id: self
                .created_by_key_id
                .as_deref()
                .map(stored_id)
                .transpose()?,
        })
    }
}

fn load(
    conn: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    id: &str,
    lock: bool,
) -> QueryResult<Option<SessionRow>> {
    let this = ps::table
        .filter(ps::tenant_id.eq(tenant_id.as_str()))
        .filter(ps::id.eq(id));
    if lock {
        first_locked!(conn, this.select(SessionRow::as_select()))
    } else {
        this.select(SessionRow::as_select()).first(conn).optional()
    }
}

impl PortalSessionRepo for Store {
    fn tenant_of_code(&self, code_hash: &str) -> DomainResult<Option<domain::id::TenantId>> {
        let mut conn = self.conn()?;
        let tenant: Option<String> = ps::table
            .filter(ps::login_code_hash.eq(code_hash))
            .select(ps::tenant_id)
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        Ok(tenant.map(Into::into))
    }

    fn create(
        &self,
        session: &PortalSession,
        login_code_hash: &str,
        code_expires_at: DateTime<Utc>,
        supersede: bool,
    ) -> DomainResult<()> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            if let DbConnection::Postgres(pg) = c {
                // One creation at a time per customer, so "supersede the others" cannot leave two
                // open sessions when two creations race (SQLite's BEGIN IMMEDIATE already does).
                customers::table
                    .filter(customers::tenant_id.eq(session.tenant_id.as_str()))
                    .filter(customers::id.eq(session.customer_id.as_str()))
                    .select(customers::id)
                    .for_update()
                    .first::<String>(pg)?;
            }
            if supersede {
                diesel::update(
                    ps::table
                        .filter(ps::tenant_id.eq(session.tenant_id.as_str()))
                        .filter(ps::customer_id.eq(session.customer_id.as_str()))
                        .filter(ps::ended_at.is_null()),
                )
                .set((
                    ps::ended_at.eq(DbTime(session.created_at)),
                    ps::end_reason.eq(EndReason::Superseded.as_str()),
                ))
                .prepared()
                .execute(c)?;
            }
            diesel::insert_into(ps::table)
                .values(NewSessionRow {
                    session: SessionRow::from_domain(session),
                    login_code_hash: login_code_hash.to_owned(),
                    login_code_expires_at: DbTime(code_expires_at),
                })
                .prepared()
                .execute(c)?;
            Ok(())
        })
        .map_err(internal)
    }

    fn get(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::PortalSessionId,
    ) -> DomainResult<Option<(PortalSession, CustomerStatus)>> {
        let mut conn = self.conn()?;
        let row: Option<(SessionRow, String)> = ps::table
            .inner_join(customers::table)
            .filter(ps::tenant_id.eq(tenant_id.as_str()))
            .filter(ps::id.eq(id.as_str()))
            .select((SessionRow::as_select(), customers::status))
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        row.map(|(s, status)| {
            let status = Stored {
                kind: "customer of portal session",
                id: &s.id,
            }
            .text("status", &status, CustomerStatus::parse)?;
            Ok((s.into_domain()?, status))
        })
        .transpose()
    }

    fn list_open(
        &self,
        tenant_id: &domain::id::TenantId,
        customer_id: &domain::id::CustomerId,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> DomainResult<Page<PortalSession>> {
        let mut conn = self.conn()?;
        let q = ps::table
            .filter(ps::tenant_id.eq(tenant_id.as_str()))
            .filter(ps::customer_id.eq(customer_id.as_str()))
            .filter(ps::ended_at.is_null())
            .filter(ps::expires_at.gt(DbTime(now)))
            .select(SessionRow::as_select())
            .into_boxed();
        let rows: Vec<SessionRow> = newest_first!(q, ps::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(SessionRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        let mut open = Page::from_rows(items, page, |s: &PortalSession| &s.id);
        // Idle-expired sessions are not open either (the idle rule lives in the domain); the
        // cursor still advances past them.
        open.items.retain(|s| s.is_active(now));
        Ok(open)
    }

    fn end(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::PortalSessionId,
        reason: EndReason,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<PortalSession>> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let Some(row) = load(c, tenant_id, id, true)? else {
                return Ok(None);
            };
            let mut session = row
                .into_domain()
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
            if session.end_reason.is_none() {
                diesel::update(
                    ps::table
                        .filter(ps::tenant_id.eq(tenant_id.as_str()))
                        .filter(ps::id.eq(id.as_str())),
                )
                .set((
                    ps::ended_at.eq(DbTime(now)),
                    ps::end_reason.eq(reason.as_str()),
                ))
                .prepared()
                .execute(c)?;
                session.ended_at = Some(now);
                session.end_reason = Some(reason);
            }
            Ok(Some(session))
        })
        .map_err(internal)
    }

    fn redeem_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<PortalSession>> {
        let mut conn = self.conn()?;
        // A conditional update is the claim: of racing redemptions, one changes the row.
        let claimed = diesel::update(
            ps::table
                .filter(ps::login_code_hash.eq(code_hash))
                .filter(ps::login_code_used_at.is_null())
                .filter(ps::login_code_expires_at.gt(DbTime(now))),
        )
        .set(ps::login_code_used_at.eq(DbTime(now)))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)?;
        if claimed != 1 {
            return Ok(None);
        }
        let row = ps::table
            .filter(ps::login_code_hash.eq(code_hash))
            .select(SessionRow::as_select())
            .first(&mut *conn)
            .map_err(internal)?;
        Ok(Some(row.into_domain()?))
    }

    fn touch(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::PortalSessionId,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            ps::table
                .filter(ps::tenant_id.eq(tenant_id.as_str()))
                .filter(ps::id.eq(id.as_str()))
                .filter(ps::last_seen_at.lt(DbTime(now))),
        )
        .set(ps::last_seen_at.eq(DbTime(now)))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)?;
        Ok(())
    }
}
