//! What a customer's usage has accrued and not yet been invoiced, at read time: the wallets'
//! `ongoing_balance` (see [`crate::wallet::Wallet::ongoing_balance`]).
//!
//! Each running subscription's current period is priced from its usage counters (kept in the
//! transaction of every accepted event, so exact as of the last acknowledged one) by its plan,
//! as its renewal will price it: tiers, included quantities, nothing while trialing or paused.
//! Before discounts and tax, as Lago's current usage: the credits a wallet keeps for what is
//! already used. The accrual counts against the wallet billing pays from: the customer's first
//! active wallet in the plan's currency; every other wallet accrues nothing.
//!
//! A wallet's `low_balance_threshold` is watched on the ongoing balance as usage arrives: the
//! transaction that records usage first locks the customers' wallets that have a threshold
//! ([`Accrual::watch`]), so that all usage of one such customer is serialised, and after the
//! usage is written sends `wallet.low_balance` for each wallet whose ongoing balance it took
//! from at least the threshold to below it ([`Accrual::settle`]) — in the same transaction:
//! never late, never twice for one crossing. (Ledger movements are compared on the balance
//! itself: `Events::wallet_movements`.)

use std::collections::HashMap;
use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};

use crate::money::Currency;
use crate::plan::Plan;
use crate::ports::{DashboardRepo, WalletRepo};
use crate::scope::CustomerScope;
use crate::subscription::Subscription;
use crate::usage::{Aggregation, Counter, Feature};
use crate::wallet::Wallet;
use crate::DomainResult;

#[derive(Clone)]
pub struct Accrual {
    /// Each customer's accrual is priced from one read of the dashboard's read model.
    pub dashboard: Arc<dyn DashboardRepo>,
    pub wallets: Arc<dyn WalletRepo>,
    pub events: crate::services::webhooks::Events,
}

/// The watched wallets of some customers (locked), each with its ongoing balance before the
/// usage being recorded.
pub struct Watch(Vec<(Wallet, BigDecimal)>);

impl Accrual {
    /// Sets each wallet's `accrued_usage` (see the module doc): one read per customer.
    pub fn fill(&self, wallets: &mut [Wallet]) -> DomainResult<()> {
        let mut seen: Vec<CustomerScope> = Vec::new();
        for i in 0..wallets.len() {
            let customer = CustomerScope::new(&wallets[i].tenant_id, &wallets[i].customer_id);
            if seen.contains(&customer) {
                continue;
            }
            if let Some(reads) = self.dashboard.dashboard(&customer, None)? {
                let accrued = priced(
                    &reads.running,
                    &reads.plans,
                    &reads.counters,
                    &reads.features,
                );
                let all: Vec<Wallet> = reads.wallets.into_iter().map(|(w, _)| w).collect();
                assign(wallets, &all, &accrued);
            }
            seen.push(customer);
        }
        Ok(())
    }

    /// Locks the customers' active wallets that have a threshold and notes their ongoing
    /// balance, before usage is recorded (in the caller's unit of work).
    pub fn watch(
        &self,
        tenant_id: &crate::id::TenantId,
        customers: &[crate::id::CustomerId],
    ) -> DomainResult<Watch> {
        let mut wallets = self.wallets.lock_watched(tenant_id, customers)?;
        if !wallets.is_empty() {
            self.fill(&mut wallets)?;
        }
        Ok(Watch(
            wallets
                .into_iter()
                .map(|w| {
                    let before = w.ongoing_balance();
                    (w, before)
                })
                .collect(),
        ))
    }

    /// After the usage is recorded: `wallet.low_balance` for each watched wallet whose ongoing
    /// balance it took from at least the threshold to below it.
    pub fn settle(&self, watch: Watch) -> DomainResult<()> {
        if watch.0.is_empty() {
            return Ok(());
        }
        let (mut wallets, before): (Vec<Wallet>, Vec<BigDecimal>) = watch.0.into_iter().unzip();
        for w in &mut wallets {
            w.accrued_usage = BigDecimal::zero();
        }
        self.fill(&mut wallets)?;
        for (w, before) in wallets.iter().zip(before) {
            let after = w.ongoing_balance();
            let crossed = w
                .low_balance_threshold
                .as_ref()
                .is_some_and(|t| before >= *t && after < *t);
            if crossed {
                self.events.ongoing_balance_low(w)?;
            }
        }
        Ok(())
    }
}

/// The usage charges accrued in the running subscriptions' current periods, per currency
/// (currencies with nothing accrued are left out), from rows already read: `plans` holds the
/// subscriptions' plans, `counters` their current periods' usage.
pub fn priced(
    running: &[Subscription],
    plans: &[Plan],
    counters: &[Counter],
    features: &[Feature],
) -> Vec<(Currency, BigDecimal)> {
    let mut out: Vec<(Currency, BigDecimal)> = Vec::new();
    if counters.is_empty() {
        return out;
    }
    for sub in running {
        let Some(plan) = plans.iter().find(|p| p.id == sub.plan_id) else {
            continue;
        };
        let usage: HashMap<String, BigDecimal> = counters
            .iter()
            .filter(|c| c.period.start == sub.current_period_start)
            .map(|c| {
                let aggregation = features
                    .iter()
                    .find(|f| f.key == c.feature_key)
                    .map_or(Aggregation::Sum, |f| f.aggregation);
                (c.feature_key.clone(), c.used(aggregation))
            })
            .collect();
        let accrued = crate::billing::accrued_usage(sub, plan, &usage);
        if !accrued.is_zero() {
            match out.iter_mut().find(|(c, _)| *c == plan.currency) {
                Some((_, sum)) => *sum += accrued,
                None => out.push((plan.currency, accrued)),
            }
        }
    }
    out
}

/// Gives each currency's accrual to the wallet billing pays from: the first active wallet in
/// that currency among `customer_wallets` (all the customer's, newest first), if it is one of
/// `wallets`.
pub fn assign(
    wallets: &mut [Wallet],
    customer_wallets: &[Wallet],
    accrued: &[(Currency, BigDecimal)],
) {
    for (currency, amount) in accrued {
        let payer = crate::services::wallets::payer(customer_wallets, *currency);
        for w in wallets.iter_mut() {
            if payer.is_some_and(|p| p.id == w.id) {
                w.accrued_usage = amount.clone();
            }
        }
    }
}
