//! The delivery worker's side of the outbox: new events fanned out to one delivery per
//! subscribed endpoint, due deliveries claimed under a lease, attempts recorded with what
//! follows (delivered, the next retry, failed, the endpoint disabled), old events purged.

use super::*;

impl WebhookService {
    /// Turns new events into deliveries, one per subscribed endpoint, each batch in one unit of
    /// work (an event is fanned out exactly once, even with several nodes).
    /// Accounts are taken one at a time (see [`crate::services::claims`]).
    pub fn fan_out(&self, now: DateTime<Utc>) -> DomainResult<FannedOut> {
        let mut done = FannedOut::default();
        let accounts = self
            .repo
            .accounts_undispatched(crate::services::claims::ACCOUNTS_PER_PASS)?;
        for tenant in &accounts {
            self.fan_out_account(tenant, now, &mut done)?;
        }
        Ok(done)
    }

    fn fan_out_account(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
        done: &mut FannedOut,
    ) -> DomainResult<()> {
        loop {
            let pass = self.units.run(&mut || {
                let events = self.repo.claim_undispatched(tenant, FAN_OUT_BATCH)?;
                let endpoints = match events.is_empty() {
                    true => Vec::new(),
                    false => self.repo.enabled_endpoints(tenant)?,
                };
                let mut deliveries = Vec::new();
                for ev in &events {
                    deliveries.extend(
                        endpoints
                            .iter()
                            .filter(|e| e.wants(ev.event_type))
                            .map(|e| WebhookDelivery::due(ev, &e.id, now)),
                    );
                }
                self.repo.insert_deliveries(&deliveries)?;
                let ids: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
                self.repo.mark_dispatched(tenant, &ids)?;
                Ok(FannedOut {
                    events: events.len(),
                    deliveries: deliveries.len(),
                })
            })?;
            done.events += pass.events;
            done.deliveries += pass.deliveries;
            if pass.events < FAN_OUT_BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Forgets events older than the replay window, with their delivery log (their schedule
    /// ended long before). Returns how many events.
    pub fn purge(&self, now: DateTime<Utc>) -> DomainResult<usize> {
        let mut purged = 0;
        loop {
            let n = self
                .units
                .run(&mut || self.repo.purge(now - REPLAY_WINDOW, 1000))?;
            purged += n;
            if n < 1000 {
                return Ok(purged);
            }
        }
    }

    /// Claims up to `limit` deliveries due at `now` for this node to attempt.
    pub fn claim(&self, now: DateTime<Utc>, limit: i64) -> DomainResult<Vec<Dispatch>> {
        let accounts = self
            .repo
            .accounts_due(now, crate::services::claims::ACCOUNTS_PER_PASS)?;
        crate::services::claims::share(&accounts, limit, |tenant, n| {
            self.repo.claim_due(tenant, now, now + LEASE, n)
        })
    }

    /// Records the outcomes of several attempts in one transaction (one commit for many
    /// deliveries), each in its own savepoint: one that cannot be recorded is undone alone (its
    /// claim's lease runs out and it is attempted again). Locks are taken in (endpoint,
    /// delivery) order, the same on every node. Returns how many could not be recorded.
    pub fn record_all(&self, done: &mut [(Dispatch, DeliveryAttempt, f64)]) -> DomainResult<usize> {
        done.sort_by(|a, b| {
            (&a.0.endpoint_id, &a.0.delivery_id).cmp(&(&b.0.endpoint_id, &b.0.delivery_id))
        });
        let mut failed = 0;
        self.units.run(&mut || {
            failed = 0;
            for (dispatch, attempt, jitter) in done.iter() {
                if self
                    .units
                    .attempt(&mut || self.record(dispatch, attempt, *jitter))
                    .is_err()
                {
                    failed += 1;
                }
            }
            Ok(())
        })?;
        Ok(failed)
    }

    /// Records an attempt's outcome: delivered; or retried on the schedule, failed when it is
    /// spent; `410 Gone`, or failing for [`DISABLE_AFTER`], disables the endpoint (with a
    /// `webhook_endpoint.disabled` event) and fails its pending deliveries.
    pub fn record(
        &self,
        dispatch: &Dispatch,
        attempt: &DeliveryAttempt,
        jitter: f64,
    ) -> DomainResult<()> {
        let now = attempt.attempted_at;
        self.units.run(&mut || {
            let Some(mut d) = self
                .repo
                .lock_delivery(&dispatch.tenant_id, &dispatch.delivery_id)?
            else {
                return Ok(()); // the endpoint was deleted meanwhile
            };
            if d.status != DeliveryStatus::Pending || d.attempts != dispatch.attempt {
                // Retried by hand meanwhile, or claimed again after this node's lease ran out:
                // keep the log, leave the state to the newer claim.
                self.repo.save_delivery(&d, Some(attempt))?;
                return Ok(());
            }
            let (tenant, endpoint_id) = (&dispatch.tenant_id, &dispatch.endpoint_id);
            if attempt.succeeded() {
                d.status = DeliveryStatus::Delivered;
                d.next_attempt_at = None;
                // The endpoint row is locked (and written) only to end a failure streak, so
                // successes to one endpoint do not queue on its lock.
                let streak = self.repo.endpoint(tenant, endpoint_id)?;
                if streak.is_some_and(|e| e.failing_since.is_some()) {
                    if let Some(mut e) = self.repo.lock_endpoint(tenant, endpoint_id)? {
                        e.failing_since = None;
                        self.repo.save_endpoint(&e)?;
                    }
                }
            } else {
                d.next_attempt_at = next_attempt(d.attempts, now, jitter);
                if d.next_attempt_at.is_none() {
                    d.status = DeliveryStatus::Failed;
                }
                let endpoint = self.repo.lock_endpoint(tenant, endpoint_id)?;
                if let Some(mut e) = endpoint.filter(|e| e.status == EndpointStatus::Enabled) {
                    let streak_starts = e.failing_since.is_none();
                    let since = *e.failing_since.get_or_insert(now);
                    let reason = if attempt.gone() {
                        Some(DisabledReason::Gone)
                    } else if now - since >= DISABLE_AFTER {
                        Some(DisabledReason::Failing)
                    } else {
                        None
                    };
                    if let Some(reason) = reason {
                        e.disable(reason, now);
                        d.status = DeliveryStatus::Failed;
                        d.next_attempt_at = None;
                        d.updated_at = now;
                        self.repo.save_endpoint(&e)?;
                        self.repo.save_delivery(&d, Some(attempt))?;
                        self.repo
                            .fail_pending_deliveries(&e.tenant_id, &e.id, now)?;
                        return self.repo.emit(&WebhookEvent::new(
                            &e.tenant_id,
                            EventType::WebhookEndpointDisabled,
                            serde_json::json!({
                                "webhook_endpoint_id": e.id.as_str(),
                                "url": e.url,
                                "disabled_reason": reason.as_str(),
                            }),
                        ));
                    }
                    if streak_starts {
                        self.repo.save_endpoint(&e)?;
                    }
                }
            }
            d.updated_at = now;
            self.repo.save_delivery(&d, Some(attempt))
        })
    }
}
