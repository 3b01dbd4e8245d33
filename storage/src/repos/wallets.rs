use std::collections::HashMap;

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::page::{Page, PageRequest};
use domain::ports::WalletRepo;
use domain::scope::Scope;
use domain::services::wallets::not_found;
use domain::wallet::TxFilter;
use domain::wallet::WalletChange;
use domain::wallet::{
    Allocation, CreditLot, LotKind, TxType, Wallet, WalletStatus, WalletTransaction,
};
use domain::wallet::{PartialLots, WalletState};
use domain::{DomainError, DomainResult};

use super::stored::stored_id;
use super::stored::{json, Stored};
use super::{first_locked, internal, newest_first, scoped, TxError};
use crate::connection::DbConnection;
use crate::prepared::Prepare;
use crate::schema::{credit_lots as cl, wallet_transactions as wt, wallets as w};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = w, treat_none_as_null = true)]
pub(crate) struct WalletRow {
    id: String,
    tenant_id: String,
    customer_id: String,
    name: String,
    currency: String,
    conversion_rate: DbDecimal,
    status: String,
    balance: DbDecimal,
    ledger_seq: i64,
    next_expiry_at: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
    low_balance_threshold: Option<DbDecimal>,
}

impl WalletRow {
    fn from_domain(x: &Wallet, next_expiry_at: Option<DateTime<Utc>>) -> Self {
        Self {
            id: x.id.to_string(),
            tenant_id: x.tenant_id.to_string(),
            customer_id: x.customer_id.to_string(),
            name: x.name.clone(),
            currency: x.currency.code().to_owned(),
            conversion_rate: DbDecimal(x.conversion_rate.clone()),
            status: x.status.as_str().to_owned(),
            balance: DbDecimal(x.balance.clone()),
            ledger_seq: x.ledger_seq,
            next_expiry_at: next_expiry_at.map(DbTime),
            created_at: DbTime(x.created_at),
            updated_at: DbTime(x.updated_at),
            low_balance_threshold: x.low_balance_threshold.clone().map(DbDecimal),
        }
    }

    pub(crate) fn into_domain(self) -> DomainResult<(Wallet, Option<DateTime<Utc>>)> {
        let row = Stored {
            kind: "wallet",
            id: &self.id,
        };
        let status = row.text("status", &self.status, WalletStatus::parse)?;
        let currency = row.currency(&self.currency)?;
        Ok((
            Wallet {
                id: stored_id(&self.id)?,
                tenant_id: self.tenant_id.into(),
                customer_id: stored_id(&self.customer_id)?,
                name: self.name,
                currency,
                conversion_rate: self.conversion_rate.0,
                status,
                balance: self.balance.0,
                ledger_seq: self.ledger_seq,
                low_balance_threshold: self.low_balance_threshold.map(|d| d.0),
                created_at: self.created_at.0,
                updated_at: self.updated_at.0,
                accrued_usage: BigDecimal::from(0),
            },
            self.next_expiry_at.map(|t| t.0),
        ))
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cl)]
struct LotRow {
    id: String,
    tenant_id: String,
    wallet_id: String,
    kind: String,
    priority: i32,
    granted: DbDecimal,
    available: DbDecimal,
    expires_at: Option<DbTime>,
    created_at: DbTime,
}

impl LotRow {
    fn from_domain(tenant_id: &domain::id::TenantId, l: &CreditLot) -> Self {
        Self {
            id: l.id.clone(),
            tenant_id: tenant_id.to_string(),
            wallet_id: l.wallet_id.to_string(),
            kind: l.kind.as_str().to_owned(),
            priority: l.priority,
            granted: DbDecimal(l.granted.clone()),
            available: DbDecimal(l.available.clone()),
            expires_at: l.expires_at.map(DbTime),
            created_at: DbTime(l.created_at),
        }
    }

    fn into_domain(self) -> DomainResult<CreditLot> {
        let kind = Stored {
            kind: "credit lot",
            id: &self.id,
        }
        .text("kind", &self.kind, LotKind::parse)?;
        Ok(CreditLot {
            id: self.id,
            wallet_id: stored_id(&self.wallet_id)?,
            kind,
            priority: self.priority,
            granted: self.granted.0,
            available: self.available.0,
            expires_at: self.expires_at.map(|t| t.0),
            created_at: self.created_at.0,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = wt)]
struct TxRow {
    id: String,
    tenant_id: String,
    wallet_id: String,
    seq: i64,
    tx_type: String,
    credits: DbDecimal,
    value: DbDecimal,
    balance_before: DbDecimal,
    balance_after: DbDecimal,
    reason: String,
    description: Option<String>,
    reference: Option<String>,
    idempotency_key: Option<String>,
    allocations: String,
    created_at: DbTime,
}

impl TxRow {
    fn from_domain(t: &WalletTransaction) -> Self {
        Self {
            id: t.id.clone(),
            tenant_id: t.tenant_id.to_string(),
            wallet_id: t.wallet_id.to_string(),
            seq: t.seq,
            tx_type: t.tx_type.as_str().to_owned(),
            credits: DbDecimal(t.credits.clone()),
            value: DbDecimal(t.value.clone()),
            balance_before: DbDecimal(t.balance_before.clone()),
            balance_after: DbDecimal(t.balance_after.clone()),
            reason: t.reason.clone(),
            description: t.description.clone(),
            reference: t.reference.clone(),
            idempotency_key: t.idempotency_key.clone(),
            allocations: json(&t.allocations),
            created_at: DbTime(t.created_at),
        }
    }

    fn into_domain(self) -> DomainResult<WalletTransaction> {
        let row = Stored {
            kind: "wallet transaction",
            id: &self.id,
        };
        let tx_type = row.text("type", &self.tx_type, TxType::parse)?;
        let allocations: Vec<Allocation> = row.json("allocations", &self.allocations)?;
        Ok(WalletTransaction {
            id: self.id,
            tenant_id: self.tenant_id.into(),
            wallet_id: stored_id(&self.wallet_id)?,
            seq: self.seq,
            tx_type,
            credits: self.credits.0,
            value: self.value.0,
            balance_before: self.balance_before.0,
            balance_after: self.balance_after.0,
            reason: self.reason,
            description: self.description,
            reference: self.reference,
            idempotency_key: self.idempotency_key,
            allocations,
            created_at: self.created_at.0,
        })
    }
}

fn load_live_lots(
    conn: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    wallet_id: &str,
) -> QueryResult<Vec<LotRow>> {
    cl::table
        .filter(cl::tenant_id.eq(tenant_id.as_str()))
        .filter(cl::wallet_id.eq(wallet_id))
        .filter(live_lot())
        .order(cl::id.asc())
        .select(LotRow::as_select())
        .load(conn)
}

/// How many live lots a partial load reads in consumption order, and in expiry order.
const LOT_RUN: i64 = 64;

/// A live lot, spelled as the partial indexes `credit_lots_draw` and `credit_lots_expiring`
/// spell it: a bound zero would hide the implication from the planners (PostgreSQL's generic
/// plans, SQLite's), and with it the indexes.
fn live_lot() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("credit_lots.available <> 0")
}

/// The first live lots in consumption order (priority, then expiry with never-expiring last,
/// then age; the index `credit_lots_draw`), and whether there are more.
fn first_drawable_lots(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    wallet_id: &str,
) -> QueryResult<(Vec<LotRow>, bool)> {
    let mut rows: Vec<LotRow> = cl::table
        .filter(cl::tenant_id.eq(tenant_id.as_str()))
        .filter(cl::wallet_id.eq(wallet_id))
        .filter(live_lot())
        .order((
            cl::priority.asc(),
            cl::expires_at.is_null().asc(),
            cl::expires_at.asc(),
            cl::created_at.asc(),
            cl::id.asc(),
        ))
        .limit(LOT_RUN + 1)
        .select(LotRow::as_select())
        .load(c)?;
    let more = rows.len() as i64 > LOT_RUN;
    rows.truncate(LOT_RUN as usize);
    Ok((rows, more))
}

/// The live lots that expire soonest (the index `credit_lots_expiring`), and the expiry before
/// which every one is among them when there are more.
fn first_expiring_lots(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    wallet_id: &str,
) -> QueryResult<(Vec<LotRow>, Option<DateTime<Utc>>)> {
    let mut rows: Vec<LotRow> = cl::table
        .filter(cl::tenant_id.eq(tenant_id.as_str()))
        .filter(cl::wallet_id.eq(wallet_id))
        .filter(live_lot())
        .filter(cl::expires_at.is_not_null())
        .order((cl::expires_at.asc(), cl::id.asc()))
        .limit(LOT_RUN + 1)
        .select(LotRow::as_select())
        .load(c)?;
    let before = match rows.len() as i64 > LOT_RUN {
        true => rows.pop().and_then(|r| r.expires_at).map(|t| t.0),
        false => None,
    };
    Ok((rows, before))
}

/// A wallet loaded for change inside a transaction, with the loaded live lots as they were.
struct LockedWallet {
    st: WalletState,
    /// Each loaded lot's `available` as read, by lot id: a change may reorder `st.lots` (a
    /// debit sorts them into consumption order), so positions say nothing.
    before: HashMap<String, BigDecimal>,
}

/// Locks and loads a wallet in the caller's transaction: on PostgreSQL a row lock, on SQLite
/// the BEGIN IMMEDIATE write lock already held. Every change of one wallet is serialised by it.
/// With `every_lot` false, a wallet with many live lots comes with only those a top-up or a
/// debit may touch (see [`PartialLots`]); a change that needs more fails with
/// `WalletLotsNeeded`, and [`with_wallet`] runs it again with every lot.
fn lock_wallet(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    id: &str,
    every_lot: bool,
) -> Result<LockedWallet, TxError> {
    let this = w::table
        .filter(w::tenant_id.eq(tenant_id.as_str()))
        .filter(w::id.eq(id));
    let row = first_locked!(c, this.select(WalletRow::as_select()))?;
    let (wallet, _) = row.ok_or_else(not_found)?.into_domain()?;
    let (mut rows, partial) = match every_lot {
        true => (load_live_lots(c, tenant_id, id)?, None),
        false => match first_drawable_lots(c, tenant_id, id)? {
            (rows, false) => (rows, None),
            (mut rows, true) => {
                let drawable_through = rows.last().map(|r| r.id.clone());
                let (expiring, expiring_before) = first_expiring_lots(c, tenant_id, id)?;
                for r in expiring {
                    if !rows.iter().any(|d| d.id == r.id) {
                        rows.push(r);
                    }
                }
                let partial = PartialLots {
                    expiring_before,
                    drawable_through,
                    balance_before: wallet.balance.clone(),
                    loaded_before: rows.iter().map(|r| &r.available.0).sum(),
                };
                (rows, Some(partial))
            }
        },
    };
    if partial.is_none() {
        repair_lots(c, tenant_id, &wallet, &mut rows)?;
    }
    let lots = rows
        .into_iter()
        .map(LotRow::into_domain)
        .collect::<DomainResult<Vec<_>>>()?;
    let before = lots
        .iter()
        .map(|l| (l.id.clone(), l.available.clone()))
        .collect();
    Ok(LockedWallet {
        st: WalletState {
            wallet,
            lots,
            partial,
            new_lots: Vec::new(),
            txs: Vec::new(),
        },
        before,
    })
}

/// Rewrites a wallet's live lots from its ledger when they do not add up to its balance and the
/// ledger's account of them does: a lot holds what it was granted less what debit, expiry and
/// void entries drew from it. Earlier versions could leave a drawn lot unwritten (the lots were
/// matched by position after a debit had reordered them), which left the lots above a correct
/// balance and every later whole-wallet change refused. Lots that still do not add up are left
/// as they are, for the invariant check to refuse.
fn repair_lots(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    wallet: &Wallet,
    rows: &mut [LotRow],
) -> Result<(), TxError> {
    let live: BigDecimal = rows.iter().map(|r| &r.available.0).sum();
    if live == wallet.balance {
        return Ok(());
    }
    let entries: Vec<TxRow> = wt::table
        .filter(wt::tenant_id.eq(tenant_id.as_str()))
        .filter(wt::wallet_id.eq(wallet.id.as_str()))
        .select(TxRow::as_select())
        .load(c)?;
    let mut drawn: HashMap<String, BigDecimal> = HashMap::new();
    for entry in entries {
        let entry = entry.into_domain()?;
        if entry.tx_type == TxType::Credit {
            continue;
        }
        for a in entry.allocations {
            *drawn.entry(a.lot_id).or_insert_with(BigDecimal::zero) += a.credits;
        }
    }
    let held: Vec<BigDecimal> = rows
        .iter()
        .map(|r| match drawn.get(&r.id) {
            Some(d) => &r.granted.0 - d,
            None => r.granted.0.clone(),
        })
        .collect();
    let consistent = held.iter().sum::<BigDecimal>() == wallet.balance
        && held.iter().all(|h| *h >= BigDecimal::zero());
    if !consistent {
        return Ok(());
    }
    for (row, amount) in rows.iter_mut().zip(held) {
        if row.available.0 != amount {
            diesel::update(
                cl::table
                    .filter(cl::tenant_id.eq(tenant_id.as_str()))
                    .filter(cl::id.eq(&row.id)),
            )
            .set(cl::available.eq(DbDecimal(amount.clone())))
            .execute(c)?;
            row.available = DbDecimal(amount);
        }
    }
    tracing::warn!(wallet = %wallet.id, "credit lots rewritten from the ledger: they did not add up to the balance");
    Ok(())
}

/// Locks the wallet, runs `change` on it and writes the result: first with a partial load of its
/// lots and, if the change needs more, once more with every live lot (nothing was written in
/// between).
pub(crate) fn with_wallet<T>(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    id: &str,
    mut change: impl FnMut(&mut WalletState) -> Result<T, TxError>,
) -> Result<(WalletState, T), TxError> {
    let mut locked = lock_wallet(c, tenant_id, id, false)?;
    let out = match change(&mut locked.st) {
        Err(TxError::Domain(DomainError::WalletLotsNeeded)) => {
            locked = lock_wallet(c, tenant_id, id, true)?;
            change(&mut locked.st)?
        }
        out => out?,
    };
    save_wallet(c, tenant_id, &locked)?;
    Ok((locked.st, out))
}

/// Writes a changed wallet: lots that moved, new lots, new ledger entries, the wallet row.
fn save_wallet(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    locked: &LockedWallet,
) -> QueryResult<()> {
    let st = &locked.st;
    for lot in &st.lots {
        if locked.before.get(&lot.id) != Some(&lot.available) {
            let this = cl::table
                .filter(cl::tenant_id.eq(tenant_id.as_str()))
                .filter(cl::id.eq(&lot.id));
            diesel::update(this)
                .set(cl::available.eq(DbDecimal(lot.available.clone())))
                .prepared()
                .execute(c)?;
        }
    }
    // One statement per row: MultiBackend has no batch insert, and a change adds few rows.
    for lot in &st.new_lots {
        diesel::insert_into(cl::table)
            .values(LotRow::from_domain(tenant_id, lot))
            .prepared()
            .execute(c)?;
    }
    for tx in &st.txs {
        diesel::insert_into(wt::table)
            .values(TxRow::from_domain(tx))
            .prepared()
            .execute(c)?;
    }
    let next_expiry = match st.partial {
        None => st
            .lots
            .iter()
            .chain(&st.new_lots)
            .filter(|l| !l.available.is_zero())
            .filter_map(|l| l.expires_at)
            .min(),
        // Lots that were not loaded count too: read it back once the lots are written.
        Some(_) => cl::table
            .filter(cl::tenant_id.eq(tenant_id.as_str()))
            .filter(cl::wallet_id.eq(st.wallet.id.as_str()))
            .filter(live_lot())
            .filter(cl::expires_at.is_not_null())
            .order(cl::expires_at.asc())
            .select(cl::expires_at)
            .first::<Option<DbTime>>(c)
            .optional()?
            .flatten()
            .map(|t| t.0),
    };
    diesel::update(
        w::table
            .filter(w::tenant_id.eq(tenant_id.as_str()))
            .filter(w::id.eq(st.wallet.id.as_str())),
    )
    .set(WalletRow::from_domain(&st.wallet, next_expiry))
    .prepared()
    .execute(c)?;
    Ok(())
}

impl WalletRepo for Store {
    fn insert(&self, wallet: &Wallet) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(w::table)
            .values(WalletRow::from_domain(wallet, None))
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn get(
        &self,
        scope: &Scope,
        id: &domain::id::WalletId,
    ) -> DomainResult<Option<(Wallet, Option<DateTime<Utc>>)>> {
        let mut conn = self.conn()?;
        scoped!(w::table.into_boxed(), w, scope)
            .filter(w::id.eq(id.as_str()))
            .select(WalletRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(WalletRow::into_domain)
            .transpose()
    }

    fn list(
        &self,
        scope: &Scope,
        customer_id: Option<&domain::id::CustomerId>,
        page: &PageRequest,
    ) -> DomainResult<Page<(Wallet, Option<DateTime<Utc>>)>> {
        let mut conn = self.conn()?;
        let mut q = scoped!(
            w::table.select(WalletRow::as_select()).into_boxed(),
            w,
            scope
        );
        if let Some(c) = customer_id {
            q = q.filter(w::customer_id.eq(c.to_string()));
        }
        let rows: Vec<WalletRow> = newest_first!(q, w::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(WalletRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |(x, _)| &x.id))
    }

    fn change(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::WalletId,
        change: WalletChange<'_>,
    ) -> DomainResult<WalletState> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<WalletState, TxError> {
            let (st, ()) = with_wallet(c, tenant_id, id, |st| Ok(change(st)?))?;
            Ok(st)
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("unexpected unique violation")))
    }

    fn live_lots(
        &self,
        tenant_id: &domain::id::TenantId,
        wallet_id: &domain::id::WalletId,
    ) -> DomainResult<Vec<CreditLot>> {
        let mut conn = self.conn()?;
        load_live_lots(&mut conn, tenant_id, wallet_id)
            .map_err(internal)?
            .into_iter()
            .map(LotRow::into_domain)
            .collect()
    }

    fn transactions(
        &self,
        scope: &Scope,
        wallet_id: &domain::id::WalletId,
        filter: &TxFilter,
        page: &PageRequest,
    ) -> DomainResult<(Page<WalletTransaction>, Option<DateTime<Utc>>)> {
        let mut conn = self.conn()?;
        let wallet = w::table.on(w::tenant_id.eq(wt::tenant_id).and(w::id.eq(wt::wallet_id)));
        let mut q = scoped!(wt::table.inner_join(wallet).into_boxed(), w, scope)
            .filter(wt::wallet_id.eq(wallet_id.as_str()))
            .select((TxRow::as_select(), w::next_expiry_at));
        if let Some(t) = filter.tx_type {
            q = q.filter(wt::tx_type.eq(t.as_str()));
        }
        if let Some(from) = filter.from {
            q = q.filter(wt::created_at.ge(DbTime(from)));
        }
        if let Some(to) = filter.to {
            q = q.filter(wt::created_at.lt(DbTime(to)));
        }
        // The ledger pages by entry number, not by id: ids minted in the same millisecond (one
        // change can write an expiry and a debit) do not say which came first.
        if let Some(after) = &page.after {
            let seq: i64 = after.parse().map_err(|_| {
                DomainError::validation("cursor", "is not a cursor returned by this API")
            })?;
            q = q.filter(wt::seq.lt(seq));
        }
        let rows: Vec<(TxRow, Option<DbTime>)> = q
            .order(wt::seq.desc())
            .limit(page.fetch_limit())
            .load(&mut *conn)
            .map_err(internal)?;
        let next_expiry = rows.first().and_then(|(_, t)| t.map(|t| t.0));
        let items = rows
            .into_iter()
            .map(|(row, _)| row.into_domain())
            .collect::<DomainResult<Vec<_>>>()?;
        let page = Page::from_rows_keyed(items, page, |t: &WalletTransaction| {
            format!("{:020}", t.seq)
        });
        Ok((page, next_expiry))
    }

    fn check_flagged_lots(&self, limit: i64) -> DomainResult<usize> {
        use crate::schema::wallet_lot_checks as chk;
        let mut conn = self.conn()?;
        let flagged: Vec<(String, String)> = chk::table
            .select((chk::tenant_id, chk::wallet_id))
            .order(chk::wallet_id.asc())
            .limit(limit)
            .load(&mut *conn)
            .map_err(internal)?;
        for (tenant_id, wallet_id) in &flagged {
            conn.write(|c| -> Result<(), TxError> {
                lock_wallet(c, &tenant_id.as_str().into(), wallet_id, true)?;
                let this = chk::table
                    .filter(chk::tenant_id.eq(tenant_id))
                    .filter(chk::wallet_id.eq(wallet_id));
                diesel::delete(this).execute(c)?;
                Ok(())
            })
            .map_err(|e| e.into_domain(|| DomainError::internal("unexpected unique violation")))?;
        }
        Ok(flagged.len())
    }

    fn lock_watched(
        &self,
        tenant_id: &domain::id::TenantId,
        customers: &[domain::id::CustomerId],
    ) -> DomainResult<Vec<Wallet>> {
        let mut conn = self.conn()?;
        let ids: Vec<&str> = customers.iter().map(|c| c.as_str()).collect();
        macro_rules! watched {
            () => {
                w::table
                    .filter(w::tenant_id.eq(tenant_id.as_str()))
                    .filter(w::customer_id.eq_any(&ids))
                    .filter(w::status.eq(WalletStatus::Active.as_str()))
                    .filter(w::low_balance_threshold.is_not_null())
                    .order(w::id)
                    .select(WalletRow::as_select())
            };
        }
        let rows: Vec<WalletRow> = match &mut *conn {
            DbConnection::Postgres(pg) => watched!().for_update().load(pg),
            DbConnection::Sqlite(sq) => watched!().load(sq),
        }
        .map_err(internal)?;
        rows.into_iter().map(|r| Ok(r.into_domain()?.0)).collect()
    }

    fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> DomainResult<Vec<(domain::id::TenantId, domain::id::WalletId)>> {
        let mut conn = self.conn()?;
        let due: Vec<(String, String)> = w::table
            .filter(w::next_expiry_at.le(DbTime(now)))
            .select((w::tenant_id, w::id))
            .limit(limit)
            .load(&mut *conn)
            .map_err(internal)?;
        due.into_iter()
            .map(|(tenant, wallet)| Ok((tenant.into(), stored_id(&wallet)?)))
            .collect()
    }
}
