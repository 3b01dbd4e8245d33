//! What a subscription is charged outside its renewals: the first invoice, a proration
//! invoiced now, the usage so far, a credit of the unused fee, and the upcoming invoice.

use super::*;

/// The next invoice of a subscription as it stands now.
#[derive(Debug, Clone)]
pub struct Upcoming {
    pub subscription: Subscription,
    /// A draft: not stored, no number. `billing_period_start` is the boundary it will bill.
    pub invoice: Invoice,
}

impl BillingService {
    /// The first invoice of a subscription that starts paid (no trial): the first period's fee
    /// in advance, collected like a renewal. Runs inside the creating unit of work, after the
    /// subscription is stored.
    pub fn open(
        &self,
        sub: &mut Subscription,
        plan: &Plan,
        customer: &Customer,
    ) -> DomainResult<Option<Invoice>> {
        let tz = timezone(customer);
        if sub.status != SubscriptionStatus::Active {
            return Ok(None);
        }
        let Some(fee) = fee_line(sub, plan, tz) else {
            return Ok(None);
        };
        let at = sub.started_at;
        let issued = self.issue(sub, plan, vec![fee], Some(sub.current_period_start), at)?;
        self.count_discount_period(sub)?;
        let (_, mut invoice) = self.settle_new(sub, &issued, customer.auto_pay, at)?;
        self.subscriptions.update(sub)?;
        self.number(std::slice::from_mut(&mut invoice))?;
        Ok(Some(invoice))
    }

    /// Invoices `lines` of `plan` for `sub` now (a proration or a final usage invoice: off the
    /// cycle, no billing key) and collects it like a renewal.
    pub fn invoice_now(
        &self,
        sub: &mut Subscription,
        plan: &Plan,
        lines: Vec<LineItem>,
        at: DateTime<Utc>,
    ) -> DomainResult<Invoice> {
        let auto_pay = self.customer(&sub.tenant_id, &sub.customer_id)?.auto_pay;
        let issued = self.issue(sub, plan, lines, None, at)?;
        let (_, mut invoice) = self.settle_new(sub, &issued, auto_pay, at)?;
        self.number(std::slice::from_mut(&mut invoice))?;
        Ok(invoice)
    }

    /// The usage lines of the current period so far (for a final invoice at an immediate
    /// cancellation).
    pub fn usage_so_far(
        &self,
        sub: &Subscription,
        plan: &Plan,
        at: DateTime<Utc>,
    ) -> DomainResult<Vec<LineItem>> {
        let usage = self.period_usage(sub, plan, &mut Catalog::default())?;
        Ok(usage_lines(plan, &usage, sub.current_period_start, at))
    }

    /// Credits what `lines` (unused time back, negative; the new plan's remaining time) come to,
    /// taxed as an invoice of `plan` for them would be, to the customer's wallet: the tax paid
    /// on the unused time goes back with it. Nothing when they do not come to a credit.
    pub fn credit_lines(
        &self,
        sub: &Subscription,
        plan: &Plan,
        lines: Vec<LineItem>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let taxed = self.taxed_draft(sub, plan, lines, false, at)?;
        let value = -taxed.total;
        match value > BigDecimal::zero() {
            true => self.credit_wallet(sub, plan.currency, &value, reason, at),
            false => Ok(()),
        }
    }

    /// Credits `value` (in the wallet's currency) to the customer's open wallet in `currency`:
    /// refused with 422 `currency_mismatch` when they have none.
    fn credit_wallet(
        &self,
        sub: &Subscription,
        currency: crate::money::Currency,
        value: &BigDecimal,
        reason: &str,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let wallet = self
            .active_wallet(&sub.tenant_id, &sub.customer_id, currency)?
            .ok_or_else(|| DomainError::Unprocessable {
                code: ErrorCode::CurrencyMismatch,
                message: format!(
                    "crediting the unused fee needs an active {currency} wallet of the customer"
                ),
            })?;
        let credits = crate::payment::credits_for(value, &wallet.conversion_rate);
        let top_up = crate::wallet::TopUp {
            credits,
            kind: crate::wallet::LotKind::Promotional,
            priority: None,
            expires_at: None,
            reason: Some(reason.into()),
            description: Some(format!("subscription {}", sub.id)),
            reference: Some(sub.id.to_string()),
            idempotency_key: None,
        };
        let st = self
            .wallets
            .change(&sub.tenant_id, &wallet.id, &mut |st| st.credit(&top_up, at))?;
        self.events.wallet_movements(&st.wallet, &st.txs)
    }

    /// The next invoice as it stands now: the same computation as the renewal, with the usage
    /// so far.
    pub fn upcoming(&self, scope: &Scope, id: &SubscriptionId) -> DomainResult<Upcoming> {
        let sub = self
            .subscriptions
            .get(scope, id)?
            .ok_or_else(SubscriptionId::not_found)?;
        if sub.is_over() {
            return Err(DomainError::Conflict {
                code: ErrorCode::SubscriptionEnded,
                message: "the subscription has ended: it has no upcoming invoice".into(),
            });
        }
        let customer = self.customer(&sub.tenant_id, &sub.customer_id)?;
        let (r, next_plan) = self.renewal_of(&sub, timezone(&customer), &mut Catalog::default())?;
        let at = sub.current_period_end;
        let mut invoice = self.taxed_draft(&sub, &next_plan, r.lines, true, at)?;
        invoice.billing_period_start = Some(r.period_start);
        invoice.due_at = Some(at);
        Ok(Upcoming {
            subscription: sub,
            invoice,
        })
    }
}
