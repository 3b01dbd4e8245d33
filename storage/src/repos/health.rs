use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use domain::health::{Backlog, BILLING, EMAILS, WEBHOOK_DELIVERIES, WEBHOOK_EVENTS};
use domain::ports::HealthCheck;
use domain::DomainResult;

use super::internal;
use crate::schema::{
    emails as em, subscriptions as su, webhook_deliveries as wd, webhook_events as we,
};
use crate::sql_types::{DbTime, UtcTimestamp};
use crate::Store;

impl HealthCheck for Store {
    fn ping(&self) -> DomainResult<()> {
        self.conn()?
            .batch_execute("SELECT 1")
            .map_err(super::internal)
    }

    fn backlogs(&self, now: DateTime<Utc>) -> DomainResult<Vec<Backlog>> {
        let mut conn = self.conn()?;
        let c = &mut *conn;
        // One count and minimum per queue, each over the partial index its worker claims from.
        let waiting = |column: &str| {
            sql::<(BigInt, Nullable<UtcTimestamp>)>(&format!("COUNT(*), MIN({column})"))
        };
        let queues: [(&'static str, (i64, Option<DbTime>)); 4] = [
            (
                BILLING,
                su::table
                    .filter(su::due_at.le(DbTime(now)))
                    .filter(su::test_clock_id.is_null())
                    .select(waiting("due_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
            (
                WEBHOOK_EVENTS,
                we::table
                    .filter(we::dispatched.eq(false))
                    .select(waiting("created_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
            (
                WEBHOOK_DELIVERIES,
                wd::table
                    .filter(wd::status.eq("pending"))
                    .select(waiting("created_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
            (
                EMAILS,
                em::table
                    .filter(em::status.eq("queued"))
                    .select(waiting("created_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
        ];
        Ok(queues
            .into_iter()
            .map(|(queue, (pending, oldest))| Backlog {
                queue,
                pending,
                oldest: oldest.map(|t| t.0),
            })
            .collect())
    }
}
