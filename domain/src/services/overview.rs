use crate::page::PageRequest;
use crate::scope::CustomerScope;
use crate::services::invoices::{InvoiceService, Outstanding};
use crate::services::subscriptions::{NamedSubscription, SubscriptionService};
use crate::services::usage::UsageService;
use crate::services::wallets::WalletService;
use crate::usage::{Granularity, UsageReport};
use crate::wallet::Wallet;
use crate::{clock, DomainResult};

/// The customer dashboard in one call.
#[derive(Clone)]
pub struct OverviewService {
    wallets: WalletService,
    invoices: InvoiceService,
    usage: UsageService,
    subscriptions: SubscriptionService,
}

/// Which parts to include (a portal session may have sections switched off).
#[derive(Debug, Clone, Copy)]
pub struct OverviewParts {
    pub wallets: bool,
    pub outstanding: bool,
    pub usage: bool,
    pub subscriptions: bool,
}

#[derive(Debug, Clone)]
pub struct Overview {
    pub wallets: Option<Vec<Wallet>>,
    pub outstanding: Option<Vec<Outstanding>>,
    /// The last 7 days by day, with cost per feature.
    pub usage: Option<UsageReport>,
    /// Subscriptions still running (trialing, active, past due or paused), newest first.
    pub subscriptions: Option<Vec<NamedSubscription>>,
}

impl OverviewService {
    pub fn new(
        wallets: WalletService,
        invoices: InvoiceService,
        usage: UsageService,
        subscriptions: SubscriptionService,
    ) -> Self {
        Self {
            wallets,
            invoices,
            usage,
            subscriptions,
        }
    }

    pub fn overview(
        &self,
        customer: &CustomerScope,
        parts: OverviewParts,
    ) -> DomainResult<Overview> {
        // Fails with 404 for another account's customer before anything else is read.
        let now = clock::now();
        let usage = self.usage.report(
            customer,
            now - chrono::Duration::days(7),
            now,
            Granularity::Day,
            None,
        )?;
        let wallets = if parts.wallets {
            let page = PageRequest::new(Some(100), None)?;
            Some(
                self.wallets
                    .list(&customer.clone().into(), None, &page)?
                    .items,
            )
        } else {
            None
        };
        let outstanding = if parts.outstanding {
            Some(self.invoices.outstanding(customer)?)
        } else {
            None
        };
        let subscriptions = if parts.subscriptions {
            let running = self.subscriptions.running(customer)?;
            Some(self.subscriptions.named(running)?)
        } else {
            None
        };
        Ok(Overview {
            wallets,
            outstanding,
            usage: parts.usage.then_some(usage),
            subscriptions,
        })
    }
}
