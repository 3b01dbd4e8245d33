//! The customer dashboard in one call, computed from one read of its read model
//! ([`crate::ports::DashboardRepo`]) by the same rules as the separate views: the wallet list's
//! first page with expiries applied and usage accrued, what is owed per currency, the last 7
//! days of usage by day with cost, the running subscriptions with their plans' names.

use std::sync::Arc;

use crate::dashboard::DashboardReads;
use crate::ports::DashboardRepo;
use crate::scope::CustomerScope;
use crate::services::accrual;
use crate::services::invoices::{self, Outstanding};
use crate::services::subscriptions::{named_with, NamedSubscription};
use crate::services::wallets::WalletService;
use crate::usage::{build_report, hour_of, Granularity, UsageReport};
use crate::wallet::Wallet;
use crate::{clock, DomainResult};

/// The dashboard's wallets: as many as the wallet list's first page shows.
const WALLETS_SHOWN: usize = 100;

#[derive(Clone)]
pub struct OverviewService {
    dashboard: Arc<dyn DashboardRepo>,
    wallets: WalletService,
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
    pub fn new(dashboard: Arc<dyn DashboardRepo>, wallets: WalletService) -> Self {
        Self { dashboard, wallets }
    }

    /// 404 `customer_not_found` for another account's customer, whatever the parts.
    pub fn overview(
        &self,
        customer: &CustomerScope,
        parts: OverviewParts,
    ) -> DomainResult<Overview> {
        let now = clock::now();
        let from = now - chrono::Duration::days(7);
        // Rollups of every hour that overlaps the window, including the local day's start.
        let reads = self
            .dashboard
            .dashboard(
                customer,
                Some((hour_of(from) - chrono::Duration::days(1), now)),
            )?
            .ok_or_else(crate::id::CustomerId::not_found)?;
        let usage = parts.usage.then(|| {
            let tz: chrono_tz::Tz = reads.timezone.parse().unwrap_or(chrono_tz::UTC);
            build_report(
                &reads.rollups,
                &reads.features,
                from,
                now,
                Granularity::Day,
                tz,
                None,
            )
        });
        let wallets = match parts.wallets {
            true => Some(self.wallets_of(&reads)?),
            false => None,
        };
        let subscriptions = match parts.subscriptions {
            true => Some(named_with(reads.running.clone(), &reads.plans)?),
            false => None,
        };
        Ok(Overview {
            wallets,
            outstanding: parts
                .outstanding
                .then(|| invoices::outstanding(&reads.open_invoices, now)),
            usage,
            subscriptions,
        })
    }

    /// The customer's wallets as the wallet list shows them: newest first, each as of now
    /// (expiries that fell due are written first), with the usage accrued against the one
    /// billing pays from.
    fn wallets_of(&self, reads: &DashboardReads) -> DomainResult<Vec<Wallet>> {
        let mut shown = Vec::new();
        for found in reads.wallets.iter().take(WALLETS_SHOWN).cloned() {
            shown.push(self.wallets.as_of_now(found)?);
        }
        let all: Vec<Wallet> = reads.wallets.iter().map(|(w, _)| w.clone()).collect();
        let accrued = accrual::priced(
            &reads.running,
            &reads.plans,
            &reads.counters,
            &reads.features,
        );
        accrual::assign(&mut shown, &all, &accrued);
        Ok(shown)
    }
}
