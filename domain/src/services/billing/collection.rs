//! Collection: paying a new invoice from the wallet (and auto-pay), dunning retries, and
//! bringing a past-due subscription back once its invoices are paid.

use super::*;

impl BillingService {
    /// Collects a new invoice when the subscription pays from its wallet or the customer has
    /// auto-pay on (the wallet, then a pending payment through the default method); with
    /// `collection = wallet`, what is left makes the subscription past due. Returns the
    /// outcome when there was something to collect, and the invoice as it stands after.
    pub(super) fn settle_new(
        &self,
        sub: &mut Subscription,
        invoice: &Invoice,
        auto_pay: bool,
        at: DateTime<Utc>,
    ) -> DomainResult<(Option<&'static str>, Invoice)> {
        if invoice.amount_due().is_zero() {
            return Ok((None, invoice.clone()));
        }
        let after = match (auto_pay, sub.collection) {
            (true, _) => self.payments.auto_pay(invoice, at)?,
            (false, Collection::Wallet) => self.payments.collect_from_wallet(invoice, at)?,
            (false, Collection::SendInvoice) => return Ok((None, invoice.clone())),
        };
        if after.amount_due().is_zero() {
            return Ok((Some("paid"), after));
        }
        if sub.collection != Collection::Wallet {
            return Ok((None, after));
        }
        if !sub.is_over() {
            sub.status = SubscriptionStatus::PastDue;
            sub.dunning_attempts = 0;
            sub.collection_retry_at = Some(at + Duration::days(DUNNING_DAYS[0]));
        }
        Ok((Some("past_due"), after))
    }

    /// Pays `invoice` from the customer's open wallet in its currency as far as the credits
    /// cover it (to the minor unit). True when nothing is left to pay.
    pub(super) fn collect(&self, invoice: &Invoice, at: DateTime<Utc>) -> DomainResult<bool> {
        Ok(self
            .payments
            .collect_from_wallet(invoice, at)?
            .amount_due()
            .is_zero())
    }

    /// The customer's active wallet in `currency` (the one billing pays from and credits).
    pub(super) fn active_wallet(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &CustomerId,
        currency: crate::money::Currency,
    ) -> DomainResult<Option<Wallet>> {
        let theirs = CustomerScope::new(tenant_id, customer_id);
        active_wallet(self.wallets.as_ref(), &theirs, currency)
    }

    /// A dunning retry: collect the subscription's open invoices, oldest first.
    pub(super) fn retry_collection(
        &self,
        mut sub: Subscription,
        at: DateTime<Utc>,
        source: RunSource,
        catalog: &mut Catalog,
    ) -> DomainResult<()> {
        let open = open_invoices(self.invoices.as_ref(), &sub)?;
        let mut all_paid = true;
        for inv in &open {
            all_paid &= self.collect(inv, at)?;
        }
        let outcome = if all_paid {
            sub.status = SubscriptionStatus::Active;
            sub.collection_retry_at = None;
            sub.dunning_attempts = 0;
            sub.updated_at = at;
            self.events
                .subscription(EventType::SubscriptionChanged, &sub)?;
            "paid"
        } else {
            sub.dunning_attempts += 1;
            let step = sub.dunning_attempts as usize;
            let issued = open.first().and_then(|i| i.issued_at).unwrap_or(at);
            match DUNNING_DAYS.get(step) {
                Some(days) => {
                    sub.collection_retry_at =
                        Some((issued + Duration::days(*days)).max(at + Duration::seconds(1)));
                    "past_due"
                }
                None => {
                    let plan = self.plan(catalog, &sub.tenant_id, &sub.plan_id)?;
                    match plan.past_due_action {
                        PastDueAction::Cancel => {
                            sub.end(at);
                            self.events
                                .subscription(EventType::SubscriptionCanceled, &sub)?;
                            "canceled_unpaid"
                        }
                        // No more retries: past due until the invoices are paid another way.
                        PastDueAction::LeaveUnpaid => {
                            sub.collection_retry_at = None;
                            "left_unpaid"
                        }
                    }
                }
            }
        };
        sub.updated_at = at;
        self.subscriptions.update(&sub)?;
        self.runs.record(&run(
            &sub,
            RunKind::Collection,
            None,
            open.first().map(|i| i.id.to_string()),
            outcome,
            None,
            source,
            at,
        ))
    }
}
