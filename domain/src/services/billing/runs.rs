//! The log of what billing did: one record per step, listed for merchants.

use super::*;

impl BillingService {
    /// What billing did for the account (one subscription's, with `subscription`), newest
    /// first.
    pub fn runs(
        &self,
        tenant_id: &crate::id::TenantId,
        subscription: Option<&crate::id::SubscriptionId>,
        page: &PageRequest,
    ) -> DomainResult<Page<BillingRun>> {
        self.runs.list(tenant_id, subscription, page)
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one billing run's fields, each its own value"
)]
pub(super) fn run(
    sub: &Subscription,
    kind: RunKind,
    period_start: Option<DateTime<Utc>>,
    invoice_id: Option<String>,
    outcome: &str,
    error: Option<String>,
    source: RunSource,
    at: DateTime<Utc>,
) -> BillingRun {
    BillingRun {
        id: crate::id::new_id(crate::id::BILLING_RUN),
        tenant_id: sub.tenant_id.clone(),
        subscription_id: sub.id.clone(),
        customer_id: sub.customer_id.to_string(),
        kind,
        period_start,
        invoice_id,
        outcome: outcome.to_owned(),
        error,
        source,
        created_at: at,
    }
}
