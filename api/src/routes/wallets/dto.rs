//! Wallet JSON shapes shared by admin and portal routes. Amounts are decimal strings.

use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::wallet::{LotKind, Wallet, WalletTransaction};
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::{decimal, list_type, present};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LotKindBody {
    Purchased,
    Promotional,
}

impl From<LotKindBody> for LotKind {
    fn from(k: LotKindBody) -> Self {
        match k {
            LotKindBody::Purchased => LotKind::Purchased,
            LotKindBody::Promotional => LotKind::Promotional,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    #[schema(example = "wal_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: String,
    #[schema(example = "Credits")]
    pub name: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// Currency value of one credit.
    #[schema(example = "0.01")]
    pub conversion_rate: String,
    #[schema(value_type = crate::schema::WalletStatus)]
    pub status: &'static str,
    /// Credits available, exact.
    #[schema(example = "1250.5")]
    pub balance: String,
    /// The balance's currency value (credits × rate), rounded to the currency's minor unit,
    /// half away from zero.
    #[schema(example = "12.51")]
    pub balance_value: String,
    /// Credits left once the usage accrued this period and not yet invoiced is paid: the
    /// balance less that usage priced by the subscription's plan (tiers, included quantities;
    /// before discounts and tax) at this wallet's rate, exact as of the last accepted event.
    /// Only the wallet billing pays from (the customer's first active wallet in the plan's
    /// currency) accrues; below 0 when the usage outruns the credits.
    #[schema(example = "1100.5")]
    pub ongoing_balance: String,
    /// The ongoing balance's currency value, rounded as `balance_value`.
    #[schema(example = "11.01")]
    pub ongoing_balance_value: String,
    /// Credits: a movement that takes the balance, or accepted usage that takes the ongoing
    /// balance, from at least this to below it sends a `wallet.low_balance` webhook event.
    /// Null: never.
    #[schema(example = "100")]
    pub low_balance_threshold: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Wallet> for WalletView {
    fn from(w: Wallet) -> Self {
        Self {
            balance_value: w.display_value(&w.balance),
            ongoing_balance_value: w.display_value(&w.ongoing_balance()),
            ongoing_balance: canonical(&w.ongoing_balance()),
            balance: canonical(&w.balance),
            conversion_rate: canonical(&w.conversion_rate),
            status: w.status.as_str(),
            id: w.id.into(),
            customer_id: w.customer_id.into(),
            name: w.name,
            currency: w.currency.to_string(),
            low_balance_threshold: w.low_balance_threshold.as_ref().map(canonical),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationView {
    pub lot_id: String,
    #[schema(value_type = crate::schema::LotKind)]
    pub kind: &'static str,
    pub credits: String,
    /// The lot's draw priority (lower first); `null` on entries recorded before it was kept.
    pub priority: Option<i32>,
    /// When the lot expires; `null`: it does not (or, with `priority` null, not recorded).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A ledger entry. `credits` is always positive; `type` gives the direction.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    #[schema(example = "wtx_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    /// Position in the wallet's ledger (1, 2, …).
    pub seq: i64,
    /// `credit`, `debit`, `expiry` or `void`.
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::TxType, value_type = crate::schema::TxType)]
    pub tx_type: &'static str,
    #[schema(example = "25")]
    pub credits: String,
    /// Currency value of `credits` at the wallet's rate, exact.
    #[schema(example = "0.25")]
    pub value: String,
    pub balance_before: String,
    pub balance_after: String,
    #[schema(example = "usage")]
    pub reason: String,
    pub description: Option<String>,
    /// The caller's reference (e.g. an invoice or order id).
    pub reference: Option<String>,
    /// Which credit lots the entry drew from (debits, expiries, voids) or created (credits).
    pub allocations: Vec<AllocationView>,
    pub created_at: DateTime<Utc>,
}

impl From<WalletTransaction> for TransactionView {
    fn from(t: WalletTransaction) -> Self {
        Self {
            id: t.id,
            seq: t.seq,
            tx_type: t.tx_type.as_str(),
            credits: canonical(&t.credits),
            value: canonical(&t.value),
            balance_before: canonical(&t.balance_before),
            balance_after: canonical(&t.balance_after),
            reason: t.reason,
            description: t.description,
            reference: t.reference,
            allocations: t
                .allocations
                .into_iter()
                .map(|a| AllocationView {
                    lot_id: a.lot_id,
                    kind: a.kind.as_str(),
                    credits: canonical(&a.credits),
                    priority: a.priority,
                    expires_at: a.expires_at,
                })
                .collect(),
            created_at: t.created_at,
        }
    }
}

/// Query of a transaction list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListTransactions {
    /// `credit`, `debit`, `expiry` or `void`.
    #[serde(rename = "type")]
    #[param(value_type = Option<crate::schema::TxType>, rename = "type")]
    pub tx_type: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListTransactions {
    pub fn filter(&self) -> Result<domain::wallet::TxFilter, ApiError> {
        let tx_type = match self.tx_type.as_deref() {
            None => None,
            Some(t) => Some(domain::wallet::TxType::parse(t).ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "type",
                    "must be credit, debit, expiry or void",
                )])
            })?),
        };
        Ok(domain::wallet::TxFilter {
            tx_type,
            from: self.from,
            to: self.to,
        })
    }
}

list_type!(WalletList, WalletView);
list_type!(TransactionList, TransactionView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "name": "API credits", "currency": "USD", "conversion_rate": "0.01"}))]
pub struct CreateWallet {
    pub customer_id: String,
    /// Default "Credits".
    pub name: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// Currency value of one credit, a decimal string > 0 (default "1").
    pub conversion_rate: Option<String>,
    /// Credits, a decimal string ≥ 0: a balance (or ongoing balance) falling below it sends
    /// `wallet.low_balance`.
    pub low_balance_threshold: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWallet {
    pub name: Option<String>,
    /// `active` or `frozen` (a frozen wallet keeps its credits but takes no top-ups or debits).
    #[schema(value_type = Option<crate::schema::WalletPatchStatus>)]
    pub status: Option<String>,
    /// Credits, a decimal string ≥ 0; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub low_balance_threshold: Option<Option<String>>,
}

impl UpdateWallet {
    /// The change asked for: a status a patch may set (closing has its own operation), a
    /// threshold in credits or cleared.
    pub fn into_patch(self) -> Result<domain::services::wallets::WalletPatch, ApiError> {
        use domain::wallet::WalletStatus;
        let settable = crate::schema::WalletPatchStatus::VALUES;
        let status = match self.status.as_deref() {
            None => None,
            Some(s) if settable.contains(&s) => WalletStatus::parse(s),
            Some(_) => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "status",
                    format!("must be {}", settable.join(" or ")),
                )]))
            }
        };
        let low_balance_threshold = match self.low_balance_threshold {
            Some(Some(t)) => Some(Some(decimal("low_balance_threshold", &t)?)),
            Some(None) => Some(None),
            None => None,
        };
        Ok(domain::services::wallets::WalletPatch {
            name: self.name,
            status,
            low_balance_threshold,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"credits": "500", "kind": "promotional", "expires_at": "2027-01-01T00:00:00Z", "reference": "promo-2026"}))]
pub struct TopUpBody {
    /// Credits to add, a decimal string > 0.
    pub credits: String,
    /// Default `purchased`.
    pub kind: Option<LotKindBody>,
    /// Lower is consumed first (default 0); ties go to the earliest expiry, then the oldest.
    pub priority: Option<i32>,
    /// When the remaining credits of this top-up expire (future; default never).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Default: the kind.
    pub reason: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"credits": "25", "reason": "usage", "reference": "job-8812"}))]
pub struct DebitBody {
    /// Credits to take, a decimal string > 0.
    pub credits: String,
    /// Default "usage".
    pub reason: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
}

/// The wallet after the operation and the ledger entry it wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletOperation {
    pub wallet: WalletView,
    pub transaction: TransactionView,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListWallets {
    pub customer_id: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A wallet as the customer sees it, with what is about to expire.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalWallet {
    #[serde(flatten)]
    pub wallet: WalletView,
    /// Credits that expire within the next 30 days.
    #[schema(example = "200")]
    pub credits_expiring_next_30_days: String,
}

list_type!(PortalWalletList, PortalWallet);
