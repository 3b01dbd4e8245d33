//! Entitlements: what a customer's running subscriptions grant per feature, and how much of it
//! the current period has used, from the hourly usage rollups.
//!
//! Use is counted by the hour: the hour a period starts in counts whole (rollups are hourly).
//! When several subscriptions grant the same feature, the check uses the most generous one (no
//! limit beats any limit, a larger limit a smaller one).

use std::sync::Arc;

use bigdecimal::{BigDecimal, RoundingMode, Zero};
use chrono::{DateTime, Utc};

use crate::id::{CustomerId, PlanId, SubscriptionId};
use crate::ports::{CustomerRepo, PlanRepo, SubscriptionRepo, UsageRepo};
use crate::scope::CustomerScope;
use crate::usage::{hour_of, Aggregation};
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
}

/// The answer to "may this customer use `quantity` more of this feature now?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Entitled, and within a hard limit (a soft limit never refuses).
    pub allowed: bool,
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
}

impl EntitlementService {
    pub fn new(
        subscriptions: Arc<dyn SubscriptionRepo>,
        plans: Arc<dyn PlanRepo>,
        usage: Arc<dyn UsageRepo>,
        customers: Arc<dyn CustomerRepo>,
    ) -> Self {
        Self {
            subscriptions,
            plans,
            usage,
            customers,
        }
    }

    /// Every feature the customer's running subscriptions grant, with this period's use.
    pub fn of(&self, customer: &CustomerScope) -> DomainResult<Vec<EntitlementStatus>> {
        self.customers
            .get(&customer.tenant_id, &customer.customer_id)?
            .ok_or_else(CustomerId::not_found)?;
        let now = crate::clock::now();
        let running = self.subscriptions.running(customer)?;
        let features = self.usage.features(&customer.tenant_id)?;
        let mut out = Vec::new();
        for s in running {
            let Some(plan) = self.plans.get(&customer.tenant_id, &s.plan_id)? else {
                continue;
            };
            if plan.entitlements.is_empty() {
                continue;
            }
            let rollups = self.usage.rollups(
                &customer.tenant_id,
                &customer.customer_id,
                hour_of(s.current_period_start),
                now,
            )?;
            for e in &plan.entitlements {
                let max = features
                    .iter()
                    .find(|f| f.key == e.feature)
                    .is_some_and(|f| f.aggregation == Aggregation::Max);
                let mine = rollups.iter().filter(|r| r.feature_key == e.feature);
                let used = if max {
                    mine.map(|r| r.quantity_max.clone())
                        .max()
                        .unwrap_or_default()
                } else {
                    mine.map(|r| r.quantity_sum.clone()).sum()
                };
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
                });
            }
        }
        Ok(out)
    }

    /// Whether the customer may use `quantity` more of `feature` now.
    pub fn check(
        &self,
        customer: &CustomerScope,
        feature: &str,
        quantity: &BigDecimal,
    ) -> DomainResult<Check> {
        let best = self
            .of(customer)?
            .into_iter()
            .filter(|e| e.feature == feature)
            .max_by(|a, b| match (&a.limit, &b.limit) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => x.cmp(y),
            });
        Ok(match best {
            None => Check {
                allowed: false,
                used: BigDecimal::zero(),
                limit: Some(BigDecimal::zero()),
                remaining: Some(BigDecimal::zero()),
            },
            Some(e) => Check {
                allowed: e.soft || e.limit.as_ref().is_none_or(|l| &e.used + quantity <= *l),
                used: e.used,
                limit: e.limit,
                remaining: e.remaining,
            },
        })
    }
}
