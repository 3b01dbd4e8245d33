use std::collections::HashMap;
use std::sync::Arc;

use bigdecimal::BigDecimal;

use crate::id::FeatureId;
use crate::idempotency::valid_key;
use crate::page::{Page, PageRequest};
use crate::ports::TestClockRepo;
use crate::ports::{CustomerRepo, SubscriptionRepo, UsageRepo};
use crate::scope::CustomerScope;
use crate::usage::EventFilter;
use crate::usage::{
    build_report, hour_of, validate_feature, Aggregation, EventOutcome, Feature, Granularity,
    IncomingEvent, UsageEvent, UsageReport, MAX_BATCH, MAX_FUTURE,
};
use crate::{clock, id, DomainError, DomainResult};

#[derive(Clone)]
pub struct UsageService {
    repo: Arc<dyn UsageRepo>,
    customers: Arc<dyn CustomerRepo>,
    clocks: Arc<dyn TestClockRepo>,
    subscriptions: Arc<dyn SubscriptionRepo>,
    /// Events older than this are refused (late data would change closed periods).
    max_age: chrono::Duration,
    units: Arc<dyn crate::ports::UnitOfWork>,
    /// Low-balance alerts on the ongoing balance, in the transaction that records the usage.
    accrual: crate::services::accrual::Accrual,
    /// Customers' usage alerts, fired in the same transaction.
    alerts: crate::services::alerts::AlertService,
}

/// What ingestion needs besides the usage store.
pub struct UsagePorts {
    pub repo: Arc<dyn UsageRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub clocks: Arc<dyn TestClockRepo>,
    pub subscriptions: Arc<dyn SubscriptionRepo>,
    pub units: Arc<dyn crate::ports::UnitOfWork>,
    pub accrual: crate::services::accrual::Accrual,
    pub alerts: crate::services::alerts::AlertService,
}

/// A customer as ingestion sees them: their id, their now (a test clock's frozen time), their
/// time zone and running subscriptions (what decides the counter periods of their events).
type Known = Option<KnownCustomer>;

#[derive(Clone)]
struct KnownCustomer {
    id: String,
    now: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
    running: Vec<crate::subscription::Subscription>,
}

impl KnownCustomer {
    /// The counter periods an event at `at` adds to (see `crate::usage`).
    fn periods(&self, at: chrono::DateTime<chrono::Utc>) -> Vec<crate::usage::CounterPeriod> {
        if self.running.is_empty() {
            return vec![crate::usage::CounterPeriod::month_of(at, self.tz)];
        }
        let mut periods: Vec<_> = self
            .running
            .iter()
            .filter_map(|s| s.period_of_hour(hour_of(at), self.tz))
            .collect();
        periods.sort();
        periods.dedup_by_key(|p| p.start);
        periods
    }
}

pub fn feature_not_found() -> DomainError {
    FeatureId::not_found()
}

#[derive(Debug, Clone)]
pub struct NewFeature {
    pub key: String,
    pub name: String,
    pub unit: String,
    pub aggregation: Aggregation,
    pub value_property: Option<String>,
    pub unit_price: BigDecimal,
    pub currency: String,
}

/// Feature edits. The key and aggregation are fixed once events refer to them.
#[derive(Debug, Clone, Default)]
pub struct FeaturePatch {
    pub name: Option<String>,
    pub unit: Option<String>,
    pub unit_price: Option<BigDecimal>,
    pub archived: Option<bool>,
}

impl UsageService {
    pub fn new(ports: UsagePorts, max_age: chrono::Duration) -> Self {
        Self {
            repo: ports.repo,
            customers: ports.customers,
            clocks: ports.clocks,
            subscriptions: ports.subscriptions,
            units: ports.units,
            accrual: ports.accrual,
            alerts: ports.alerts,
            max_age,
        }
    }

    pub fn create_feature(
        &self,
        tenant_id: &crate::id::TenantId,
        f: NewFeature,
    ) -> DomainResult<Feature> {
        validate_feature(
            Some(&f.key),
            Some(&f.name),
            Some(&f.unit),
            Some(f.aggregation),
            f.value_property.as_deref(),
            Some(&f.unit_price),
            Some(&f.currency),
        )?;
        let now = clock::now();
        let feature = Feature {
            id: crate::id::FeatureId::new(),
            tenant_id: tenant_id.clone(),
            key: f.key,
            name: f.name.trim().to_owned(),
            unit: f.unit,
            aggregation: f.aggregation,
            value_property: f
                .value_property
                .filter(|_| f.aggregation != Aggregation::Count),
            unit_price: f.unit_price,
            currency: crate::money::Currency::parse(&f.currency)?,
            archived: false,
            created_at: now,
            updated_at: now,
        };
        self.repo.insert_feature(&feature)?;
        Ok(feature)
    }

    pub fn get_feature(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &FeatureId,
    ) -> DomainResult<Feature> {
        self.repo
            .get_feature(tenant_id, id)?
            .ok_or_else(feature_not_found)
    }

    pub fn update_feature(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &FeatureId,
        p: FeaturePatch,
    ) -> DomainResult<Feature> {
        if p.name.is_none() && p.unit.is_none() && p.unit_price.is_none() && p.archived.is_none() {
            return Err(DomainError::validation(
                "body",
                "at least one field must be given",
            ));
        }
        validate_feature(
            None,
            p.name.as_deref(),
            p.unit.as_deref(),
            None,
            None,
            p.unit_price.as_ref(),
            None,
        )?;
        let mut f = self.get_feature(tenant_id, id)?;
        if let Some(n) = p.name {
            f.name = n.trim().to_owned();
        }
        if let Some(u) = p.unit {
            f.unit = u;
        }
        if let Some(price) = p.unit_price {
            f.unit_price = price;
        }
        if let Some(a) = p.archived {
            f.archived = a;
        }
        f.updated_at = clock::now();
        self.repo.update_feature(&f)?;
        Ok(f)
    }

    pub fn list_features(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<Feature>> {
        self.repo.list_features(tenant_id, page)
    }

    /// Validates each event on its own; stores the valid ones (new `event_id`s only) with their
    /// rollups in one transaction; answers one outcome per event, in order. An event the request
    /// could not even read arrives as `Err(reason)` and is rejected with it; it never blocks the
    /// others. Returns after the commit, so an `accepted` event is durable.
    pub fn ingest(
        &self,
        tenant_id: &crate::id::TenantId,
        events: Vec<Result<IncomingEvent, String>>,
    ) -> DomainResult<Vec<EventOutcome>> {
        if events.is_empty() || events.len() > MAX_BATCH {
            return Err(DomainError::validation(
                "events",
                format!("must hold 1 to {MAX_BATCH} events"),
            ));
        }
        let now = clock::now();
        let features: HashMap<String, Feature> = self
            .repo
            .features(tenant_id)?
            .into_iter()
            .map(|f| (f.key.clone(), f))
            .collect();
        let mut customers: HashMap<(bool, String), Known> = HashMap::new();
        let mut outcomes = Vec::with_capacity(events.len());
        let mut valid = Vec::new();
        for e in events {
            let e = match e {
                Ok(e) => e,
                Err(unreadable) => {
                    outcomes.push(EventOutcome::Rejected(unreadable));
                    continue;
                }
            };
            match self.check(tenant_id, e, &features, &mut customers, now)? {
                Ok(event) => {
                    outcomes.push(EventOutcome::Accepted);
                    valid.push((outcomes.len() - 1, event));
                }
                Err(reason) => outcomes.push(EventOutcome::Rejected(reason)),
            }
        }
        if !valid.is_empty() {
            let (at, stored): (Vec<usize>, Vec<UsageEvent>) = valid.into_iter().unzip();
            let fresh = self.units.run(&mut || {
                let watch = self.watch(tenant_id, &stored)?;
                self.store(tenant_id, &stored, watch)
            })?;
            for (i, new) in at.into_iter().zip(fresh) {
                if !new {
                    outcomes[i] = EventOutcome::Duplicate;
                }
            }
        }
        Ok(outcomes)
    }

    /// Validates one event as [`Self::ingest`] does, against the account's `features`, without
    /// storing it: `Ok(event)` ready for [`Self::store`], or `Err(reason)`. (An atomic consume
    /// validates before it takes its lock, with the features it has already read.)
    pub fn prepare_with(
        &self,
        tenant_id: &crate::id::TenantId,
        event: IncomingEvent,
        features: Vec<Feature>,
    ) -> DomainResult<Result<UsageEvent, String>> {
        let features: HashMap<String, Feature> =
            features.into_iter().map(|f| (f.key.clone(), f)).collect();
        self.check(
            tenant_id,
            event,
            &features,
            &mut HashMap::new(),
            clock::now(),
        )
    }

    /// Locks the wallets whose low-balance threshold recording `events` may cross (see
    /// `crate::services::accrual`), in the caller's unit of work. Called before any counter is
    /// locked: wallets are locked before counters everywhere, so two writers never wait on
    /// each other.
    pub fn watch(
        &self,
        tenant_id: &crate::id::TenantId,
        events: &[UsageEvent],
    ) -> DomainResult<crate::services::accrual::Watch> {
        let mut customers: Vec<crate::id::CustomerId> = events
            .iter()
            .filter_map(|e| crate::id::CustomerId::parse(&e.customer_id))
            .collect();
        customers.sort();
        customers.dedup();
        self.accrual.watch(tenant_id, &customers)
    }

    /// Stores prepared events (new `event_id`s only) with their rollups and counters, alerts
    /// on the wallets `watch` holds, and fires the customers' usage alerts the new events
    /// cross; `true` for each event that was new.
    pub fn store(
        &self,
        tenant_id: &crate::id::TenantId,
        events: &[UsageEvent],
        watch: crate::services::accrual::Watch,
    ) -> DomainResult<Vec<bool>> {
        let alerts = self.alerts.usage_before(tenant_id, events)?;
        let fresh = self.repo.ingest(tenant_id, events)?;
        self.accrual.settle(watch)?;
        self.alerts.usage_after(alerts)?;
        Ok(fresh)
    }

    /// One event's validity: Ok(event) or Err(reason). Storage failures are the outer error.
    fn check(
        &self,
        tenant_id: &crate::id::TenantId,
        e: IncomingEvent,
        features: &HashMap<String, Feature>,
        customers: &mut HashMap<(bool, String), Known>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Result<UsageEvent, String>> {
        if !valid_key(&e.event_id) {
            return Ok(Err(
                "event_id must be 1 to 255 visible ASCII characters".into()
            ));
        }
        let Some(feature) = features.get(&e.feature).filter(|f| !f.archived) else {
            return Ok(Err(format!("unknown feature `{}`", e.feature)));
        };
        let (by_external, key) = match (e.customer_id, e.external_customer_id) {
            (Some(c), None) => (false, c),
            (None, Some(x)) => (true, x),
            _ => {
                return Ok(Err(
                    "give exactly one of customer_id and external_customer_id".into(),
                ))
            }
        };
        let customer_id = match customers.get(&(by_external, key.clone())) {
            Some(found) => found.clone(),
            None => {
                let found = if by_external {
                    self.customers.get_by_external_id(tenant_id, &key)?
                } else {
                    match crate::id::CustomerId::parse(&key) {
                        Some(id) => self.customers.get(tenant_id, &id)?,
                        None => None,
                    }
                };
                // Events of a customer on a test clock are checked against the clock's time.
                let found = match found {
                    Some(c) => {
                        let their_now = match &c.test_clock_id {
                            Some(clock) => self
                                .clocks
                                .get(tenant_id, clock)?
                                .map_or(now, |c| c.frozen_time),
                            None => now,
                        };
                        let theirs = CustomerScope::new(tenant_id, &c.id);
                        Some(KnownCustomer {
                            id: c.id.to_string(),
                            now: their_now,
                            tz: crate::services::billing::timezone(&c),
                            running: self.subscriptions.running(&theirs)?,
                        })
                    }
                    None => None,
                };
                customers.insert((by_external, key.clone()), found.clone());
                found
            }
        };
        let Some(known) = customer_id else {
            return Ok(Err(format!("unknown customer `{key}`")));
        };
        let (customer_id, now) = (known.id.clone(), known.now);
        let timestamp = e.timestamp.unwrap_or(now);
        if timestamp > now + MAX_FUTURE {
            return Ok(Err("timestamp is more than 5 minutes in the future".into()));
        }
        if timestamp < now - self.max_age {
            return Ok(Err(format!(
                "timestamp is older than {} days",
                self.max_age.num_days()
            )));
        }
        let quantity = match feature.quantity_of(&e.properties) {
            Ok(q) => q,
            Err(reason) => return Ok(Err(reason)),
        };
        if serde_json::Value::Object(e.properties.clone())
            .to_string()
            .len()
            > 8192
        {
            return Ok(Err("properties exceed 8 KiB".into()));
        }
        Ok(Ok(UsageEvent {
            id: id::new_id(id::EVENT),
            tenant_id: tenant_id.clone(),
            event_id: e.event_id,
            customer_id,
            feature_key: feature.key.clone(),
            timestamp: clock::to_micros(timestamp),
            properties: e.properties,
            quantity,
            received_at: now,
            periods: known.periods(timestamp),
        }))
    }

    /// Usage of one customer over `[from, to)`, from rollups only (never raw events).
    pub fn report(
        &self,
        customer: &CustomerScope,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        granularity: Granularity,
        feature: Option<&str>,
    ) -> DomainResult<UsageReport> {
        if from >= to {
            return Err(DomainError::validation("from", "must be before to"));
        }
        let span = to - from;
        if span > chrono::Duration::days(366)
            || (granularity == Granularity::Hour && span > chrono::Duration::days(31))
        {
            return Err(DomainError::validation(
                "to",
                "the window is too long (at most 31 days by hour, 366 days by day)",
            ));
        }
        let tenant_id = &customer.tenant_id;
        let customer = self
            .customers
            .get(tenant_id, &customer.customer_id)?
            .ok_or_else(crate::id::CustomerId::not_found)?;
        let tz: chrono_tz::Tz = customer.timezone.parse().unwrap_or(chrono_tz::UTC);
        let features = self.repo.features(tenant_id)?;
        if let Some(k) = feature {
            if !features.iter().any(|f| f.key == k) {
                return Err(DomainError::validation(
                    "feature",
                    format!("unknown feature `{k}`"),
                ));
            }
        }
        // Rollups of every hour that overlaps the window, including the local day's start.
        let start = hour_of(from) - chrono::Duration::days(1);
        let rollups = self.repo.rollups(tenant_id, &customer.id, start, to)?;
        Ok(build_report(
            &rollups,
            &features,
            from,
            to,
            granularity,
            tz,
            feature,
        ))
    }

    pub fn events(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<UsageEvent>> {
        self.repo.events(tenant_id, filter, page)
    }
}
