use std::sync::Arc;

use crate::ErrorCode;
use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};

use crate::id::WalletId;
use crate::money::Currency;
use crate::page::{Page, PageRequest};
use crate::portal_session::CustomerRef;
use crate::ports::{CustomerRepo, TxFilter, UnitOfWork, WalletRepo, WalletState};
use crate::scope::Scope;
use crate::services::customers;
use crate::services::webhooks::Events;
use crate::wallet::{
    consumption_order, draw, validate_credits, validate_text, Allocation, CreditLot, LotKind,
    TxType, Wallet, WalletStatus, WalletTransaction,
};
use crate::{clock, id, DomainError, DomainResult, FieldError};

#[derive(Clone)]
pub struct WalletService {
    wallets: Arc<dyn WalletRepo>,
    customers: Arc<dyn CustomerRepo>,
    units: Arc<dyn UnitOfWork>,
    events: Events,
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

#[derive(Debug, Clone)]
pub struct TopUp {
    pub credits: BigDecimal,
    pub kind: LotKind,
    /// Lower is consumed first; default 0.
    pub priority: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Debit {
    pub credits: BigDecimal,
    pub reason: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub idempotency_key: Option<String>,
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

/// Appends a ledger entry and moves the balance.
#[expect(
    clippy::too_many_arguments,
    reason = "one ledger entry's fields, each its own value"
)]
fn record(
    st: &mut WalletState,
    tx_type: TxType,
    credits: BigDecimal,
    reason: &str,
    description: Option<String>,
    reference: Option<String>,
    idempotency_key: Option<String>,
    allocations: Vec<Allocation>,
    now: DateTime<Utc>,
) {
    let before = st.wallet.balance.clone();
    let after = if tx_type.adds() {
        &before + &credits
    } else {
        &before - &credits
    };
    st.wallet.ledger_seq += 1;
    st.txs.push(WalletTransaction {
        id: id::new_id(id::WALLET_TX),
        tenant_id: st.wallet.tenant_id.clone(),
        wallet_id: st.wallet.id.clone(),
        seq: st.wallet.ledger_seq,
        tx_type,
        value: st.wallet.value_of(&credits),
        credits,
        balance_before: before,
        balance_after: after.clone(),
        reason: reason.to_owned(),
        description,
        reference,
        idempotency_key,
        allocations,
        created_at: now,
    });
    st.wallet.balance = after;
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
    Ok(customer_wallets(repo, customer)?
        .into_iter()
        .find(|w| w.currency == currency && w.status == WalletStatus::Active))
}

/// Takes lots past their expiry out of the balance, each with an `expiry` entry.
pub fn apply_expiry(st: &mut WalletState, now: DateTime<Utc>) -> DomainResult<()> {
    let unloaded_due = st
        .partial
        .as_ref()
        .and_then(|p| p.expiring_before)
        .is_some_and(|before| before <= now);
    if unloaded_due {
        return Err(DomainError::WalletLotsNeeded);
    }
    let mut due: Vec<usize> = (0..st.lots.len())
        .filter(|&i| {
            st.lots[i].expires_at.is_some_and(|t| t <= now) && !st.lots[i].available.is_zero()
        })
        .collect();
    due.sort_by_key(|&i| (st.lots[i].expires_at, st.lots[i].created_at));
    for i in due {
        let lot = &mut st.lots[i];
        let credits = std::mem::replace(&mut lot.available, BigDecimal::zero());
        let allocation = Allocation::of(lot, credits.clone());
        record(
            st,
            TxType::Expiry,
            credits,
            "expiry",
            None,
            None,
            None,
            vec![allocation],
            now,
        );
    }
    Ok(())
}

/// The invariants every change must keep; checked before anything is written: the balance
/// is the sum of the live lots (with a partial load: moved by exactly what the loaded lots
/// moved), and neither goes below zero.
pub(crate) fn check_invariants(st: &WalletState) -> DomainResult<()> {
    let live: BigDecimal = st
        .lots
        .iter()
        .chain(&st.new_lots)
        .map(|l| l.available.clone())
        .sum();
    let balanced = match &st.partial {
        None => live == st.wallet.balance,
        Some(p) => live - &p.loaded_before == &st.wallet.balance - &p.balance_before,
    };
    let broken = st.wallet.balance < BigDecimal::zero()
        || !balanced
        || st
            .lots
            .iter()
            .chain(&st.new_lots)
            .any(|l| l.available < BigDecimal::zero());
    if broken {
        return Err(DomainError::internal(format!(
            "wallet {} invariant violated; change refused",
            st.wallet.id
        )));
    }
    Ok(())
}

fn require_open(w: &Wallet) -> DomainResult<()> {
    match w.status {
        WalletStatus::Active => Ok(()),
        WalletStatus::Frozen => Err(DomainError::Conflict {
            code: ErrorCode::WalletFrozen,
            message: "the wallet is frozen".into(),
        }),
        WalletStatus::Closed => Err(DomainError::Conflict {
            code: ErrorCode::WalletClosed,
            message: "the wallet is closed".into(),
        }),
    }
}

/// Inputs of a top-up or debit: a positive amount and short texts.
pub(crate) fn check_movement(
    credits: &BigDecimal,
    reason: Option<&str>,
    description: Option<&str>,
    reference: Option<&str>,
) -> DomainResult<()> {
    validate_credits("credits", credits)?;
    let mut errs = Vec::new();
    validate_text("reason", reason, 64, &mut errs);
    validate_text("description", description, 500, &mut errs);
    validate_text("reference", reference, 255, &mut errs);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errs))
    }
}

/// The wallet after a top-up or debit, and the entry it wrote (the last one: expiries applied
/// first come before it).
fn movement(st: WalletState) -> (Wallet, WalletTransaction) {
    let tx = st
        .txs
        .last()
        .expect("a top-up or debit records a transaction")
        .clone();
    (st.wallet, tx)
}

/// Adds a top-up to a locked wallet: expiries first, then a new lot and a `credit` entry.
pub fn credit_state(st: &mut WalletState, t: &TopUp, now: DateTime<Utc>) -> DomainResult<()> {
    apply_expiry(st, now)?;
    require_open(&st.wallet)?;
    if !crate::money::within_limit(&(&st.wallet.balance + &t.credits)) {
        return Err(DomainError::validation(
            "credits",
            "would take the wallet's balance to 10^18 credits or more",
        ));
    }
    let lot = CreditLot {
        id: id::new_id(id::CREDIT_LOT),
        wallet_id: st.wallet.id.clone(),
        kind: t.kind,
        priority: t.priority.unwrap_or(0),
        granted: t.credits.clone(),
        available: t.credits.clone(),
        expires_at: t.expires_at,
        created_at: now,
    };
    let allocation = Allocation::of(&lot, t.credits.clone());
    st.new_lots.push(lot);
    let reason = t
        .reason
        .clone()
        .unwrap_or_else(|| t.kind.as_str().to_owned());
    record(
        st,
        TxType::Credit,
        t.credits.clone(),
        &reason,
        t.description.clone(),
        t.reference.clone(),
        t.idempotency_key.clone(),
        vec![allocation],
        now,
    );
    Ok(())
}

/// Takes a debit from a locked wallet: expiries first; not enough → `insufficient_credits`.
pub(crate) fn debit_state(st: &mut WalletState, d: &Debit, now: DateTime<Utc>) -> DomainResult<()> {
    apply_expiry(st, now)?;
    require_open(&st.wallet)?;
    if st.wallet.balance < d.credits {
        return Err(DomainError::Unprocessable {
            code: ErrorCode::InsufficientCredits,
            message: format!(
                "the wallet holds {} credits",
                crate::money::canonical(&st.wallet.balance)
            ),
        });
    }
    consumption_order(&mut st.lots);
    // With a partial load, only the loaded run of lots in consumption order may be drawn from;
    // lots loaded for their expiry that sort after it are not next in line.
    let drawable = match st
        .partial
        .as_ref()
        .and_then(|p| p.drawable_through.as_ref())
    {
        None => st.lots.len(),
        Some(last) => {
            let end = st
                .lots
                .iter()
                .position(|l| &l.id == last)
                .map_or(0, |i| i + 1);
            let held: BigDecimal = st.lots[..end].iter().map(|l| &l.available).sum();
            if held < d.credits {
                return Err(DomainError::WalletLotsNeeded);
            }
            end
        }
    };
    let allocations = draw(&mut st.lots[..drawable], &d.credits);
    let reason = d.reason.clone().unwrap_or_else(|| "usage".to_owned());
    record(
        st,
        TxType::Debit,
        d.credits.clone(),
        &reason,
        d.description.clone(),
        d.reference.clone(),
        d.idempotency_key.clone(),
        allocations,
        now,
    );
    Ok(())
}

impl WalletService {
    pub fn new(
        wallets: Arc<dyn WalletRepo>,
        customers: Arc<dyn CustomerRepo>,
        units: Arc<dyn UnitOfWork>,
        events: Events,
    ) -> Self {
        Self {
            wallets,
            customers,
            units,
            events,
        }
    }

    pub fn create(&self, tenant_id: &str, input: NewWallet) -> DomainResult<Wallet> {
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
            tenant_id: tenant_id.to_owned(),
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
        };
        self.wallets.insert(&wallet)?;
        Ok(wallet)
    }

    /// The wallet as of now: lots past their expiry have left the balance. Outside the scope
    /// (another account's, or another customer's) it is not found.
    pub fn get(&self, scope: &Scope, id: &WalletId) -> DomainResult<Wallet> {
        let found = self.wallets.get(scope, id)?.ok_or_else(not_found)?;
        self.as_of_now(found)
    }

    /// A stored wallet with the expiries that fell due since it was written applied.
    fn as_of_now(
        &self,
        (wallet, next_expiry): (Wallet, Option<chrono::DateTime<chrono::Utc>>),
    ) -> DomainResult<Wallet> {
        let now = clock::now();
        if next_expiry.is_some_and(|t| t <= now) {
            return Ok(self
                .change(&wallet.tenant_id, &wallet.id, None, |st| {
                    apply_expiry(st, now)
                })?
                .wallet);
        }
        Ok(wallet)
    }

    /// The scope's wallets (narrowed to `customer_id` if given), each as of now.
    pub fn list(
        &self,
        scope: &Scope,
        customer_id: Option<&str>,
        page: &PageRequest,
    ) -> DomainResult<Page<Wallet>> {
        let listed = self.wallets.list(scope, customer_id, page)?;
        let mut items = Vec::with_capacity(listed.items.len());
        for found in listed.items {
            items.push(self.as_of_now(found)?);
        }
        Ok(Page {
            items,
            has_more: listed.has_more,
            next_cursor: listed.next_cursor,
        })
    }

    pub fn update(
        &self,
        tenant_id: &str,
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
        Ok(self
            .change(tenant_id, id, None, |st| {
                apply_expiry(st, now)?;
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
            .wallet)
    }

    pub fn top_up(
        &self,
        tenant_id: &str,
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
        let st = self.change(tenant_id, id, Some("get credits"), |st| {
            credit_state(st, &t, now)
        })?;
        Ok(movement(st))
    }

    /// Debits credits; not enough → 422 `insufficient_credits` and nothing changes.
    pub fn debit(
        &self,
        tenant_id: &str,
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
        let st = self.change(tenant_id, id, Some("be debited"), |st| {
            debit_state(st, &d, now)
        })?;
        Ok(movement(st))
    }

    /// Closes a wallet: remaining credits are voided by one ledger entry. Idempotent.
    pub fn close(&self, tenant_id: &str, id: &WalletId) -> DomainResult<Wallet> {
        let now = clock::now();
        Ok(self
            .change(tenant_id, id, None, |st| {
                apply_expiry(st, now)?;
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
                    record(
                        st,
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
        // Brings the ledger up to date (expiries) and checks the wallet is in the scope.
        let wallet = self.get(scope, id)?;
        self.wallets
            .transactions(&wallet.tenant_id, &wallet.id, filter, page)
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

    pub fn live_lots(&self, tenant_id: &str, id: &WalletId) -> DomainResult<Vec<CreditLot>> {
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
            self.change(tenant, wallet, None, |st| apply_expiry(st, now))?;
        }
        Ok(due.len())
    }

    /// Applies `f` to the locked wallet. `money`: the change moves money for its customer
    /// (completes "archived customers cannot …"), refused for an archived customer.
    fn change(
        &self,
        tenant_id: &str,
        id: &str,
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
                check_invariants(st)
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::ports::PartialLots;
    use crate::wallet::{CreditLot, LotKind};

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    fn lot(
        id: &str,
        priority: i32,
        available: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> CreditLot {
        CreditLot {
            id: id.into(),
            wallet_id: WalletId::new(),
            kind: LotKind::Purchased,
            priority,
            granted: d(available),
            available: d(available),
            expires_at,
            created_at: Utc::now(),
        }
    }

    /// A wallet of `balance` credits with `lots` loaded; `partial` as a repository loads it.
    fn state(
        balance: &str,
        lots: Vec<CreditLot>,
        partial: Option<(Option<DateTime<Utc>>, Option<&str>)>,
    ) -> WalletState {
        let now = Utc::now();
        let loaded_before = lots.iter().map(|l| &l.available).sum();
        WalletState {
            wallet: Wallet {
                id: WalletId::new(),
                tenant_id: "ten_1".into(),
                customer_id: crate::id::CustomerId::new(),
                name: "Credits".into(),
                currency: Currency::parse("USD").unwrap(),
                conversion_rate: d("1"),
                status: WalletStatus::Active,
                balance: d(balance),
                ledger_seq: 0,
                low_balance_threshold: None,
                created_at: now,
                updated_at: now,
            },
            lots,
            partial: partial.map(|(expiring_before, through)| PartialLots {
                expiring_before,
                drawable_through: through.map(str::to_owned),
                balance_before: d(balance),
                loaded_before,
            }),
            new_lots: Vec::new(),
            txs: Vec::new(),
        }
    }

    fn debit(credits: &str) -> Debit {
        Debit {
            credits: d(credits),
            reason: None,
            description: None,
            reference: None,
            idempotency_key: None,
        }
    }

    #[test]
    fn a_partial_load_serves_a_debit_its_loaded_run_covers() {
        // "b" was loaded for its expiry and sorts after the loaded run: it is not drawn from.
        let later = Utc::now() + chrono::Duration::days(400);
        let lots = vec![lot("a", 0, "5", None), lot("b", 1, "50", Some(later))];
        let mut st = state("1000", lots, Some((Some(later), Some("a"))));
        debit_state(&mut st, &debit("4"), Utc::now()).unwrap();
        assert_eq!(
            st.lots
                .iter()
                .map(|l| l.available.clone())
                .collect::<Vec<_>>(),
            vec![d("1"), d("50")]
        );
        assert_eq!(st.wallet.balance, d("996"));
        check_invariants(&st).unwrap();

        let lots = vec![lot("a", 0, "5", None), lot("b", 1, "50", Some(later))];
        let mut st = state("1000", lots, Some((Some(later), Some("a"))));
        assert!(matches!(
            debit_state(&mut st, &debit("6"), Utc::now()),
            Err(DomainError::WalletLotsNeeded)
        ));
    }

    #[test]
    fn expiries_beyond_a_partial_load_need_every_lot() {
        let now = Utc::now();
        let lots = vec![lot("a", 0, "5", Some(now - chrono::Duration::days(1)))];
        let mut st = state(
            "100",
            lots.clone(),
            Some((Some(now - chrono::Duration::hours(1)), None)),
        );
        assert!(matches!(
            apply_expiry(&mut st, now),
            Err(DomainError::WalletLotsNeeded)
        ));
        // Every lot due before `now` is loaded: it expires, and the balance moves with it.
        let mut st = state(
            "100",
            lots,
            Some((Some(now + chrono::Duration::hours(1)), None)),
        );
        apply_expiry(&mut st, now).unwrap();
        assert_eq!(st.wallet.balance, d("95"));
        check_invariants(&st).unwrap();
    }

    #[test]
    fn a_partial_load_checks_that_the_balance_moved_with_the_lots() {
        let mut st = state("100", vec![lot("a", 0, "5", None)], Some((None, Some("a"))));
        st.lots[0].available = d("4");
        st.wallet.balance = d("98"); // moved by 2, the lots by 1
        assert!(matches!(
            check_invariants(&st),
            Err(DomainError::Internal(_))
        ));
        st.wallet.balance = d("99");
        check_invariants(&st).unwrap();
        // Loaded whole, the balance must equal the lots.
        let st = state("100", vec![lot("a", 0, "5", None)], None);
        assert!(check_invariants(&st).is_err());
    }
}
