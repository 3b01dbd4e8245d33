//! Revision: the one correction an issued invoice takes in place, of whom it is addressed to
//! (Paddle's "revise"); its amounts are corrected by credit notes only.

use super::*;

impl InvoiceService {
    /// Corrects the billing details (name, tax ids, email, address) of a finalized invoice,
    /// once, as `actor` may: the merchant, or a customer's session granted the `billing` profile
    /// field (on its own invoices). `billing` replaces the invoice's details as a whole (empty
    /// fields print the customer's contact fields); amounts never change. Audited
    /// (`invoice.revised`, the customer's activity shows it); the PDF says "Revised".
    pub fn revise(
        &self,
        actor: &crate::actor::Actor<'_>,
        scope: &Scope,
        id: &InvoiceId,
        billing: crate::customer::BillingDetails,
    ) -> DomainResult<Invoice> {
        use crate::actor::{Actor, Permission};
        actor.may(Permission::ReviseInvoices)?;
        let mut errs = Vec::new();
        let billing = crate::customer::check_billing(billing, &mut errs);
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        let tenant_id = scope.tenant_id();
        let now = clock::now();
        self.units.run(&mut || {
            // Another customer's invoice, or a draft, is not found in a customer's scope.
            let found = self.get(scope, id)?;
            let customer = self
                .customers
                .get(tenant_id, &found.customer_id)?
                .ok_or_else(not_found)?;
            let bill_to = crate::customer::resolve_billing(billing.clone(), &customer);
            let revised = self.change(tenant_id, id, &mut |inv, _| {
                if inv.status != InvoiceStatus::Finalized {
                    return Err(conflict(
                        ErrorCode::InvoiceNotFinalized,
                        "only an issued invoice is revised (a draft is edited)",
                    ));
                }
                if let Some(at) = inv.revised_at {
                    return Err(DomainError::Conflict {
                        code: ErrorCode::InvoiceAlreadyRevised,
                        message: format!(
                            "The invoice was revised on {}; it is revised once.",
                            at.format("%Y-%m-%d")
                        ),
                    });
                }
                inv.bill_to = Some(bill_to.clone());
                inv.revised_at = Some(now);
                inv.updated_at = now;
                Ok(())
            })?;
            let entry = match actor {
                Actor::Customer(_) => actor.audit(crate::audit::actions::INVOICE_REVISED),
                Actor::Merchant | Actor::System => Some(crate::audit::AuditEvent::new(
                    tenant_id,
                    crate::audit::actions::INVOICE_REVISED,
                    "merchant".to_owned(),
                )),
            };
            if let Some(mut entry) = entry {
                entry.customer_id = Some(revised.customer_id.to_string());
                self.audit
                    .record(&entry.detail("invoice_id", revised.id.to_string()))?;
            }
            Ok(revised)
        })
    }
}
