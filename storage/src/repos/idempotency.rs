//! `Idempotency-Key` records. The claim, the request's effects and its answer share one unit of
//! work (see `Store::in_unit`), so they commit together or not at all.

use chrono::{DateTime, Utc};
use diesel::connection::{Connection, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use domain::idempotency::{
    decide, lock_id, Answer, Claim, Decision, IdempotencyRecord, Once, StoredResponse,
};
use domain::ports::IdempotencyRepo;
use domain::DomainResult;

use super::internal;
use crate::connection::DbConnection;
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

diesel::define_sql_function! {
    /// Takes a transaction-scoped advisory lock if no one holds it; released at commit, rollback
    /// or when the session ends (a killed process included).
    fn pg_try_advisory_xact_lock(key: BigInt) -> Bool;
}

type Tm = <DbConnection as Connection>::TransactionManager;

impl IdempotencyRepo for Store {
    fn run_once(
        &self,
        claim: &Claim,
        work: &mut dyn FnMut() -> DomainResult<Answer>,
    ) -> DomainResult<Once> {
        self.in_unit(|| {
            if let Some(answer) = self.claim(claim)? {
                return Ok(answer);
            }
            // The work runs in a savepoint, so a refusal can undo what it wrote and keep the claim.
            Tm::begin_transaction(&mut *self.conn()?).map_err(internal)?;
            let answer = match work() {
                Ok(answer) => answer,
                Err(e) => {
                    let _ = Tm::rollback_transaction(&mut *self.conn()?);
                    return Err(e);
                }
            };
            let mut conn = self.conn()?;
            let response = match answer {
                Answer::Commit(r) => {
                    Tm::commit_transaction(&mut *conn).map_err(internal)?;
                    r
                }
                Answer::Refuse(r) => {
                    Tm::rollback_transaction(&mut *conn).map_err(internal)?;
                    r
                }
            };
            diesel::update(
                ik::table
                    .filter(ik::tenant_id.eq(claim.tenant_id.as_str()))
                    .filter(ik::key.eq(&claim.key)),
            )
            .set((
                ik::response_status.eq(response.status as i32),
                ik::response_body.eq(&response.body),
            ))
            .execute(&mut *conn)
            .map_err(internal)?;
            Ok(Once::Ran(response))
        })
    }

    fn purge(&self, before: DateTime<Utc>) -> DomainResult<usize> {
        let mut conn = self.conn()?;
        diesel::delete(ik::table.filter(ik::created_at.lt(DbTime(before))))
            .execute(&mut *conn)
            .map_err(internal)
    }
}

impl Store {
    /// Inside the unit: makes the key this request's, or returns the answer for a request that
    /// must not run.
    fn claim(&self, claim: &Claim) -> DomainResult<Option<Once>> {
        let mut conn = self.conn()?;
        let fresh = Row {
            tenant_id: claim.tenant_id.to_string(),
            key: claim.key.clone(),
            fingerprint: claim.fingerprint.clone(),
            created_at: DbTime(claim.now),
            locked_at: DbTime(claim.now),
            response_status: None,
            response_body: None,
        };
        // ON CONFLICT is not available through the MultiConnection backend; the statement is the
        // same on both, run on the concrete connection.
        let inserted = match &mut *conn {
            DbConnection::Postgres(pg) => {
                // A request holding this key has not committed yet: say so now rather than
                // queue behind it. (SQLite runs one writer at a time; its unit already waited.)
                let free = diesel::select(pg_try_advisory_xact_lock(lock_id(
                    &claim.tenant_id,
                    &claim.key,
                )))
                .get_result::<bool>(pg)
                .map_err(internal)?;
                if !free {
                    return Ok(Some(Once::InProgress));
                }
                diesel::insert_into(ik::table)
                    .values(&fresh)
                    .on_conflict_do_nothing()
                    .execute(pg)
            }
            DbConnection::Sqlite(sq) => diesel::insert_into(ik::table)
                .values(&fresh)
                .on_conflict_do_nothing()
                .execute(sq),
        }
        .map_err(internal)?;
        if inserted == 1 {
            return Ok(None);
        }
        let this = ik::table
            .filter(ik::tenant_id.eq(claim.tenant_id.as_str()))
            .filter(ik::key.eq(&claim.key));
        let row = this
            .select(Row::as_select())
            .first(&mut *conn)
            .map_err(internal)?;
        let record = IdempotencyRecord {
            fingerprint: row.fingerprint,
            created_at: row.created_at.0,
            response: row
                .response_status
                .zip(row.response_body)
                .map(|(status, body)| StoredResponse {
                    status: status as u16,
                    body,
                }),
        };
        match decide(&record, &claim.fingerprint, claim.now) {
            Decision::Answer(answer) => Ok(Some(answer)),
            Decision::TakeOver => {
                diesel::update(this)
                    .set((
                        ik::fingerprint.eq(&claim.fingerprint),
                        ik::created_at.eq(DbTime(claim.now)),
                        ik::locked_at.eq(DbTime(claim.now)),
                        ik::response_status.eq(None::<i32>),
                        ik::response_body.eq(None::<String>),
                    ))
                    .execute(&mut *conn)
                    .map_err(internal)?;
                Ok(None)
            }
        }
    }
}
