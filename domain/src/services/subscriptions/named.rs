//! Subscriptions with their plans' names, as every view shows them.

use crate::id::PlanId;
use crate::plan::Plan;
use crate::subscription::Subscription;
use crate::{DomainError, DomainResult};

use super::NamedSubscription;

/// The plan of a subscription that is no longer stored: a broken invariant.
pub(super) fn gone(id: &PlanId) -> DomainError {
    DomainError::internal(format!("plan {id} of a subscription is gone"))
}

/// Names each subscription's plan (and the plan it changes to), found by `plan_of`.
pub fn named_by(
    subs: Vec<Subscription>,
    plan_of: &mut dyn FnMut(&crate::id::TenantId, &PlanId) -> DomainResult<Plan>,
) -> DomainResult<Vec<NamedSubscription>> {
    subs.into_iter()
        .map(|s| {
            let plan = plan_of(&s.tenant_id, &s.plan_id)?;
            let pending = match &s.pending_plan_id {
                Some(id) => Some(plan_of(&s.tenant_id, id)?.name),
                None => None,
            };
            Ok(NamedSubscription {
                subscription: s,
                currency: plan.currency,
                plan_code: plan.code,
                plan_name: plan.name,
                pending_plan_name: pending,
            })
        })
        .collect()
}

/// [`named_by`] with plans already read.
pub fn named_with(subs: Vec<Subscription>, plans: &[Plan]) -> DomainResult<Vec<NamedSubscription>> {
    named_by(subs, &mut |_, id| {
        plans
            .iter()
            .find(|p| p.id == *id)
            .cloned()
            .ok_or_else(|| gone(id))
    })
}
