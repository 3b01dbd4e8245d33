//! Recovery from dunning: a past-due subscription comes back to active once none of its invoices
//! is open. Both billing (after a retry collects) and payments (after the merchant or the
//! customer pays) call it, so it depends on neither.

use chrono::{DateTime, Utc};

use crate::id::SubscriptionId;
use crate::invoice::Invoice;
use crate::ports::{InvoiceRepo, SubscriptionRepo};
use crate::scope::{CustomerScope, Scope};
use crate::subscription::{Subscription, SubscriptionStatus};
use crate::DomainResult;

/// Brings a past-due subscription back to active once none of its invoices is open (called
/// after a payment, inside the payment's unit of work). Returns it if it came back.
pub fn recover(
    subscriptions: &dyn SubscriptionRepo,
    invoices: &dyn InvoiceRepo,
    tenant_id: &crate::id::TenantId,
    id: &SubscriptionId,
    now: DateTime<Utc>,
) -> DomainResult<Option<Subscription>> {
    let scope = Scope::account(tenant_id);
    let Some(sub) = subscriptions.get(&scope, id)? else {
        return Ok(None);
    };
    if sub.status != SubscriptionStatus::PastDue || !open_invoices(invoices, &sub)?.is_empty() {
        return Ok(None);
    }
    let back = subscriptions.change(&scope, id, &mut |s| {
        if s.status == SubscriptionStatus::PastDue {
            s.status = SubscriptionStatus::Active;
            s.collection_retry_at = None;
            s.dunning_attempts = 0;
            s.updated_at = now;
        }
        Ok(())
    })?;
    Ok(Some(back))
}

/// The subscription's finalized invoices with something left to pay, oldest first.
pub fn open_invoices(invoices: &dyn InvoiceRepo, sub: &Subscription) -> DomainResult<Vec<Invoice>> {
    let theirs = CustomerScope::new(&sub.tenant_id, &sub.customer_id);
    let mut open: Vec<Invoice> = invoices
        .open_invoices(&theirs)?
        .into_iter()
        .filter(|i| i.subscription_id.as_ref() == Some(&sub.id))
        .collect();
    open.sort_by(|a, b| a.issued_at.cmp(&b.issued_at).then(a.id.cmp(&b.id)));
    Ok(open)
}
