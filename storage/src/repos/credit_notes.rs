use diesel::prelude::*;
use domain::credit_note::{
    CreditChange, CreditNote, CreditNoteFilter, CreditNoteLine, CreditNoteStatus, CreditReason,
    RefundTo, VoidChange,
};
use domain::id::{CreditNoteId, InvoiceId, TenantId};
use domain::page::{Page, PageRequest};
use domain::ports::CreditNoteRepo;
use domain::scope::Scope;
use domain::tax::TaxAmount;
use domain::{DomainError, DomainResult};

use super::invoices::{lock_invoice, next_number, save_invoice};
use super::stored::{json, stored_id, Stored};
use super::{first_locked, internal, newest_first, scoped, TxError};
use crate::connection::DbConnection;
use crate::prepared::Prepare;
use crate::schema::credit_notes as cn;
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cn, treat_none_as_null = true)]
pub(crate) struct NoteRow {
    id: String,
    tenant_id: String,
    invoice_id: String,
    customer_id: String,
    number: String,
    currency: String,
    status: String,
    reason: String,
    memo: Option<String>,
    refund_to: String,
    lines: String,
    tax_amounts: String,
    subtotal: DbDecimal,
    total_tax: DbDecimal,
    total: DbDecimal,
    wallet_id: Option<String>,
    credits: Option<DbDecimal>,
    refund_ids: String,
    created_at: DbTime,
    voided_at: Option<DbTime>,
}

impl NoteRow {
    fn from_domain(n: &CreditNote) -> Self {
        Self {
            id: n.id.to_string(),
            tenant_id: n.tenant_id.to_string(),
            invoice_id: n.invoice_id.to_string(),
            customer_id: n.customer_id.to_string(),
            number: n.number.clone(),
            currency: n.currency.code().to_owned(),
            status: n.status.as_str().to_owned(),
            reason: n.reason.as_str().to_owned(),
            memo: n.memo.clone(),
            refund_to: n.refund_to.as_str().to_owned(),
            lines: json(&n.lines),
            tax_amounts: json(&n.tax_amounts),
            subtotal: DbDecimal(n.subtotal.clone()),
            total_tax: DbDecimal(n.total_tax.clone()),
            total: DbDecimal(n.total.clone()),
            wallet_id: n.wallet_id.as_ref().map(ToString::to_string),
            credits: n.credits.clone().map(DbDecimal),
            refund_ids: json(&n.refund_ids),
            created_at: DbTime(n.created_at),
            voided_at: n.voided_at.map(DbTime),
        }
    }

    pub(crate) fn into_domain(self) -> DomainResult<CreditNote> {
        let row = Stored {
            kind: "credit note",
            id: &self.id,
        };
        let lines: Vec<CreditNoteLine> = row.json("lines", &self.lines)?;
        let tax_amounts: Vec<TaxAmount> = row.json("tax_amounts", &self.tax_amounts)?;
        let refund_ids: Vec<String> = row.json("refund_ids", &self.refund_ids)?;
        Ok(CreditNote {
            status: row.text("status", &self.status, CreditNoteStatus::parse)?,
            reason: row.text("reason", &self.reason, CreditReason::parse)?,
            refund_to: row.text("refund_to", &self.refund_to, RefundTo::parse)?,
            currency: row.currency(&self.currency)?,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            invoice_id: stored_id(&self.invoice_id)?,
            customer_id: stored_id(&self.customer_id)?,
            number: self.number,
            memo: self.memo,
            lines,
            tax_amounts,
            subtotal: self.subtotal.0,
            total_tax: self.total_tax.0,
            total: self.total.0,
            wallet_id: self.wallet_id.as_deref().map(stored_id).transpose()?,
            credits: self.credits.map(|c| c.0),
            refund_ids,
            created_at: self.created_at.0,
            voided_at: self.voided_at.map(|t| t.0),
        })
    }
}

fn notes(rows: Vec<NoteRow>) -> DomainResult<Vec<CreditNote>> {
    rows.into_iter().map(NoteRow::into_domain).collect()
}

/// The invoice's notes, oldest first, in the caller's transaction (its invoice locked).
fn of_invoice(
    c: &mut DbConnection,
    tenant_id: &TenantId,
    invoice_id: &str,
) -> QueryResult<Vec<NoteRow>> {
    cn::table
        .filter(cn::tenant_id.eq(tenant_id.as_str()))
        .filter(cn::invoice_id.eq(invoice_id))
        .order(cn::id.asc())
        .select(NoteRow::as_select())
        .load(c)
}

fn save(c: &mut DbConnection, note: &CreditNote) -> QueryResult<usize> {
    diesel::update(
        cn::table
            .filter(cn::tenant_id.eq(note.tenant_id.as_str()))
            .filter(cn::id.eq(note.id.as_str())),
    )
    .set(NoteRow::from_domain(note))
    .execute(c)
}

impl CreditNoteRepo for Store {
    fn issue(
        &self,
        tenant_id: &TenantId,
        invoice_id: &InvoiceId,
        change: CreditChange<'_>,
    ) -> DomainResult<(domain::invoice::Invoice, CreditNote)> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<_, TxError> {
            // The invoice's lock serialises every credit note of it: what is left to credit is
            // read and lowered under it.
            let mut invoice = lock_invoice(c, tenant_id, invoice_id)?;
            let issued: Vec<CreditNote> = notes(of_invoice(c, tenant_id, invoice_id)?)?
                .into_iter()
                .filter(|n| n.status == CreditNoteStatus::Issued)
                .collect();
            let note = change(&mut invoice, &issued, &mut |period| {
                next_number(c, tenant_id, period).map_err(internal)
            })?;
            save_invoice(c, &invoice)?;
            diesel::insert_into(cn::table)
                .values(NoteRow::from_domain(&note))
                .prepared()
                .execute(c)?;
            Ok((invoice, note))
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("duplicate credit note number")))
    }

    fn record_refunds(&self, note: &CreditNote) -> DomainResult<()> {
        let mut conn = self.conn()?;
        save(&mut conn, note).map_err(internal)?;
        Ok(())
    }

    fn void(
        &self,
        tenant_id: &TenantId,
        id: &CreditNoteId,
        change: VoidChange<'_>,
    ) -> DomainResult<(domain::invoice::Invoice, CreditNote)> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<_, TxError> {
            let this = cn::table
                .filter(cn::tenant_id.eq(tenant_id.as_str()))
                .filter(cn::id.eq(id.as_str()));
            let invoice_id: Option<String> = this.select(cn::invoice_id).first(c).optional()?;
            let invoice_id = invoice_id.ok_or_else(CreditNoteId::not_found)?;
            // Lock order: the invoice, then its note (as issuing takes them).
            let mut invoice = lock_invoice(c, tenant_id, &invoice_id)?;
            let row = first_locked!(c, this.select(NoteRow::as_select()))?;
            let mut note = row.ok_or_else(CreditNoteId::not_found)?.into_domain()?;
            change(&mut invoice, &mut note)?;
            save_invoice(c, &invoice)?;
            save(c, &note)?;
            Ok((invoice, note))
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("unexpected unique violation")))
    }

    fn get(&self, scope: &Scope, id: &CreditNoteId) -> DomainResult<Option<CreditNote>> {
        let mut conn = self.conn()?;
        scoped!(cn::table.into_boxed(), cn, scope)
            .filter(cn::id.eq(id.as_str()))
            .select(NoteRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(NoteRow::into_domain)
            .transpose()
    }

    fn of_invoice(&self, scope: &Scope, invoice_id: &InvoiceId) -> DomainResult<Vec<CreditNote>> {
        let mut conn = self.conn()?;
        let rows = scoped!(cn::table.into_boxed(), cn, scope)
            .filter(cn::invoice_id.eq(invoice_id.as_str()))
            .order(cn::id.asc())
            .select(NoteRow::as_select())
            .load(&mut *conn)
            .map_err(internal)?;
        notes(rows)
    }

    fn list(
        &self,
        scope: &Scope,
        f: &CreditNoteFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<CreditNote>> {
        let mut conn = self.conn()?;
        let mut q = scoped!(
            cn::table.select(NoteRow::as_select()).into_boxed(),
            cn,
            scope
        );
        if let Some(c) = &f.customer_id {
            q = q.filter(cn::customer_id.eq(c.clone()));
        }
        if let Some(i) = &f.invoice_id {
            q = q.filter(cn::invoice_id.eq(i.clone()));
        }
        let rows: Vec<NoteRow> = newest_first!(q, cn::id, page, &mut *conn).map_err(internal)?;
        Ok(Page::from_rows(notes(rows)?, page, |x: &CreditNote| &x.id))
    }
}
