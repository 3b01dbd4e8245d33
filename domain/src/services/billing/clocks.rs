//! Test clocks (see [`crate::test_clock`]): created, read, advanced in the background by the
//! billing workers in bounded batches.

use super::*;

/// How long a worker holds a test clock it advances: far more than one batch takes, so
/// another worker takes over only after a crash.
const CLOCK_LEASE: Duration = Duration::seconds(60);

impl BillingService {
    pub fn create_clock(
        &self,
        tenant_id: &crate::id::TenantId,
        name: Option<String>,
        frozen_time: DateTime<Utc>,
    ) -> DomainResult<TestClock> {
        let now = clock::now();
        let c = TestClock {
            id: TestClockId::new(),
            tenant_id: tenant_id.clone(),
            name,
            frozen_time: clock::to_micros(frozen_time),
            created_at: now,
            updated_at: now,
            status: ClockStatus::Ready,
            advancing_to: None,
            lease_until: None,
        };
        self.clocks.insert(&c)?;
        Ok(c)
    }

    pub fn clock(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &TestClockId,
    ) -> DomainResult<TestClock> {
        self.clocks
            .get(tenant_id, id)?
            .ok_or_else(TestClockId::not_found)
    }

    pub fn clocks(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<TestClock>> {
        self.clocks.list(tenant_id, page)
    }

    /// Starts moving the clock to `to` (see [`crate::test_clock`]): the clock is `advancing`
    /// until the billing workers have run everything due up to `to`. Refused while it is
    /// advancing already (409 `test_clock_advancing`) and past the bound of one advance.
    pub fn advance(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &TestClockId,
        to: DateTime<Utc>,
    ) -> DomainResult<TestClock> {
        let to = clock::to_micros(to);
        let current = self.clock(tenant_id, id)?;
        if to <= current.frozen_time {
            return Err(DomainError::validation(
                "to",
                "must be later than the clock's frozen_time",
            ));
        }
        let limit = self.advance_limit(&current)?;
        if to > limit {
            return Err(DomainError::validation(
                "to",
                format!(
                    "a clock moves at most {MAX_ADVANCE_INTERVALS} intervals of its shortest \
                     running subscription ({MAX_ADVANCE_YEARS} years with none) at a time: \
                     at most {} from {}",
                    limit.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    current
                        .frozen_time
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ));
        }
        let mut started = None;
        self.units.run(&mut || {
            let mut c = self
                .clocks
                .lock(tenant_id, id)?
                .ok_or_else(TestClockId::not_found)?;
            if c.status == ClockStatus::Advancing {
                return Err(DomainError::Conflict {
                    code: ErrorCode::TestClockAdvancing,
                    message: "the clock is advancing: wait until its status is ready".into(),
                });
            }
            if to <= c.frozen_time {
                return Err(DomainError::validation(
                    "to",
                    "must be later than the clock's frozen_time",
                ));
            }
            c.status = ClockStatus::Advancing;
            c.advancing_to = Some(to);
            c.lease_until = None;
            c.updated_at = clock::now();
            self.clocks.update(&c)?;
            started = Some(c);
            Ok(())
        })?;
        Ok(started.expect("set when the unit succeeds"))
    }

    /// The latest time one advance may reach from the clock's frozen time.
    pub(super) fn advance_limit(&self, c: &TestClock) -> DomainResult<DateTime<Utc>> {
        let intervals = self.subscriptions.clock_intervals(&c.tenant_id, &c.id)?;
        let from = c.frozen_time;
        Ok(intervals
            .into_iter()
            .map(|(unit, count)| {
                crate::plan::boundary(from, unit, count, MAX_ADVANCE_INTERVALS, chrono_tz::UTC)
            })
            .min()
            .unwrap_or_else(|| {
                crate::plan::boundary(
                    from,
                    crate::plan::Interval::Year,
                    MAX_ADVANCE_YEARS,
                    1,
                    chrono_tz::UTC,
                )
            }))
    }

    /// One batch of a worker's clock work: takes one advancing clock no other worker holds
    /// (leased for [`CLOCK_LEASE`]), runs up to `budget` steps due up to its target, in time
    /// order, and moves its `frozen_time` to where that got; at the target it is `ready`.
    /// Returns how many steps ran, `None` when no clock was waiting.
    pub fn advance_clocks(&self, budget: usize) -> DomainResult<Option<usize>> {
        let now = clock::now();
        for waiting in self.clocks.advancing(now, 8)? {
            let Some(c) = self.lease_clock(&waiting, now)? else {
                continue;
            };
            let to = c.advancing_to.expect("an advancing clock has a target");
            let done = self.drain(
                &c.tenant_id,
                Some(&c.id),
                to,
                RunSource::TestClock,
                Some(budget),
            )?;
            self.units.run(&mut || {
                let mut held = self
                    .clocks
                    .lock(&c.tenant_id, &c.id)?
                    .ok_or_else(TestClockId::not_found)?;
                if held.status != ClockStatus::Advancing || held.advancing_to != Some(to) {
                    return Ok(());
                }
                if done.more {
                    // The clock shows how far billing got; the lease runs on for the next batch.
                    if let Some(reached) = done.reached.filter(|r| *r > held.frozen_time) {
                        held.frozen_time = reached;
                    }
                    held.lease_until = None;
                } else {
                    held.frozen_time = to;
                    held.status = ClockStatus::Ready;
                    held.advancing_to = None;
                    held.lease_until = None;
                }
                held.updated_at = clock::now();
                self.clocks.update(&held)
            })?;
            return Ok(Some(done.steps + done.failures));
        }
        Ok(None)
    }

    /// Takes the clock for this worker if it is still advancing and nobody holds it.
    pub(super) fn lease_clock(
        &self,
        c: &TestClock,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<TestClock>> {
        let mut taken = None;
        self.units.run(&mut || {
            let Some(mut held) = self.clocks.lock(&c.tenant_id, &c.id)? else {
                return Ok(());
            };
            let free = held.lease_until.is_none_or(|l| l < now);
            if held.status == ClockStatus::Advancing && free {
                held.lease_until = Some(now + CLOCK_LEASE);
                self.clocks.update(&held)?;
                taken = Some(held);
            }
            Ok(())
        })?;
        Ok(taken)
    }
}
