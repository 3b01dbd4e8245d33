use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::idempotency::{decide, Begin, Decision, IdempotencyRecord, StoredResponse};
use domain::ports::IdempotencyRepo;
use domain::DomainResult;

use super::internal;
use crate::connection::{write_tx, DbConnection};
use crate::schema::idempotency_keys as ik;
use crate::sql_types::DbTime;
use crate::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ik)]
struct Row {
    tenant_id: String,
    key: String,
    fingerprint: String,
    created_at: DbTime,
    locked_at: DbTime,
    response_status: Option<i32>,
    response_body: Option<String>,
}

impl IdempotencyRepo for Store {
    fn begin(
        &self,
        tenant_id: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<Begin> {
        let mut conn = self.conn()?;
        let fresh = Row {
            tenant_id: tenant_id.to_owned(),
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            created_at: DbTime(now),
            locked_at: DbTime(now),
            response_status: None,
            response_body: None,
        };
        write_tx(&mut conn, |c| {
            // ON CONFLICT is not available through the MultiConnection backend; the statement is
            // the same on both, run on the concrete connection.
            let inserted = match c {
                DbConnection::Postgres(pg) => diesel::insert_into(ik::table)
                    .values(&fresh)
                    .on_conflict_do_nothing()
                    .execute(pg)?,
                DbConnection::Sqlite(sq) => diesel::insert_into(ik::table)
                    .values(&fresh)
                    .on_conflict_do_nothing()
                    .execute(sq)?,
            };
            if inserted == 1 {
                return Ok(Begin::Started);
            }
            let this = ik::table
                .filter(ik::tenant_id.eq(tenant_id))
                .filter(ik::key.eq(key));
            let row = match c {
                DbConnection::Postgres(pg) => {
                    this.select(Row::as_select()).for_update().first(pg)?
                }
                DbConnection::Sqlite(sq) => this.select(Row::as_select()).first(sq)?,
            };
            let record = IdempotencyRecord {
                fingerprint: row.fingerprint,
                created_at: row.created_at.0,
                locked_at: row.locked_at.0,
                response: row
                    .response_status
                    .zip(row.response_body)
                    .map(|(status, body)| StoredResponse {
                        status: status as u16,
                        body,
                    }),
            };
            match decide(&record, fingerprint, now) {
                Decision::Answer(answer) => Ok(answer),
                Decision::TakeOver => {
                    diesel::update(
                        ik::table
                            .filter(ik::tenant_id.eq(tenant_id))
                            .filter(ik::key.eq(key)),
                    )
                    .set((
                        ik::fingerprint.eq(fingerprint),
                        ik::created_at.eq(DbTime(now)),
                        ik::locked_at.eq(DbTime(now)),
                        ik::response_status.eq(None::<i32>),
                        ik::response_body.eq(None::<String>),
                    ))
                    .execute(c)?;
                    Ok(Begin::Started)
                }
            }
        })
        .map_err(internal)
    }

    fn complete(&self, tenant_id: &str, key: &str, response: &StoredResponse) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::update(
            ik::table
                .filter(ik::tenant_id.eq(tenant_id))
                .filter(ik::key.eq(key)),
        )
        .set((
            ik::response_status.eq(response.status as i32),
            ik::response_body.eq(&response.body),
        ))
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(())
    }

    fn release(&self, tenant_id: &str, key: &str) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::delete(
            ik::table
                .filter(ik::tenant_id.eq(tenant_id))
                .filter(ik::key.eq(key))
                .filter(ik::response_status.is_null()),
        )
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(())
    }

    fn purge(&self, before: DateTime<Utc>) -> DomainResult<usize> {
        let mut conn = self.conn()?;
        diesel::delete(ik::table.filter(ik::created_at.lt(DbTime(before))))
            .execute(&mut *conn)
            .map_err(internal)
    }
}
