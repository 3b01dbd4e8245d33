//! Guest sessions (no customer): their own table, same life as customer sessions.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::guest_session::GuestSession;
use domain::portal_session::EndReason;
use domain::ports::GuestSessionRepo;
use domain::DomainResult;

use super::stored::{stored_id, Stored};
use super::{first_locked, internal};
use crate::prepared::Prepare;
use crate::schema::guest_sessions as gs;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = gs)]
struct GuestRow {
    id: String,
    tenant_id: String,
    return_url: Option<String>,
    created_at: DbTime,
    expires_at: DbTime,
    ended_at: Option<DbTime>,
    end_reason: Option<String>,
    created_by_key_id: String,
}

#[derive(Insertable)]
#[diesel(table_name = gs)]
struct NewGuestRow {
    #[diesel(embed)]
    session: GuestRow,
    login_code_hash: String,
    login_code_expires_at: DbTime,
}

impl GuestRow {
    fn from_domain(s: &GuestSession) -> Self {
        Self {
            id: s.id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            return_url: s.return_url.clone(),
            created_at: DbTime(s.created_at),
            expires_at: DbTime(s.expires_at),
            ended_at: s.ended_at.map(DbTime),
            end_reason: s.end_reason.map(|r| r.as_str().to_owned()),
            created_by_key_id: s.created_by_key_id.to_string(),
        }
    }

    fn into_domain(self) -> DomainResult<GuestSession> {
        let row = Stored {
            kind: "guest session",
            id: &self.id,
        };
        let end_reason = match &self.end_reason {
            Some(r) => Some(row.text("end_reason", r, EndReason::parse)?),
            None => None,
        };
        Ok(GuestSession {
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            return_url: self.return_url,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            ended_at: self.ended_at.map(|t| t.0),
            end_reason,
            created_by_key_id: stored_id(&self.created_by_key_id)?,
        })
    }
}

impl GuestSessionRepo for Store {
    fn tenant_of_code(&self, code_hash: &str) -> DomainResult<Option<domain::id::TenantId>> {
        let mut conn = self.conn()?;
        let tenant: Option<String> = gs::table
            .filter(gs::login_code_hash.eq(code_hash))
            .select(gs::tenant_id)
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        Ok(tenant.map(Into::into))
    }

    fn create(
        &self,
        session: &GuestSession,
        login_code_hash: &str,
        code_expires_at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(gs::table)
            .values(NewGuestRow {
                session: GuestRow::from_domain(session),
                login_code_hash: login_code_hash.to_owned(),
                login_code_expires_at: DbTime(code_expires_at),
            })
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn get(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::GuestSessionId,
    ) -> DomainResult<Option<GuestSession>> {
        let mut conn = self.conn()?;
        gs::table
            .filter(gs::tenant_id.eq(tenant_id.as_str()))
            .filter(gs::id.eq(id.as_str()))
            .select(GuestRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(GuestRow::into_domain)
            .transpose()
    }

    fn end(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::GuestSessionId,
        reason: EndReason,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<GuestSession>> {
        let mut conn = self.conn()?;
        let row = conn
            .write(|c| {
                let this = gs::table
                    .filter(gs::tenant_id.eq(tenant_id.as_str()))
                    .filter(gs::id.eq(id.as_str()));
                let Some(mut row) = first_locked!(c, this.select(GuestRow::as_select()))? else {
                    return Ok(None);
                };
                if row.end_reason.is_none() {
                    diesel::update(this)
                        .set((
                            gs::ended_at.eq(DbTime(now)),
                            gs::end_reason.eq(reason.as_str()),
                        ))
                        .prepared()
                        .execute(c)?;
                    row.ended_at = Some(DbTime(now));
                    row.end_reason = Some(reason.as_str().to_owned());
                }
                Ok::<_, diesel::result::Error>(Some(row))
            })
            .map_err(internal)?;
        row.map(GuestRow::into_domain).transpose()
    }

    fn redeem_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<GuestSession>> {
        let mut conn = self.conn()?;
        // A conditional update is the claim: of racing redemptions, one changes the row.
        let claimed = diesel::update(
            gs::table
                .filter(gs::login_code_hash.eq(code_hash))
                .filter(gs::login_code_used_at.is_null())
                .filter(gs::login_code_expires_at.gt(DbTime(now))),
        )
        .set(gs::login_code_used_at.eq(DbTime(now)))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)?;
        if claimed != 1 {
            return Ok(None);
        }
        let row = gs::table
            .filter(gs::login_code_hash.eq(code_hash))
            .select(GuestRow::as_select())
            .first(&mut *conn)
            .map_err(internal)?;
        Ok(Some(row.into_domain()?))
    }
}
