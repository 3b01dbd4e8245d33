use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Nullable;
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
        // Each count and minimum reads the partial index its worker claims from.
        let oldest = |column: &str| sql::<Nullable<UtcTimestamp>>(&format!("MIN({column})"));
        let billing = su::table
            .filter(su::due_at.le(DbTime(now)))
            .filter(su::test_clock_id.is_null());
        let events = we::table.filter(we::dispatched.eq(false));
        let deliveries = wd::table.filter(wd::status.eq("pending"));
        let emails = em::table.filter(em::status.eq("queued"));
        let queues: [(&'static str, i64, Option<DbTime>); 4] = [
            (
                BILLING,
                billing.count().get_result(c).map_err(internal)?,
                billing
                    .select(oldest("due_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
            (
                WEBHOOK_EVENTS,
                events.count().get_result(c).map_err(internal)?,
                events
                    .select(oldest("created_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
            (
                WEBHOOK_DELIVERIES,
                deliveries.count().get_result(c).map_err(internal)?,
                deliveries
                    .select(oldest("created_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
            (
                EMAILS,
                emails.count().get_result(c).map_err(internal)?,
                emails
                    .select(oldest("created_at"))
                    .first(c)
                    .map_err(internal)?,
            ),
        ];
        Ok(queues
            .into_iter()
            .map(|(queue, pending, oldest)| Backlog {
                queue,
                pending,
                oldest: oldest.map(|t| t.0),
            })
            .collect())
    }
}
