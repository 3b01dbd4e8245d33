//! The e-mail outbox (`emails`).

use diesel::prelude::*;
use domain::email::{Email, EmailFilter, EmailKind, EmailStatus};
use domain::id::{EmailId, TenantId};
use domain::page::{Page, PageRequest};
use domain::ports::EmailRepo;
use domain::DomainResult;

use super::stored::{stored_id, Stored};
use super::{internal, newest_first};
use crate::connection::DbConnection;
use crate::schema::emails as em;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = em, treat_none_as_null = true)]
struct EmailRow {
    id: String,
    tenant_id: String,
    customer_id: Option<String>,
    kind: String,
    recipient: String,
    subject: String,
    source: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: DbTime,
    created_at: DbTime,
    updated_at: DbTime,
    sent_at: Option<DbTime>,
    content: String,
}

impl EmailRow {
    fn from_domain(e: &Email) -> Self {
        Self {
            id: e.id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            customer_id: e.customer_id.as_ref().map(ToString::to_string),
            kind: e.kind.as_str().to_owned(),
            recipient: e.recipient.clone(),
            subject: e.subject.clone(),
            source: e.source.clone(),
            status: e.status.as_str().to_owned(),
            attempts: e.attempts,
            last_error: e.last_error.clone(),
            next_attempt_at: DbTime(e.next_attempt_at),
            created_at: DbTime(e.created_at),
            updated_at: DbTime(e.updated_at),
            sent_at: e.sent_at.map(DbTime),
            content: e.content.clone(),
        }
    }

    fn into_domain(self) -> DomainResult<Email> {
        let stored = Stored {
            kind: "email",
            id: &self.id,
        };
        Ok(Email {
            kind: stored.text("kind", &self.kind, EmailKind::parse)?,
            status: stored.text("status", &self.status, EmailStatus::parse)?,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            customer_id: self.customer_id.as_deref().map(stored_id).transpose()?,
            recipient: self.recipient,
            subject: self.subject,
            source: self.source,
            attempts: self.attempts,
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at.0,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            sent_at: self.sent_at.map(|t| t.0),
            content: self.content,
        })
    }
}

fn rows(found: Vec<EmailRow>) -> DomainResult<Vec<Email>> {
    found.into_iter().map(EmailRow::into_domain).collect()
}

/// Matches the partial index `emails_due`.
fn queued_literal() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("status = 'queued'")
}

impl EmailRepo for Store {
    fn insert(&self, email: &Email) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let row = EmailRow::from_domain(email);
        let insert = diesel::insert_into(em::table).values(&row);
        // The unique (tenant_id, source, recipient) keeps a message from being recorded twice.
        let n = match &mut *conn {
            DbConnection::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg),
            DbConnection::Sqlite(sq) => insert.on_conflict_do_nothing().execute(sq),
        }
        .map_err(internal)?;
        Ok(n == 1)
    }

    fn get(&self, tenant_id: &TenantId, id: &EmailId) -> DomainResult<Option<Email>> {
        let mut conn = self.conn()?;
        em::table
            .filter(em::tenant_id.eq(tenant_id.as_str()))
            .filter(em::id.eq(id.as_str()))
            .select(EmailRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(EmailRow::into_domain)
            .transpose()
    }

    fn lock(&self, tenant_id: &TenantId, id: &EmailId) -> DomainResult<Option<Email>> {
        let mut conn = self.conn()?;
        let row: Option<EmailRow> = super::first_locked!(
            &mut *conn,
            em::table
                .filter(em::tenant_id.eq(tenant_id.as_str()))
                .filter(em::id.eq(id.as_str()))
                .select(EmailRow::as_select())
        )
        .map_err(internal)?;
        row.map(EmailRow::into_domain).transpose()
    }

    fn list(
        &self,
        tenant_id: &TenantId,
        filter: &EmailFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Email>> {
        let mut conn = self.conn()?;
        let mut q = em::table
            .filter(em::tenant_id.eq(tenant_id.as_str()))
            .select(EmailRow::as_select())
            .into_boxed();
        if let Some(c) = &filter.customer_id {
            q = q.filter(em::customer_id.eq(c.as_str()));
        }
        if let Some(s) = filter.status {
            q = q.filter(em::status.eq(s.as_str()));
        }
        if let Some(k) = filter.kind {
            q = q.filter(em::kind.eq(k.as_str()));
        }
        let found: Vec<EmailRow> = newest_first!(q, em::id, page, &mut *conn).map_err(internal)?;
        Ok(Page::from_rows(rows(found)?, page, |e: &Email| {
            e.id.as_str()
        }))
    }

    fn accounts_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> DomainResult<Vec<domain::id::TenantId>> {
        let mut conn = self.conn()?;
        let due = em::table
            .filter(queued_literal())
            .filter(em::next_attempt_at.le(DbTime(now)));
        super::accounts_with_work!(
            &mut *conn,
            due,
            em::tenant_id,
            "emails.next_attempt_at",
            limit
        )
    }

    fn claim_due(
        &self,
        tenant_id: &domain::id::TenantId,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> DomainResult<Vec<Email>> {
        self.in_unit(|| {
            let mut conn = self.conn()?;
            macro_rules! due {
                () => {
                    em::table
                        .filter(em::tenant_id.eq(tenant_id.as_str()))
                        .filter(queued_literal())
                        .filter(em::next_attempt_at.le(DbTime(now)))
                        .order(em::next_attempt_at.asc())
                        .limit(limit)
                        .select(EmailRow::as_select())
                };
            }
            // PostgreSQL skips rows another node holds; SQLite has one writer at a time.
            let found: Vec<EmailRow> = match &mut *conn {
                DbConnection::Postgres(pg) => due!().for_update().skip_locked().load(pg),
                DbConnection::Sqlite(sq) => due!().load(sq),
            }
            .map_err(internal)?;
            if found.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<&String> = found.iter().map(|r| &r.id).collect();
            let claimed = em::table
                .filter(em::tenant_id.eq(tenant_id.as_str()))
                .filter(em::id.eq_any(&ids));
            diesel::update(claimed)
                .set((
                    em::attempts.eq(em::attempts + 1),
                    em::next_attempt_at.eq(DbTime(lease_until)),
                    em::updated_at.eq(DbTime(now)),
                ))
                .execute(&mut *conn)
                .map_err(internal)?;
            let mut claimed = rows(found)?;
            for e in &mut claimed {
                e.attempts += 1;
                e.next_attempt_at = lease_until;
            }
            Ok(claimed)
        })
    }

    fn save(&self, email: &Email) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            em::table
                .filter(em::tenant_id.eq(email.tenant_id.as_str()))
                .filter(em::id.eq(email.id.as_str())),
        )
        .set(EmailRow::from_domain(email))
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(())
    }
}
