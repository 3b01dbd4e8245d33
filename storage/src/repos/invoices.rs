use diesel::prelude::*;
use domain::credit_note::CreditNote;
use domain::invoice::InvoiceChange;
use domain::invoice::InvoiceFilter;
use domain::invoice::{Invoice, InvoiceStatus, LineItem, OpenAmount, PaymentStatus};
use domain::page::{Page, PageRequest};
use domain::ports::InvoiceRepo;
use domain::scope::{CustomerScope, Scope};
use domain::services::invoices::not_found;
use domain::{DomainError, DomainResult};

use super::credit_notes::NoteRow;
use super::stored::stored_id;
use super::stored::{json, Stored};
use super::{first_locked, internal, lower, newest_first, one_of, scoped, scoped_search, TxError};
use crate::connection::DbConnection;
use crate::prepared::Prepare;
use crate::schema::{credit_notes as cn, invoice_counters as ic, invoices as inv};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = inv, treat_none_as_null = true)]
struct InvoiceRow {
    id: String,
    tenant_id: String,
    customer_id: String,
    number: Option<String>,
    status: String,
    payment_status: String,
    currency: String,
    memo: Option<String>,
    lines: String,
    subtotal: DbDecimal,
    total: DbDecimal,
    total_minor: i64,
    amount_paid: DbDecimal,
    amount_credited: DbDecimal,
    bill_to: Option<String>,
    revised_at: Option<DbTime>,
    due_at: Option<DbTime>,
    issued_at: Option<DbTime>,
    voided_at: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
    subscription_id: Option<String>,
    billing_period_start: Option<DbTime>,
    reverse_charge: bool,
    discounts: String,
}

impl InvoiceRow {
    fn from_domain(i: &Invoice) -> Self {
        Self {
            id: i.id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            customer_id: i.customer_id.to_string(),
            number: i.number.clone(),
            status: i.status.as_str().to_owned(),
            payment_status: i.payment_status.as_str().to_owned(),
            currency: i.currency.code().to_owned(),
            memo: i.memo.clone(),
            lines: json(&i.lines),
            subtotal: DbDecimal(i.subtotal.clone()),
            total: DbDecimal(i.total.clone()),
            total_minor: i.total_minor(),
            amount_paid: DbDecimal(i.amount_paid.clone()),
            amount_credited: DbDecimal(i.amount_credited.clone()),
            bill_to: i.bill_to.as_ref().map(json),
            revised_at: i.revised_at.map(DbTime),
            due_at: i.due_at.map(DbTime),
            issued_at: i.issued_at.map(DbTime),
            voided_at: i.voided_at.map(DbTime),
            created_at: DbTime(i.created_at),
            updated_at: DbTime(i.updated_at),
            subscription_id: i.subscription_id.as_ref().map(|s| s.to_string()),
            billing_period_start: i.billing_period_start.map(DbTime),
            reverse_charge: i.reverse_charge,
            discounts: json(&i.discounts),
        }
    }

    fn into_domain(self) -> DomainResult<Invoice> {
        let row = Stored {
            kind: "invoice",
            id: &self.id,
        };
        let status = row.text("status", &self.status, InvoiceStatus::parse)?;
        let payment_status =
            row.text("payment_status", &self.payment_status, PaymentStatus::parse)?;
        let lines: Vec<LineItem> = row.json("lines", &self.lines)?;
        let bill_to = self
            .bill_to
            .as_deref()
            .map(|b| row.json("bill_to", b))
            .transpose()?;
        let currency = row.currency(&self.currency)?;
        let mut invoice = Invoice {
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            customer_id: stored_id(&self.customer_id)?,
            number: self.number,
            status,
            payment_status,
            currency,
            memo: self.memo,
            lines,
            subtotal: self.subtotal.0,
            discounts: row.json("discounts", &self.discounts)?,
            total: self.total.0,
            amount_paid: self.amount_paid.0,
            amount_credited: self.amount_credited.0,
            due_at: self.due_at.map(|t| t.0),
            issued_at: self.issued_at.map(|t| t.0),
            voided_at: self.voided_at.map(|t| t.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            subscription_id: self.subscription_id.as_deref().map(stored_id).transpose()?,
            billing_period_start: self.billing_period_start.map(|t| t.0),
            reverse_charge: self.reverse_charge,
            bill_to,
            revised_at: self.revised_at.map(|t| t.0),
        };
        invoice.name_lines();
        Ok(invoice)
    }
}

/// Takes the next number of `period` for the account, inside the caller's transaction.
/// PostgreSQL: an upsert whose row lock serialises finalizations of one account and month until
/// commit. SQLite: read then write under the transaction's write lock.
pub(crate) fn next_number(
    conn: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    period: &str,
) -> QueryResult<i64> {
    take_numbers(conn, tenant_id, period, 1)
}

/// Takes the next `count` numbers of the account's `period` counter; returns the last of them.
fn take_numbers(
    conn: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    period: &str,
    count: i64,
) -> QueryResult<i64> {
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(ic::table)
            .values((
                ic::tenant_id.eq(tenant_id.as_str()),
                ic::period.eq(period),
                ic::last_number.eq(count),
            ))
            .on_conflict((ic::tenant_id, ic::period))
            .do_update()
            .set(ic::last_number.eq(ic::last_number + count))
            .returning(ic::last_number)
            .get_result(pg),
        DbConnection::Sqlite(sq) => {
            let key = ic::table
                .filter(ic::tenant_id.eq(tenant_id.as_str()))
                .filter(ic::period.eq(period));
            let last: Option<i64> = key.select(ic::last_number).first(sq).optional()?;
            match last {
                Some(n) => {
                    diesel::update(key)
                        .set(ic::last_number.eq(n + count))
                        .execute(sq)?;
                    Ok(n + count)
                }
                None => {
                    diesel::insert_into(ic::table)
                        .values((
                            ic::tenant_id.eq(tenant_id.as_str()),
                            ic::period.eq(period),
                            ic::last_number.eq(count),
                        ))
                        .execute(sq)?;
                    Ok(count)
                }
            }
        }
    }
}

/// Locks and loads an invoice in the caller's transaction (row lock on PostgreSQL; SQLite's
/// BEGIN IMMEDIATE already excludes other writers).
pub(crate) fn lock_invoice(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    id: &str,
) -> Result<Invoice, TxError> {
    let this = inv::table
        .filter(inv::tenant_id.eq(tenant_id.as_str()))
        .filter(inv::id.eq(id));
    let row = first_locked!(c, this.select(InvoiceRow::as_select()))?;
    Ok(row.ok_or_else(not_found)?.into_domain()?)
}

pub(crate) fn save_invoice(c: &mut DbConnection, invoice: &Invoice) -> QueryResult<()> {
    diesel::update(
        inv::table
            .filter(inv::tenant_id.eq(invoice.tenant_id.as_str()))
            .filter(inv::id.eq(invoice.id.as_str())),
    )
    .set(InvoiceRow::from_domain(invoice))
    .prepared()
    .execute(c)?;
    Ok(())
}

/// A customer's finalized invoices with something left to pay. A macro, not a boxed query, so
/// the statement stays in the prepared-statement cache.
macro_rules! open {
    ($customer:expr) => {
        inv::table
            .filter(inv::tenant_id.eq($customer.tenant_id.as_str()))
            .filter(inv::customer_id.eq($customer.customer_id.as_str()))
            .filter(inv::status.eq("finalized"))
            .filter(one_of!(inv::payment_status, ["unpaid", "partially_paid"]))
    };
}

impl InvoiceRepo for Store {
    fn insert(&self, invoice: &Invoice) -> DomainResult<()> {
        let mut conn = self.conn()?;
        diesel::insert_into(inv::table)
            .values(InvoiceRow::from_domain(invoice))
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
        Ok(())
    }

    fn assign_numbers(
        &self,
        tenant_id: &domain::id::TenantId,
        ids: &[domain::id::InvoiceId],
        period: &str,
        format: &dyn Fn(i64) -> String,
    ) -> DomainResult<Vec<String>> {
        let Ok(count) = i64::try_from(ids.len()) else {
            return Err(DomainError::internal("too many invoices to number at once"));
        };
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let last = take_numbers(&mut conn, tenant_id, period, count).map_err(internal)?;
        let mut numbers = Vec::with_capacity(ids.len());
        for (n, id) in (last - count + 1..).zip(ids) {
            let number = format(n);
            diesel::update(
                inv::table
                    .filter(inv::tenant_id.eq(tenant_id.as_str()))
                    .filter(inv::id.eq(id.as_str())),
            )
            .set(inv::number.eq(&number))
            .prepared()
            .execute(&mut conn)
            .map_err(internal)?;
            numbers.push(number);
        }
        Ok(numbers)
    }

    fn get(&self, scope: &Scope, id: &domain::id::InvoiceId) -> DomainResult<Option<Invoice>> {
        let mut conn = self.conn()?;
        scoped!(inv::table.into_boxed(), inv, scope)
            .filter(inv::id.eq(id.as_str()))
            .select(InvoiceRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(InvoiceRow::into_domain)
            .transpose()
    }

    fn get_with_credit_notes(
        &self,
        scope: &Scope,
        id: &domain::id::InvoiceId,
    ) -> DomainResult<Option<(Invoice, Vec<CreditNote>)>> {
        let mut conn = self.conn()?;
        // One row per note (the invoice repeated), or one with no note.
        let notes = cn::table.on(cn::tenant_id
            .eq(inv::tenant_id)
            .and(cn::invoice_id.eq(inv::id)));
        let rows: Vec<(InvoiceRow, Option<NoteRow>)> =
            scoped!(inv::table.left_join(notes).into_boxed(), inv, scope)
                .filter(inv::id.eq(id.as_str()))
                .order(cn::id.asc())
                .select((InvoiceRow::as_select(), Option::<NoteRow>::as_select()))
                .load(&mut *conn)
                .map_err(internal)?;
        let mut rows = rows.into_iter();
        let Some((invoice, first)) = rows.next() else {
            return Ok(None);
        };
        let notes = first
            .into_iter()
            .chain(rows.filter_map(|(_, note)| note))
            .map(NoteRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Some((invoice.into_domain()?, notes)))
    }

    fn change(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::InvoiceId,
        change: InvoiceChange<'_>,
    ) -> DomainResult<Invoice> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<Invoice, TxError> {
            let mut invoice = lock_invoice(c, tenant_id, id)?;
            // Numbers are taken on the same connection, inside this transaction: if anything
            // after fails, the number goes back with the rollback (no gaps).
            change(&mut invoice, &mut |period| {
                next_number(c, tenant_id, period).map_err(internal)
            })?;
            save_invoice(c, &invoice)?;
            Ok(invoice)
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("duplicate invoice number")))
    }

    fn delete_draft(
        &self,
        tenant_id: &domain::id::TenantId,
        id: &domain::id::InvoiceId,
    ) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let n = diesel::delete(
            inv::table
                .filter(inv::tenant_id.eq(tenant_id.as_str()))
                .filter(inv::id.eq(id.as_str()))
                .filter(inv::status.eq("draft")),
        )
        .execute(&mut *conn)
        .map_err(internal)?;
        Ok(n == 1)
    }

    fn list(
        &self,
        scope: &Scope,
        f: &InvoiceFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Invoice>> {
        let mut conn = self.conn()?;
        let text = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let search = match text {
            Some(t) => super::trigram_candidates(&mut conn, "invoices", t).map_err(internal)?,
            None => None,
        };
        let all = inv::table.select(InvoiceRow::as_select()).into_boxed();
        let mut q = match search {
            Some(found) => scoped_search!(all.filter(found), "invoices", scope),
            None => scoped!(all, inv, scope),
        };
        if let Some(s) = &f.subscription_id {
            q = q.filter(inv::subscription_id.eq(s.clone()));
        }
        if let Some(c) = &f.customer_id {
            q = q.filter(inv::customer_id.eq(c.clone()));
        }
        if let Some(s) = f.status {
            q = q.filter(inv::status.eq(s.as_str()));
        }
        if f.exclude_drafts {
            q = q.filter(inv::status.ne("draft"));
        }
        if let Some(p) = f.payment_status {
            q = q.filter(inv::payment_status.eq(p.as_str()));
        }
        if let Some(text) = text {
            q = q.filter(super::planned_for_its_values());
            let pattern = super::like_pattern(text);
            q = q.filter(
                lower(inv::number)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(inv::memo).like(pattern).escape('\\')),
            );
        }
        if let Some(c) = &f.currency {
            q = q.filter(inv::currency.eq(c.clone()));
        }
        if let Some(t) = f.issued_from {
            q = q.filter(inv::issued_at.ge(DbTime(t)));
        }
        if let Some(t) = f.issued_to {
            q = q.filter(inv::issued_at.lt(DbTime(t)));
        }
        if let Some(t) = f.due_from {
            q = q.filter(inv::due_at.ge(DbTime(t)));
        }
        if let Some(t) = f.due_to {
            q = q.filter(inv::due_at.lt(DbTime(t)));
        }
        if let Some(m) = f.total_minor_min {
            q = q.filter(inv::total_minor.ge(m));
        }
        if let Some(m) = f.total_minor_max {
            q = q.filter(inv::total_minor.le(m));
        }
        if let Some(t) = f.overdue_at {
            q = q
                .filter(inv::status.eq("finalized"))
                .filter(one_of!(inv::payment_status, ["unpaid", "partially_paid"]))
                .filter(inv::due_at.lt(DbTime(t)));
        }
        let rows: Vec<InvoiceRow> =
            newest_first!(q, inv::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(InvoiceRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |i: &Invoice| &i.id))
    }

    fn has_paid(&self, customer: &CustomerScope) -> DomainResult<bool> {
        let mut conn = self.conn()?;
        let paid = [PaymentStatus::Paid, PaymentStatus::PartiallyPaid].map(|p| p.as_str());
        let found: Option<String> = inv::table
            .filter(inv::tenant_id.eq(customer.tenant_id.as_str()))
            .filter(inv::customer_id.eq(customer.customer_id.as_str()))
            .filter(inv::payment_status.eq_any(paid))
            .filter(inv::total_minor.gt(0))
            .select(inv::id)
            .first(&mut *conn)
            .optional()
            .map_err(internal)?;
        Ok(found.is_some())
    }

    fn open_invoices(&self, customer: &CustomerScope) -> DomainResult<Vec<Invoice>> {
        let mut conn = self.conn()?;
        let rows: Vec<InvoiceRow> = open!(customer)
            .select(InvoiceRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        rows.into_iter().map(InvoiceRow::into_domain).collect()
    }

    fn open_amounts(&self, customer: &CustomerScope) -> DomainResult<Vec<OpenAmount>> {
        let mut conn = self.conn()?;
        type Open = (
            String,
            String,
            DbDecimal,
            DbDecimal,
            DbDecimal,
            Option<DbTime>,
        );
        let rows: Vec<Open> = open!(customer)
            .select((
                inv::id,
                inv::currency,
                inv::total,
                inv::amount_paid,
                inv::amount_credited,
                inv::due_at,
            ))
            .load(&mut *conn)
            .map_err(internal)?;
        rows.into_iter()
            .map(
                |(id, currency, total, amount_paid, amount_credited, due_at)| {
                    let row = Stored {
                        kind: "invoice",
                        id: &id,
                    };
                    Ok(OpenAmount {
                        currency: row.currency(&currency)?,
                        total: total.0,
                        amount_paid: amount_paid.0,
                        amount_credited: amount_credited.0,
                        due_at: due_at.map(|t| t.0),
                    })
                },
            )
            .collect()
    }
}
