use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};

use crate::id::WalletId;
use crate::money::Currency;
use crate::page::{Page, PageRequest};
use crate::portal_session::CustomerRef;
use crate::ports::{CustomerRepo, UnitOfWork, WalletRepo};
use crate::scope::Scope;
use crate::services::customers;
use crate::services::webhooks::Events;
use crate::wallet::TxFilter;
use crate::wallet::WalletState;
use crate::wallet::{
    check_movement, require_open, validate_text, Allocation, CreditLot, TxType, Wallet,
    WalletStatus, WalletTransaction,
};
// The ledger's inputs, where callers of the wallet service have always found them.
pub use crate::wallet::{Debit, TopUp};
use crate::{clock, DomainError, DomainResult, FieldError};

#[derive(Clone)]
pub struct WalletService {
    wallets: Arc<dyn WalletRepo>,
    customers: Arc<dyn CustomerRepo>,
    units: Arc<dyn UnitOfWork>,
    events: Events,
    /// Every wallet this service answers with carries its accrued usage (`ongoing_balance`).
    accrual: crate::services::accrual::Accrual,
}

pub fn not_found() -> DomainError {
    WalletId::not_found()
}

#[derive(Debug, Clone)]
pub struct NewWallet {
    pub customer_id: String,
    pub name: Option<String>,
    pub currency: String,
    /// Default 1.
    pub conversion_rate: Option<BigDecimal>,
    /// Credits; see [`Wallet::low_balance_threshold`].
    pub low_balance_threshold: Option<BigDecimal>,
}

#[derive(Debug, Clone, Default)]
pub struct WalletPatch {
    pub name: Option<String>,
    /// `Active` or `Frozen`; closing has its own operation.
    pub status: Option<WalletStatus>,
    /// `Some(None)` clears it.
    pub low_balance_threshold: Option<Option<BigDecimal>>,
}

/// A low-balance threshold: credits, at least zero, at most 18 decimals.
fn check_threshold(t: Option<&BigDecimal>, errs: &mut Vec<FieldError>) {
    if t.is_some_and(|t| *t < BigDecimal::zero() || t.as_bigint_and_exponent().1 > 18) {
        errs.push(FieldError::new(
            "low_balance_threshold",
            "must be zero or more credits, with at most 18 decimals",
        ));
    }
}

/// Moves every lot past its expiry out of the balance, one `expiry` entry per lot.
/// Every wallet of a customer as stored (for its currency and status; balances may predate
/// due expiries), all pages.
pub fn customer_wallets(
    repo: &dyn WalletRepo,
    customer: &crate::scope::CustomerScope,
) -> DomainResult<Vec<Wallet>> {
    let scope = Scope::from(customer.clone());
    let mut page = PageRequest::new(Some(100), None)?;
    let mut all = Vec::new();
    loop {
        let listed = repo.list(&scope, None, &page)?;
        all.extend(listed.items.into_iter().map(|(w, _)| w));
        match listed.next_cursor {
            Some(next) => page = PageRequest::new(Some(100), Some(&next))?,
            None => return Ok(all),
        }
    }
}

/// The customer's active wallet in `currency`: the one billing and the portal pay from (and
/// billing credits).
pub fn active_wallet(
    repo: &dyn WalletRepo,
    customer: &crate::scope::CustomerScope,
    currency: Currency,
) -> DomainResult<Option<Wallet>> {
    Ok(payer(&customer_wallets(repo, customer)?, currency).cloned())
}

/// The wallet billing pays from in `currency` among a customer's wallets (newest first): the
/// first active one.
pub fn payer(wallets: &[Wallet], currency: Currency) -> Option<&Wallet> {
    wallets
        .iter()
        .find(|w| w.currency == currency && w.status == WalletStatus::Active)
}

impl WalletService {
    pub fn new(
        wallets: Arc<dyn WalletRepo>,
        customers: Arc<dyn CustomerRepo>,
        units: Arc<dyn UnitOfWork>,
        events: Events,
        accrual: crate::services::accrual::Accrual,
    ) -> Self {
        Self {
            wallets,
            customers,
            units,
            events,
            accrual,
        }
    }

    /// `wallet` with its accrued usage filled in.
    fn accrued(&self, mut wallet: Wallet) -> DomainResult<Wallet> {
        self.accrual.fill(std::slice::from_mut(&mut wallet))?;
        Ok(wallet)
    }

    fn accrued_movement(
        &self,
        (wallet, tx): (Wallet, WalletTransaction),
    ) -> DomainResult<(Wallet, WalletTransaction)> {
        Ok((self.accrued(wallet)?, tx))
    }

    pub fn create(
        &self,
        tenant_id: &crate::id::TenantId,
        input: NewWallet,
    ) -> DomainResult<Wallet> {
        let mut errs = Vec::new();
        let currency = Currency::parse(&input.currency).map_err(|_| ());
        if currency.is_err() {
            errs.push(FieldError::new(
                "currency",
                "must be an ISO 4217 currency code such as \"USD\"",
            ));
        }
        let rate = input.conversion_rate.unwrap_or_else(|| BigDecimal::from(1));
        if rate <= BigDecimal::zero() || rate.as_bigint_and_exponent().1 > 18 {
            errs.push(FieldError::new(
                "conversion_rate",
                "must be greater than zero, with at most 18 decimals",
            ));
        }
        let name = input
            .name
            .map(|n| n.trim().to_owned())
            .unwrap_or_else(|| "Credits".to_owned());
        if name.is_empty() {
            errs.push(FieldError::new("name", "must not be empty"));
        }
        validate_text("name", Some(&name), 100, &mut errs);
        check_threshold(input.low_balance_threshold.as_ref(), &mut errs);
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        let customer = customers::active_customer(
            self.customers.as_ref(),
            tenant_id,
            CustomerRef::Id(input.customer_id),
            "get new wallets",
        )?;
        let now = clock::now();
        let wallet = Wallet {
            id: crate::id::WalletId::new(),
            tenant_id: tenant_id.clone(),
            customer_id: customer.id,
            name,
            currency: currency.expect("validated"),
            conversion_rate: rate,
            status: WalletStatus::Active,
            balance: BigDecimal::zero(),
            ledger_seq: 0,
            low_balance_threshold: input.low_balance_threshold,
            created_at: now,
            updated_at: now,
            accrued_usage: BigDecimal::zero(),
        };
        self.wallets.insert(&wallet)?;
        self.accrued(wallet)
    }

    /// The wallet as of now: lots past their expiry have left the balance. Outside the scope
    /// (another account's, or another customer's) it is not found.
    pub fn get(&self, scope: &Scope, id: &WalletId) -> DomainResult<Wallet> {
        let found = self.wallets.get(scope, id)?.ok_or_else(not_found)?;
        self.accrued(self.as_of_now(found)?)
    }

    /// A stored wallet with the expiries that fell due since it was written applied.
    pub(crate) fn as_of_now(
        &self,
        (wallet, next_expiry): (Wallet, Option<chrono::DateTime<chrono::Utc>>),
    ) -> DomainResult<Wallet> {
        let now = clock::now();
        if next_expiry.is_some_and(|t| t <= now) {
            return Ok(self
                .change(&wallet.tenant_id, &wallet.id, None, |st| st.expire(now))?
                .wallet);
        }
        Ok(wallet)
    }

    /// The scope's wallets (narrowed to `customer_id` if given), each as of now.
    pub fn list(
        &self,
        scope: &Scope,
        customer_id: Option<&crate::id::CustomerId>,
        page: &PageRequest,
    ) -> DomainResult<Page<Wallet>> {
        let listed = self.wallets.list(scope, customer_id, page)?;
        let mut items = Vec::with_capacity(listed.items.len());
        for found in listed.items {
            items.push(self.as_of_now(found)?);
        }
        self.accrual.fill(&mut items)?;
        Ok(Page {
            items,
            has_more: listed.has_more,
            next_cursor: listed.next_cursor,
        })
    }

    pub fn update(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WalletId,
        patch: WalletPatch,
    ) -> DomainResult<Wallet> {
        let mut errs = Vec::new();
        if let Some(n) = &patch.name {
            if n.trim().is_empty() {
                errs.push(FieldError::new("name", "must not be empty"));
            }
            validate_text("name", Some(n), 100, &mut errs);
        }
        if patch.status == Some(WalletStatus::Closed) {
            errs.push(FieldError::new(
                "status",
                "use POST /v1/wallets/{id}/close to close a wallet",
            ));
        }
        if let Some(t) = &patch.low_balance_threshold {
            check_threshold(t.as_ref(), &mut errs);
        }
        if patch.name.is_none() && patch.status.is_none() && patch.low_balance_threshold.is_none() {
            errs.push(FieldError::new("body", "at least one field must be given"));
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        let now = clock::now();
        let changed = self
            .change(tenant_id, id, None, |st| {
                st.expire(now)?;
                if st.wallet.status == WalletStatus::Closed {
                    return require_open(&st.wallet);
                }
                if let Some(n) = &patch.name {
                    st.wallet.name = n.trim().to_owned();
                }
                if let Some(s) = patch.status {
                    st.wallet.status = s;
                }
                if let Some(t) = &patch.low_balance_threshold {
                    st.wallet.low_balance_threshold = t.clone();
                }
                st.wallet.updated_at = now;
                Ok(())
            })?
            .wallet;
        self.accrued(changed)
    }

    pub fn top_up(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WalletId,
        t: TopUp,
    ) -> DomainResult<(Wallet, WalletTransaction)> {
        check_movement(
            &t.credits,
            t.reason.as_deref(),
            t.description.as_deref(),
            t.reference.as_deref(),
        )?;
        let now = clock::now();
        if t.expires_at.is_some_and(|e| e <= now) {
            return Err(DomainError::validation(
                "expires_at",
                "must be in the future",
            ));
        }
        let st = self.change(tenant_id, id, Some("get credits"), |st| st.credit(&t, now))?;
        self.accrued_movement(st.into_movement())
    }

    /// Debits credits; not enough → 422 `insufficient_credits` and nothing changes.
    pub fn debit(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WalletId,
        d: Debit,
    ) -> DomainResult<(Wallet, WalletTransaction)> {
        check_movement(
            &d.credits,
            d.reason.as_deref(),
            d.description.as_deref(),
            d.reference.as_deref(),
        )?;
        let now = clock::now();
        let st = self.change(tenant_id, id, Some("be debited"), |st| st.debit(&d, now))?;
        self.accrued_movement(st.into_movement())
    }

    /// Closes a wallet: remaining credits are voided by one ledger entry. Idempotent.
    pub fn close(&self, tenant_id: &crate::id::TenantId, id: &WalletId) -> DomainResult<Wallet> {
        let now = clock::now();
        Ok(self
            .change(tenant_id, id, None, |st| {
                st.expire(now)?;
                if st.wallet.status == WalletStatus::Closed {
                    return Ok(());
                }
                let remaining = st.wallet.balance.clone();
                if !remaining.is_zero() {
                    // Voiding takes every live lot.
                    if st.partial.is_some() {
                        return Err(DomainError::WalletLotsNeeded);
                    }
                    let allocations = st
                        .lots
                        .iter_mut()
                        .filter(|l| !l.available.is_zero())
                        .map(|l| {
                            let credits = std::mem::replace(&mut l.available, BigDecimal::zero());
                            Allocation::of(l, credits)
                        })
                        .collect();
                    st.record(
                        TxType::Void,
                        remaining,
                        "wallet_closed",
                        None,
                        None,
                        None,
                        allocations,
                        now,
                    );
                }
                st.wallet.status = WalletStatus::Closed;
                st.wallet.updated_at = now;
                Ok(())
            })?
            .wallet)
    }

    /// The ledger of a wallet in the scope.
    pub fn transactions(
        &self,
        scope: &Scope,
        id: &WalletId,
        filter: &TxFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<WalletTransaction>> {
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                return Err(DomainError::validation("from", "must not be after to"));
            }
        }
        // One read when the page has entries and no credit expiry of the wallet has fallen due;
        // otherwise the wallet is read (404 out of scope), its due expiries written to the
        // ledger, and the page read again.
        let (found, next_expiry) = self.wallets.transactions(scope, id, filter, page)?;
        if !found.items.is_empty() && next_expiry.is_none_or(|t| t > clock::now()) {
            return Ok(found);
        }
        self.as_of_now(self.wallets.get(scope, id)?.ok_or_else(not_found)?)?;
        Ok(self.wallets.transactions(scope, id, filter, page)?.0)
    }

    /// Credits of a wallet already read (in its scope) that expire within `horizon` from now.
    pub fn expiring_within(
        &self,
        wallet: &Wallet,
        horizon: chrono::Duration,
    ) -> DomainResult<BigDecimal> {
        let until = clock::now() + horizon;
        Ok(self
            .wallets
            .live_lots(&wallet.tenant_id, &wallet.id)?
            .into_iter()
            .filter(|l| l.expires_at.is_some_and(|t| t <= until))
            .map(|l| l.available)
            .sum())
    }

    pub fn live_lots(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WalletId,
    ) -> DomainResult<Vec<CreditLot>> {
        self.wallets.live_lots(tenant_id, id)
    }

    /// Checks every wallet flagged for a check of its lots (once, after an upgrade). Returns how
    /// many were checked.
    pub fn check_flagged_lots(&self) -> DomainResult<usize> {
        let mut checked = 0;
        loop {
            match self.wallets.check_flagged_lots(200)? {
                0 => return Ok(checked),
                n => checked += n,
            }
        }
    }

    /// Applies due expiries everywhere (the periodic sweeper). Returns how many wallets changed.
    pub fn sweep_expired(&self) -> DomainResult<usize> {
        let now = clock::now();
        let due = self.wallets.due_for_expiry(now, 500)?;
        for (tenant, wallet) in &due {
            self.change(tenant, wallet, None, |st| st.expire(now))?;
        }
        Ok(due.len())
    }

    /// Applies `f` to the locked wallet. `money`: the change moves money for its customer
    /// (completes "archived customers cannot …"), refused for an archived customer.
    fn change(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &WalletId,
        money: Option<&str>,
        mut f: impl FnMut(&mut WalletState) -> DomainResult<()>,
    ) -> DomainResult<WalletState> {
        let now = clock::now();
        // The change and the webhook events of its ledger entries commit together.
        self.units.run(&mut || {
            let st = self.wallets.change(tenant_id, id, &mut |st| {
                f(st)?;
                if !st.txs.is_empty() {
                    st.wallet.updated_at = now;
                }
                st.check()
            })?;
            if let Some(what) = money {
                customers::refuse_if_archived(
                    self.customers.as_ref(),
                    tenant_id,
                    &st.wallet.customer_id,
                    what,
                )?;
            }
            self.events.wallet_movements(&st.wallet, &st.txs)?;
            Ok(st)
        })
    }
}
