//! Entitlements: what a customer's running subscriptions grant per feature, and how much of it
//! the current period has used, from the period counters (one row per feature and period,
//! kept in step with every accepted event; see `crate::usage`).
//!
//! Use is counted by the hour: the hour a period starts in counts whole, as billing counts.
//! When several subscriptions grant the same feature, the check uses the most generous one (no
//! limit beats any limit, a larger limit a smaller one).

mod consume;

use std::sync::Arc;

pub use consume::{Consume, ConsumeReason, Consumed, EventStatus};

use bigdecimal::{BigDecimal, RoundingMode, Zero};
use chrono::{DateTime, Utc};

use crate::id::{CustomerId, PlanId, SubscriptionId};
use crate::ports::{CustomerRepo, PlanRepo, SubscriptionRepo, UnitOfWork, UsageRepo};
use crate::scope::CustomerScope;
use crate::usage::Aggregation;
use crate::DomainResult;

/// One feature granted by one subscription, with the current period's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementStatus {
    pub feature: String,
    /// `None`: no limit.
    pub limit: Option<BigDecimal>,
    pub soft: bool,
    pub used: BigDecimal,
    /// `limit - used`, never below 0; `None` without a limit.
    pub remaining: Option<BigDecimal>,
    /// `used / limit` in percent, two decimals; `None` without a limit.
    pub usage_percent: Option<BigDecimal>,
    /// When the use starts again from 0: the end of the subscription's period.
    pub resets_at: DateTime<Utc>,
    pub subscription_id: SubscriptionId,
    pub plan_id: PlanId,
    /// The counter period `used` is counted over: the subscription's current period.
    pub period: crate::usage::CounterPeriod,
    /// How the feature counts (`max` features compare their peak with the limit).
    pub aggregation: Aggregation,
}

impl Check {
    /// No running subscription grants the feature: refused, with a limit of 0.
    pub fn not_entitled() -> Self {
        Check {
            allowed: false,
            reason: ConsumeReason::NoEntitlement,
            used: BigDecimal::zero(),
            limit: Some(BigDecimal::zero()),
            remaining: Some(BigDecimal::zero()),
        }
    }
}

/// The answer to "may this customer use `quantity` more of this feature now?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Entitled, and within a hard limit (a soft limit never refuses).
    pub allowed: bool,
    pub reason: ConsumeReason,
    pub used: BigDecimal,
    pub limit: Option<BigDecimal>,
    pub remaining: Option<BigDecimal>,
}

#[derive(Clone)]
pub struct EntitlementService {
    subscriptions: Arc<dyn SubscriptionRepo>,
    plans: Arc<dyn PlanRepo>,
    usage: Arc<dyn UsageRepo>,
    customers: Arc<dyn CustomerRepo>,
    units: Arc<dyn UnitOfWork>,
    /// Records a consume's event exactly as ingestion does.
    ingestion: crate::services::usage::UsageService,
    events: crate::services::webhooks::Events,
}

/// What entitlements need.
pub struct EntitlementPorts {
    pub subscriptions: Arc<dyn SubscriptionRepo>,
    pub plans: Arc<dyn PlanRepo>,
    pub usage: Arc<dyn UsageRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub ingestion: crate::services::usage::UsageService,
    pub events: crate::services::webhooks::Events,
}

impl EntitlementService {
    pub fn new(ports: EntitlementPorts) -> Self {
        Self {
            subscriptions: ports.subscriptions,
            plans: ports.plans,
            usage: ports.usage,
            customers: ports.customers,
            units: ports.units,
            ingestion: ports.ingestion,
            events: ports.events,
        }
    }

    /// Every feature the customer's running subscriptions grant, with this period's use.
    pub fn of(&self, customer: &CustomerScope) -> DomainResult<Vec<EntitlementStatus>> {
        Ok(self.with_features(customer)?.0)
    }

    /// [`Self::of`], with the account's features it read (404 `customer_not_found` first).
    fn with_features(
        &self,
        customer: &CustomerScope,
    ) -> DomainResult<(Vec<EntitlementStatus>, Vec<crate::usage::Feature>)> {
        self.customers
            .get(&customer.tenant_id, &customer.customer_id)?
            .ok_or_else(CustomerId::not_found)?;
        let running = self.subscriptions.running(customer)?;
        let features = self.usage.features(&customer.tenant_id)?;
        let starts: Vec<DateTime<Utc>> = running.iter().map(|s| s.current_period_start).collect();
        let counters = self
            .usage
            .counters(&customer.tenant_id, &customer.customer_id, &starts)?;
        let mut out = Vec::new();
        for s in running {
            let Some(plan) = self.plans.get(&customer.tenant_id, &s.plan_id)? else {
                continue;
            };
            for e in &plan.entitlements {
                let aggregation = features
                    .iter()
                    .find(|f| f.key == e.feature)
                    .map_or(Aggregation::Sum, |f| f.aggregation);
                let used = counters
                    .iter()
                    .find(|c| {
                        c.feature_key == e.feature && c.period.start == s.current_period_start
                    })
                    .map(|c| c.used(aggregation))
                    .unwrap_or_default();
                let remaining = e.limit.as_ref().map(|l| {
                    let left = l - &used;
                    left.max(BigDecimal::zero())
                });
                let usage_percent = e.limit.as_ref().map(|l| {
                    if l.is_zero() {
                        BigDecimal::from(100)
                    } else {
                        (&used * BigDecimal::from(100) / l)
                            .with_scale_round(2, RoundingMode::HalfUp)
                    }
                });
                out.push(EntitlementStatus {
                    feature: e.feature.clone(),
                    limit: e.limit.clone(),
                    soft: e.soft,
                    used,
                    remaining,
                    usage_percent,
                    resets_at: s.current_period_end,
                    subscription_id: s.id.clone(),
                    plan_id: s.plan_id.clone(),
                    period: crate::usage::CounterPeriod {
                        start: s.current_period_start,
                        end: s.current_period_end,
                    },
                    aggregation,
                });
            }
        }
        Ok((out, features))
    }

    /// Whether the customer may use `quantity` more of `feature` now (404 `customer_not_found`,
    /// then `feature_not_found` for a feature the account does not have). One read: the
    /// merchant's hot path (`UsageRepo::check_view`).
    pub fn check(
        &self,
        customer: &CustomerScope,
        feature: &str,
        quantity: &BigDecimal,
    ) -> DomainResult<Check> {
        let view = self
            .usage
            .check_view(customer, feature)?
            .ok_or_else(CustomerId::not_found)?;
        let aggregation = view
            .feature
            .filter(|f| !f.archived)
            .ok_or_else(crate::services::usage::feature_not_found)?
            .aggregation;
        let Some(Granted {
            limit, soft, used, ..
        }) = most_generous(&view, feature, aggregation)
        else {
            return Ok(Check::not_entitled());
        };
        let over = limit.as_ref().is_some_and(|l| &used + quantity > *l);
        Ok(Check {
            allowed: soft || !over,
            reason: match (over, soft) {
                (false, _) => ConsumeReason::WithinLimit,
                (true, true) => ConsumeReason::SoftLimitExceeded,
                (true, false) => ConsumeReason::LimitReached,
            },
            remaining: limit.as_ref().map(|l| (l - &used).max(BigDecimal::zero())),
            limit,
            used,
        })
    }
}

/// The grant a check or consume goes by: the most generous of the running subscriptions'.
pub(crate) struct Granted {
    pub limit: Option<BigDecimal>,
    pub soft: bool,
    /// This period's use, as the feature counts it.
    pub used: BigDecimal,
    pub period: crate::usage::CounterPeriod,
    pub subscription_id: crate::id::SubscriptionId,
}

/// The most generous grant of `feature` in `view` (no limit beats any limit, a larger limit a
/// smaller one); `None`: no running subscription grants it.
pub(crate) fn most_generous(
    view: &crate::usage::CheckView,
    feature: &str,
    aggregation: Aggregation,
) -> Option<Granted> {
    view.grants
        .iter()
        .filter_map(|g| {
            let e = g.entitlements.iter().find(|e| e.feature == feature)?;
            Some(Granted {
                limit: e.limit.clone(),
                soft: e.soft,
                used: g
                    .counter
                    .as_ref()
                    .map(|c| c.used(aggregation))
                    .unwrap_or_default(),
                period: g.period,
                subscription_id: g.subscription_id.clone(),
            })
        })
        .max_by(|a, b| more_generous(&a.limit, &b.limit))
}

/// Orders limits by generosity: no limit beats any limit, a larger limit a smaller one.
fn more_generous(a: &Option<BigDecimal>, b: &Option<BigDecimal>) -> std::cmp::Ordering {
    match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => x.cmp(y),
    }
}
