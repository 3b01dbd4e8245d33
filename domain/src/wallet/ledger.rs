//! The ledger of a wallet, on its aggregate: a locked [`WalletState`] takes credits, debits and
//! expiries as methods that append entries, move the balance and keep the invariants (the
//! balance is the sum of the live lots, neither below zero), checked before anything is
//! written. Top-ups, debits, payments, refunds and billing all move money through these.

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};

use super::{
    consumption_order, draw, validate_credits, validate_text, Allocation, CreditLot, LotKind,
    TxType, Wallet, WalletStatus, WalletTransaction,
};
use crate::{id, DomainError, DomainResult, ErrorCode};

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

/// A wallet locked for change, with live lots (available ≠ 0): every one, or (`partial`) only
/// those a top-up or a debit may touch. A change edits it and appends new lots and
/// transactions; the repository then writes all of it in the same transaction.
#[derive(Debug, Clone)]
pub struct WalletState {
    pub wallet: Wallet,
    pub lots: Vec<CreditLot>,
    /// `None`: `lots` holds every live lot. A change that needs lots beyond what a partial
    /// load holds fails with [`crate::DomainError::WalletLotsNeeded`], and the repository runs
    /// it again with every live lot.
    pub partial: Option<PartialLots>,
    pub new_lots: Vec<CreditLot>,
    pub txs: Vec<WalletTransaction>,
}

/// What a partial load of a wallet's live lots holds, so a change can tell whether it is enough:
/// a debit draws lots in consumption order (priority, expiry, age), so a wallet with thousands
/// of live lots is charged by reading only the few it draws from, in index order.
#[derive(Debug, Clone)]
pub struct PartialLots {
    /// Every live lot that expires before this instant is loaded (`None`: every live lot that
    /// expires at all).
    pub expiring_before: Option<DateTime<Utc>>,
    /// In consumption order, every live lot up to and including this one is loaded (`None`:
    /// all of them).
    pub drawable_through: Option<String>,
    /// The balance and the sum of the loaded lots as loaded, for the invariant check.
    pub balance_before: BigDecimal,
    pub loaded_before: BigDecimal,
}

impl WalletState {
    /// Appends a ledger entry and moves the balance.
    #[expect(
        clippy::too_many_arguments,
        reason = "one ledger entry's fields, each its own value"
    )]
    pub(crate) fn record(
        &mut self,
        tx_type: TxType,
        credits: BigDecimal,
        reason: &str,
        description: Option<String>,
        reference: Option<String>,
        idempotency_key: Option<String>,
        allocations: Vec<Allocation>,
        now: DateTime<Utc>,
    ) {
        let before = self.wallet.balance.clone();
        let after = if tx_type.adds() {
            &before + &credits
        } else {
            &before - &credits
        };
        self.wallet.ledger_seq += 1;
        self.txs.push(WalletTransaction {
            id: id::new_id(id::WALLET_TX),
            tenant_id: self.wallet.tenant_id.clone(),
            wallet_id: self.wallet.id.clone(),
            seq: self.wallet.ledger_seq,
            tx_type,
            value: self.wallet.value_of(&credits),
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
        self.wallet.balance = after;
    }

    /// Takes lots past their expiry out of the balance, each with an `expiry` entry.
    pub fn expire(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        let unloaded_due = self
            .partial
            .as_ref()
            .and_then(|p| p.expiring_before)
            .is_some_and(|before| before <= now);
        if unloaded_due {
            return Err(DomainError::WalletLotsNeeded);
        }
        let mut due: Vec<usize> = (0..self.lots.len())
            .filter(|&i| {
                self.lots[i].expires_at.is_some_and(|t| t <= now)
                    && !self.lots[i].available.is_zero()
            })
            .collect();
        due.sort_by_key(|&i| (self.lots[i].expires_at, self.lots[i].created_at));
        for i in due {
            let lot = &mut self.lots[i];
            let credits = std::mem::replace(&mut lot.available, BigDecimal::zero());
            let allocation = Allocation::of(lot, credits.clone());
            self.record(
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
    pub fn check(&self) -> DomainResult<()> {
        let live: BigDecimal = self
            .lots
            .iter()
            .chain(&self.new_lots)
            .map(|l| l.available.clone())
            .sum();
        let balanced = match &self.partial {
            None => live == self.wallet.balance,
            Some(p) => live - &p.loaded_before == &self.wallet.balance - &p.balance_before,
        };
        let broken = self.wallet.balance < BigDecimal::zero()
            || !balanced
            || self
                .lots
                .iter()
                .chain(&self.new_lots)
                .any(|l| l.available < BigDecimal::zero());
        if broken {
            return Err(DomainError::internal(format!(
                "wallet {} invariant violated; change refused",
                self.wallet.id
            )));
        }
        Ok(())
    }

    /// Adds a top-up to a locked wallet: expiries first, then a new lot and a `credit` entry.
    pub fn credit(&mut self, t: &TopUp, now: DateTime<Utc>) -> DomainResult<()> {
        self.expire(now)?;
        require_open(&self.wallet)?;
        if !crate::money::within_limit(&(&self.wallet.balance + &t.credits)) {
            return Err(DomainError::validation(
                "credits",
                "would take the wallet's balance to 10^18 credits or more",
            ));
        }
        let lot = CreditLot {
            id: id::new_id(id::CREDIT_LOT),
            wallet_id: self.wallet.id.clone(),
            kind: t.kind,
            priority: t.priority.unwrap_or(0),
            granted: t.credits.clone(),
            available: t.credits.clone(),
            expires_at: t.expires_at,
            created_at: now,
        };
        let allocation = Allocation::of(&lot, t.credits.clone());
        self.new_lots.push(lot);
        let reason = t
            .reason
            .clone()
            .unwrap_or_else(|| t.kind.as_str().to_owned());
        self.record(
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
    pub fn debit(&mut self, d: &Debit, now: DateTime<Utc>) -> DomainResult<()> {
        self.expire(now)?;
        require_open(&self.wallet)?;
        if self.wallet.balance < d.credits {
            return Err(DomainError::Unprocessable {
                code: ErrorCode::InsufficientCredits,
                message: format!(
                    "the wallet holds {} credits",
                    crate::money::canonical(&self.wallet.balance)
                ),
            });
        }
        consumption_order(&mut self.lots);
        // With a partial load, only the loaded run of lots in consumption order may be drawn from;
        // lots loaded for their expiry that sort after it are not next in line.
        let drawable = match self
            .partial
            .as_ref()
            .and_then(|p| p.drawable_through.as_ref())
        {
            None => self.lots.len(),
            Some(last) => {
                let end = self
                    .lots
                    .iter()
                    .position(|l| &l.id == last)
                    .map_or(0, |i| i + 1);
                let held: BigDecimal = self.lots[..end].iter().map(|l| &l.available).sum();
                if held < d.credits {
                    return Err(DomainError::WalletLotsNeeded);
                }
                end
            }
        };
        let allocations = draw(&mut self.lots[..drawable], &d.credits);
        let reason = d.reason.clone().unwrap_or_else(|| "usage".to_owned());
        self.record(
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

    /// The wallet after a top-up or debit, and the entry it wrote (the last one: expiries applied
    /// first come before it).
    pub fn into_movement(self) -> (Wallet, WalletTransaction) {
        let tx = self
            .txs
            .last()
            .expect("a top-up or debit records a transaction")
            .clone();
        (self.wallet, tx)
    }
}

pub(crate) fn require_open(w: &Wallet) -> DomainResult<()> {
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
pub fn check_movement(
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::id::WalletId;
    use crate::money::Currency;
    use crate::wallet::LotKind;

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
                accrued_usage: BigDecimal::from(0),
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
        st.debit(&debit("4"), Utc::now()).unwrap();
        assert_eq!(
            st.lots
                .iter()
                .map(|l| l.available.clone())
                .collect::<Vec<_>>(),
            vec![d("1"), d("50")]
        );
        assert_eq!(st.wallet.balance, d("996"));
        st.check().unwrap();

        let lots = vec![lot("a", 0, "5", None), lot("b", 1, "50", Some(later))];
        let mut st = state("1000", lots, Some((Some(later), Some("a"))));
        assert!(matches!(
            st.debit(&debit("6"), Utc::now()),
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
        assert!(matches!(st.expire(now), Err(DomainError::WalletLotsNeeded)));
        // Every lot due before `now` is loaded: it expires, and the balance moves with it.
        let mut st = state(
            "100",
            lots,
            Some((Some(now + chrono::Duration::hours(1)), None)),
        );
        st.expire(now).unwrap();
        assert_eq!(st.wallet.balance, d("95"));
        st.check().unwrap();
    }

    #[test]
    fn a_partial_load_checks_that_the_balance_moved_with_the_lots() {
        let mut st = state("100", vec![lot("a", 0, "5", None)], Some((None, Some("a"))));
        st.lots[0].available = d("4");
        st.wallet.balance = d("98"); // moved by 2, the lots by 1
        assert!(matches!(st.check(), Err(DomainError::Internal(_))));
        st.wallet.balance = d("99");
        st.check().unwrap();
        // Loaded whole, the balance must equal the lots.
        let st = state("100", vec![lot("a", 0, "5", None)], None);
        assert!(st.check().is_err());
    }
}
