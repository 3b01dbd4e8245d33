//! Issuing what billing charges: the taxed draft (shared with the upcoming invoice), the
//! finalized invoice with its billing key, and the invoice numbers taken last.

use super::*;

impl BillingService {
    /// Inserts and finalizes an invoice of `sub` for `plan` (its currency and tax rates). A
    /// period's invoice (the first one, a renewal) carries its billing key, the period start,
    /// unique per subscription so a period is never billed twice; an off-cycle invoice (a
    /// proration, a final usage invoice: `period_start` `None`) has none, as several may fall
    /// on one instant of a frozen test clock (they are made once by the request that changes
    /// the subscription, under its lock).
    pub(super) fn issue(
        &self,
        sub: &Subscription,
        plan: &Plan,
        lines: Vec<LineItem>,
        period_start: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> DomainResult<Invoice> {
        // Usage beyond what an amount can hold fails this step (recorded, retried), never
        // issues an invoice whose total the amount filters could not tell apart.
        crate::invoice::check_amounts(plan.currency, &lines)?;
        let mut draft = self.taxed_draft(sub, plan, lines, period_start.is_some(), at)?;
        draft.check_total()?;
        draft.billing_period_start = period_start;
        draft.due_at = Some(match sub.collection {
            Collection::Wallet => at,
            Collection::SendInvoice => at + Duration::days(PAYMENT_TERMS_DAYS),
        });
        // Numbered last (see `number`): until then the finalized invoice exists only in this
        // uncommitted transaction.
        draft.finalize_unnumbered(at);
        self.invoices.insert(&draft)?;
        Ok(draft)
    }

    /// A draft invoice of `sub` with `lines` less the subscription's discount (`period`: a
    /// period invoice; see `crate::discount::AppliedDiscount`) and taxed at the rates that
    /// apply to them (the plan's, else the customer's, else the account's; see `crate::tax`):
    /// what a renewal issues, the upcoming invoice shows and a change previews, computed the
    /// same way.
    pub(crate) fn taxed_draft(
        &self,
        sub: &Subscription,
        plan: &Plan,
        mut lines: Vec<LineItem>,
        period: bool,
        at: DateTime<Utc>,
    ) -> DomainResult<Invoice> {
        let customer = self.customer(&sub.tenant_id, &sub.customer_id)?;
        // A line of a metered charge takes the charge's rates, if it has any, else the plan's.
        let plan_rates: Vec<Vec<TaxRateId>> = lines
            .iter()
            .map(|l| {
                plan.charges
                    .iter()
                    .find(|c| Some(&c.feature) == l.feature.as_ref() && !c.tax_rate_ids.is_empty())
                    .map_or_else(|| plan.tax_rate_ids.clone(), |c| c.tax_rate_ids.clone())
            })
            .collect();
        self.taxes.apply(&customer, &plan_rates, &[], &mut lines)?;
        let discount = sub
            .discount
            .as_ref()
            .filter(|d| d.applies_to(plan))
            .and_then(|d| crate::discount::discount_lines(d, plan.currency, period, &mut lines));
        let mut draft = Invoice::draft(
            &sub.tenant_id,
            sub.customer_id.clone(),
            plan.currency,
            lines,
            at,
        );
        draft.reverse_charge = customer.tax_exempt == crate::tax::TaxExempt::ReverseCharge;
        draft.bill_to = Some(crate::customer::bill_to(&customer));
        draft.subscription_id = Some(sub.id.clone());
        draft.discounts = discount.into_iter().collect();
        draft.reprice();
        Ok(draft)
    }

    /// Counts a period invoice against `sub`'s discount: one used up is removed (reported as
    /// `discount.removed`).
    pub(super) fn count_discount_period(&self, sub: &mut Subscription) -> DomainResult<()> {
        if sub.discount.as_mut().is_some_and(|d| d.count_period()) {
            if let Some(d) = sub.discount.take() {
                self.events.discount(EventType::DiscountRemoved, sub, &d)?;
            }
        }
        Ok(())
    }

    /// Gives invoices from `issue` their numbers (by account and issue month, in the order
    /// given within each): the last write before the commit, so the account's number counter is
    /// held locked as briefly as possible and workers run in parallel up to here. Counters are
    /// taken in (account, month) order, the same on every worker, so two cannot deadlock.
    pub(super) fn number(&self, invoices: &mut [Invoice]) -> DomainResult<()> {
        let key = |i: &Invoice| {
            (
                i.tenant_id.clone(),
                number_period(i.issued_at.unwrap_or(i.created_at)),
            )
        };
        invoices.sort_by_key(key);
        for group in invoices.chunk_by_mut(|a, b| key(a) == key(b)) {
            let (tenant_id, period) = key(&group[0]);
            let ids: Vec<_> = group.iter().map(|i| i.id.clone()).collect();
            let numbers = self
                .invoices
                .assign_numbers(&tenant_id, &ids, &period, &|n| format_number(&period, n))?;
            for (invoice, number) in group.iter_mut().zip(numbers) {
                invoice.number = Some(number);
                // Reported once numbered (what a merchant's books key on), as collected.
                self.events.invoice(EventType::InvoiceFinalized, invoice)?;
                if invoice.amount_due().is_zero() {
                    self.events.invoice(EventType::InvoicePaid, invoice)?;
                }
            }
        }
        Ok(())
    }
}
