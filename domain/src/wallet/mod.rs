//! Prepaid wallets and their credit ledger.
//!
//! A wallet holds credits in **lots** (one per top-up). Its balance is the sum of the lots'
//! available credits; every change is a ledger **transaction** with the balance before and
//! after. Invariants, under any concurrency: the balance never goes negative, equals the sum of
//! live lots, and the ledger replays to it (credits − debits − expiries − voids).
//!
//! Debits consume lots by priority (lower first), then earliest expiry (lots that never expire
//! last), then oldest. A lot past its `expires_at` leaves the balance through an `expiry`
//! transaction, applied before any read or write of the wallet and by a periodic sweeper.

mod ledger;

pub(crate) use ledger::require_open;
pub use ledger::{check_movement, Debit, PartialLots, TopUp, WalletState};

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CustomerId, WalletId};
use crate::money::Currency;
use crate::{DomainError, DomainResult, FieldError};

crate::text_enum! {
    pub enum WalletStatus {
        Active,
        /// Keeps its credits; no top-ups or debits until reactivated.
        Frozen,
        /// Final: remaining credits were voided.
        Closed,
    }
}

#[derive(Debug, Clone)]
pub struct Wallet {
    pub id: WalletId,
    pub tenant_id: crate::id::TenantId,
    pub customer_id: CustomerId,
    pub name: String,
    pub currency: Currency,
    /// Currency value of one credit (> 0).
    pub conversion_rate: BigDecimal,
    pub status: WalletStatus,
    /// Credits available: the sum of the live lots.
    pub balance: BigDecimal,
    /// Ledger entries so far; entry numbers are 1, 2, … per wallet.
    pub ledger_seq: i64,
    /// A movement that takes the balance from at least this to below it sends a
    /// `wallet.low_balance` webhook event.
    pub low_balance_threshold: Option<BigDecimal>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Currency value of the usage accrued and not yet invoiced that this wallet will pay
    /// (`crate::services::accrual`); not stored, 0 until a read fills it.
    pub accrued_usage: BigDecimal,
}

impl Wallet {
    /// The balance less the credits the accrued usage will take: what is left once what is
    /// already used is invoiced. Below 0 when the usage outruns the credits.
    pub fn ongoing_balance(&self) -> BigDecimal {
        match self.accrued_usage.is_zero() {
            true => self.balance.clone(),
            false => {
                &self.balance
                    - crate::payment::credits_for(&self.accrued_usage, &self.conversion_rate)
            }
        }
    }

    /// Currency value of `credits` at this wallet's rate, exact.
    pub fn value_of(&self, credits: &BigDecimal) -> BigDecimal {
        credits * &self.conversion_rate
    }

    /// The balance's currency value for display: rounded to the currency's minor unit, half
    /// away from zero (see `money`).
    pub fn display_value(&self, credits: &BigDecimal) -> String {
        self.currency.display(&self.value_of(credits))
    }
}

crate::text_enum! {
    pub enum LotKind {
        Purchased,
        Promotional,
    }
}

#[derive(Debug, Clone)]
pub struct CreditLot {
    pub id: String,
    pub wallet_id: WalletId,
    pub kind: LotKind,
    pub priority: i32,
    pub granted: BigDecimal,
    pub available: BigDecimal,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

crate::text_enum! {
    pub enum TxType {
        Credit,
        Debit,
        Expiry,
        Void,
    }
}

impl TxType {
    /// +1 for credits, −1 for everything that removes credits.
    pub fn adds(self) -> bool {
        self == Self::Credit
    }
}

/// Which lot a transaction drew from (or fed), and how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub lot_id: String,
    pub kind: LotKind,
    pub credits: BigDecimal,
    /// The lot's draw priority and expiry, so the history shows them without the lot. Absent
    /// on entries written before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Allocation {
    pub fn of(lot: &CreditLot, credits: BigDecimal) -> Self {
        Self {
            lot_id: lot.id.clone(),
            kind: lot.kind,
            credits,
            priority: Some(lot.priority),
            expires_at: lot.expires_at,
        }
    }
}

#[derive(Debug, Clone)]
pub struct WalletTransaction {
    pub id: String,
    pub tenant_id: crate::id::TenantId,
    pub wallet_id: WalletId,
    /// Position in the wallet's ledger (1, 2, …): the order entries happened in.
    pub seq: i64,
    pub tx_type: TxType,
    /// Always positive; `tx_type` says the direction.
    pub credits: BigDecimal,
    /// Currency value of `credits` at the wallet's rate, exact.
    pub value: BigDecimal,
    pub balance_before: BigDecimal,
    pub balance_after: BigDecimal,
    pub reason: String,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub idempotency_key: Option<String>,
    pub allocations: Vec<Allocation>,
    pub created_at: DateTime<Utc>,
}

/// Orders lots for consumption: priority, then earliest expiry (never-expiring last), then oldest.
pub fn consumption_order(lots: &mut [CreditLot]) {
    lots.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then_with(|| match (a.expires_at, b.expires_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.created_at.cmp(&b.created_at))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Takes `amount` from `lots` (already in consumption order), returning what came from each.
/// The caller has checked that the lots hold enough.
pub fn draw(lots: &mut [CreditLot], amount: &BigDecimal) -> Vec<Allocation> {
    let mut left = amount.clone();
    let mut taken = Vec::new();
    for lot in lots.iter_mut() {
        if left.is_zero() {
            break;
        }
        if lot.available.is_zero() {
            continue;
        }
        let take = if lot.available <= left {
            lot.available.clone()
        } else {
            left.clone()
        };
        lot.available -= &take;
        left -= &take;
        taken.push(Allocation::of(lot, take));
    }
    debug_assert!(left.is_zero(), "draw() called with insufficient lots");
    taken
}

/// Credit amounts: positive, at most 18 decimals, below 10^18.
pub fn validate_credits(field: &str, credits: &BigDecimal) -> DomainResult<()> {
    let (_, scale) = credits.as_bigint_and_exponent();
    if credits <= &BigDecimal::zero() {
        return Err(DomainError::validation(field, "must be greater than zero"));
    }
    if scale > 18 || !crate::money::within_limit(credits) {
        return Err(DomainError::validation(
            field,
            "must be below 10^18 with at most 18 decimals",
        ));
    }
    Ok(())
}

pub fn validate_text(field: &str, value: Option<&str>, max: usize, errs: &mut Vec<FieldError>) {
    if let Some(v) = value {
        if v.chars().count() > max || v.chars().any(char::is_control) {
            errs.push(FieldError::new(
                field,
                format!("must be at most {max} characters, without control characters"),
            ));
        }
    }
}

pub type WalletChange<'a> =
    &'a mut dyn FnMut(&mut crate::wallet::WalletState) -> crate::DomainResult<()>;

#[derive(Debug, Clone, Default)]
pub struct TxFilter {
    pub tx_type: Option<crate::wallet::TxType>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn lot(
        id: &str,
        priority: i32,
        expires_in_days: Option<i64>,
        available: &str,
        age: i64,
    ) -> CreditLot {
        let now = Utc::now();
        CreditLot {
            id: id.into(),
            wallet_id: WalletId::new(),
            kind: LotKind::Purchased,
            priority,
            granted: BigDecimal::from_str(available).unwrap(),
            available: BigDecimal::from_str(available).unwrap(),
            expires_at: expires_in_days.map(|d| now + chrono::Duration::days(d)),
            created_at: now - chrono::Duration::seconds(age),
        }
    }

    #[test]
    fn consumption_follows_priority_then_expiry_then_age() {
        let mut lots = vec![
            lot("never", 1, None, "5", 10),
            lot("late", 1, Some(30), "5", 5),
            lot("soon", 1, Some(2), "5", 1),
            lot("first", 0, None, "1", 0),
            lot("old-never", 1, None, "5", 20),
        ];
        consumption_order(&mut lots);
        let order: Vec<_> = lots.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(order, vec!["first", "soon", "late", "old-never", "never"]);
        let taken = draw(&mut lots, &BigDecimal::from_str("7.5").unwrap());
        let got: Vec<_> = taken
            .iter()
            .map(|a| (a.lot_id.as_str(), a.credits.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("first", "1".into()),
                ("soon", "5".into()),
                ("late", "1.5".into())
            ]
        );
        assert_eq!(lots[2].available, BigDecimal::from_str("3.5").unwrap());
    }

    #[test]
    fn credit_amount_validation() {
        let d = |s: &str| BigDecimal::from_str(s).unwrap();
        assert!(validate_credits("c", &d("0.000001")).is_ok());
        assert!(validate_credits("c", &d("1000000000000")).is_ok());
        assert!(validate_credits("c", &d("0")).is_err());
        assert!(validate_credits("c", &d("-1")).is_err());
        assert!(validate_credits("c", &d("0.0000000000000000001")).is_err());
        assert!(validate_credits("c", &d("100000000000000000000")).is_err());
    }
}
