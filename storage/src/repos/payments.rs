use diesel::prelude::*;
use domain::invoice::Invoice;
use domain::page::{Page, PageRequest};
use domain::payment::PaymentChange;
use domain::payment::PaymentFilter;
use domain::payment::RefundChange;
use domain::payment::{Payment, PaymentMethod, PaymentState, Refund};
use domain::ports::PaymentRepo;
use domain::scope::Scope;
use domain::services::payments::not_found;
use domain::{DomainError, DomainResult, ErrorCode};

use super::invoices::{lock_invoice, save_invoice};
use super::stored::stored_id;
use super::stored::Stored;
use super::wallets::with_wallet;
use super::{first_locked, internal, newest_first, scoped, TxError};
use crate::connection::DbConnection;
use crate::prepared::Prepare;
use crate::schema::{payments as p, refunds as r};
use crate::sql_types::{DbDecimal, DbTime};
use crate::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = p, treat_none_as_null = true)]
struct PaymentRow {
    id: String,
    tenant_id: String,
    invoice_id: String,
    customer_id: String,
    amount: DbDecimal,
    currency: String,
    method: String,
    status: String,
    wallet_id: Option<String>,
    credits: Option<DbDecimal>,
    reference: Option<String>,
    failure_reason: Option<String>,
    amount_refunded: DbDecimal,
    created_at: DbTime,
    payment_method_id: Option<String>,
    payment_url: Option<String>,
}

impl PaymentRow {
    fn from_domain(x: &Payment) -> Self {
        Self {
            id: x.id.to_string(),
            tenant_id: x.tenant_id.to_string(),
            invoice_id: x.invoice_id.to_string(),
            customer_id: x.customer_id.to_string(),
            amount: DbDecimal(x.amount.clone()),
            currency: x.currency.code().to_owned(),
            method: x.method.as_str().to_owned(),
            status: x.status.as_str().to_owned(),
            wallet_id: x.wallet_id.as_ref().map(ToString::to_string),
            credits: x.credits.clone().map(DbDecimal),
            reference: x.reference.clone(),
            failure_reason: x.failure_reason.clone(),
            amount_refunded: DbDecimal(x.amount_refunded.clone()),
            created_at: DbTime(x.created_at),
            payment_method_id: x.payment_method_id.as_ref().map(ToString::to_string),
            payment_url: x.payment_url.clone(),
        }
    }

    fn into_domain(self) -> DomainResult<Payment> {
        let row = Stored {
            kind: "payment",
            id: &self.id,
        };
        Ok(Payment {
            method: row.text("method", &self.method, PaymentMethod::parse)?,
            status: row.text("status", &self.status, PaymentState::parse)?,
            currency: row.currency(&self.currency)?,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.into(),
            invoice_id: stored_id(&self.invoice_id)?,
            customer_id: stored_id(&self.customer_id)?,
            amount: self.amount.0,
            wallet_id: self.wallet_id.as_deref().map(stored_id).transpose()?,
            credits: self.credits.map(|c| c.0),
            reference: self.reference,
            failure_reason: self.failure_reason,
            amount_refunded: self.amount_refunded.0,
            payment_method_id: self
                .payment_method_id
                .as_deref()
                .map(stored_id)
                .transpose()?,
            payment_url: self.payment_url,
            created_at: self.created_at.0,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = r)]
struct RefundRow {
    id: String,
    tenant_id: String,
    payment_id: String,
    invoice_id: String,
    amount: DbDecimal,
    credits: Option<DbDecimal>,
    reason: Option<String>,
    created_at: DbTime,
}

/// Locks a payment, then its invoice (the order every change of an existing payment takes).
fn lock_payment(
    c: &mut DbConnection,
    tenant_id: &domain::id::TenantId,
    payment_id: &str,
) -> Result<(Payment, Invoice), TxError> {
    let this = p::table
        .filter(p::tenant_id.eq(tenant_id.as_str()))
        .filter(p::id.eq(payment_id));
    let row = first_locked!(c, this.select(PaymentRow::as_select()))?;
    let payment = row.ok_or_else(not_found)?.into_domain()?;
    let invoice = lock_invoice(c, tenant_id, &payment.invoice_id)?;
    Ok((payment, invoice))
}

fn save_payment(c: &mut DbConnection, payment: &Payment) -> QueryResult<usize> {
    diesel::update(
        p::table
            .filter(p::tenant_id.eq(payment.tenant_id.as_str()))
            .filter(p::id.eq(payment.id.as_str())),
    )
    .set(PaymentRow::from_domain(payment))
    .prepared()
    .execute(c)
}

impl PaymentRepo for Store {
    fn record_payment(
        &self,
        tenant_id: &domain::id::TenantId,
        invoice_id: &domain::id::InvoiceId,
        wallet_id: Option<&domain::id::WalletId>,
        change: PaymentChange<'_>,
    ) -> DomainResult<(Invoice, Payment)> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<(Invoice, Payment), TxError> {
            // Lock order: invoice, then wallet (debits lock only the wallet): no cycles.
            let locked = lock_invoice(c, tenant_id, invoice_id)?;
            let (invoice, payment) = match wallet_id {
                None => {
                    let mut invoice = locked;
                    let payment = change(&mut invoice, None)?;
                    (invoice, payment)
                }
                Some(w) => {
                    // A second run (every lot loaded) starts again from the invoice as locked.
                    with_wallet(c, tenant_id, w, |wallet| {
                        let mut invoice = locked.clone();
                        let payment = change(&mut invoice, Some(wallet))?;
                        Ok((invoice, payment))
                    })?
                    .1
                }
            };
            save_invoice(c, &invoice)?;
            diesel::insert_into(p::table)
                .values(PaymentRow::from_domain(&payment))
                .prepared()
                .execute(c)?;
            Ok((invoice, payment))
        })
        // The only unique key a new payment can collide on: one pending payment per invoice.
        .map_err(|e| {
            e.into_domain(|| DomainError::Conflict {
                code: ErrorCode::PaymentPending,
                message: "The invoice already has a pending payment.".into(),
            })
        })
    }

    fn lock_refundable(
        &self,
        tenant_id: &domain::id::TenantId,
        invoice_id: &domain::id::InvoiceId,
    ) -> DomainResult<Vec<Payment>> {
        let mut conn = self.conn()?;
        // A macro: `as_select` fixes the backend, which differs per arm.
        macro_rules! succeeded {
            () => {
                p::table
                    .filter(p::tenant_id.eq(tenant_id.as_str()))
                    .filter(p::invoice_id.eq(invoice_id.as_str()))
                    .filter(p::status.eq(PaymentState::Succeeded.as_str()))
                    .order(p::id.desc())
                    .select(PaymentRow::as_select())
            };
        }
        let rows: Vec<PaymentRow> = match &mut *conn {
            DbConnection::Postgres(pg) => succeeded!().for_update().load(pg),
            DbConnection::Sqlite(sq) => succeeded!().load(sq),
        }
        .map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(PaymentRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?
            .into_iter()
            .filter(|x| x.amount_refunded < x.amount)
            .collect())
    }

    fn fail_pending(
        &self,
        tenant_id: &domain::id::TenantId,
        invoice_id: &domain::id::InvoiceId,
        reason: &str,
    ) -> DomainResult<usize> {
        let mut conn = self.conn()?;
        diesel::update(
            p::table
                .filter(p::tenant_id.eq(tenant_id.as_str()))
                .filter(p::invoice_id.eq(invoice_id.as_str()))
                .filter(p::status.eq(PaymentState::Pending.as_str())),
        )
        .set((
            p::status.eq(PaymentState::Failed.as_str()),
            p::failure_reason.eq(reason),
        ))
        .prepared()
        .execute(&mut conn)
        .map_err(internal)
    }

    fn settle_payment(
        &self,
        tenant_id: &domain::id::TenantId,
        payment_id: &domain::id::PaymentId,
        change: &mut dyn FnMut(&mut Payment, &mut Invoice) -> DomainResult<()>,
    ) -> DomainResult<(Invoice, Payment)> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<(Invoice, Payment), TxError> {
            let (mut payment, mut invoice) = lock_payment(c, tenant_id, payment_id)?;
            change(&mut payment, &mut invoice)?;
            save_invoice(c, &invoice)?;
            save_payment(c, &payment)?;
            Ok((invoice, payment))
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("unexpected unique violation")))
    }

    fn record_refund(
        &self,
        tenant_id: &domain::id::TenantId,
        payment_id: &domain::id::PaymentId,
        change: RefundChange<'_>,
    ) -> DomainResult<(Payment, Refund)> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<(Payment, Refund), TxError> {
            let locked = lock_payment(c, tenant_id, payment_id)?;
            let (payment, invoice, refund) = match locked.0.wallet_id.clone() {
                None => {
                    let (mut payment, mut invoice) = locked;
                    let refund = change(&mut payment, &mut invoice, None)?;
                    (payment, invoice, refund)
                }
                Some(w) => {
                    // A second run (every lot loaded) starts again from the rows as locked.
                    with_wallet(c, tenant_id, w.as_str(), |wallet| {
                        let (mut payment, mut invoice) = locked.clone();
                        let refund = change(&mut payment, &mut invoice, Some(wallet))?;
                        Ok((payment, invoice, refund))
                    })?
                    .1
                }
            };
            save_invoice(c, &invoice)?;
            save_payment(c, &payment)?;
            diesel::insert_into(r::table)
                .values(RefundRow {
                    id: refund.id.clone(),
                    tenant_id: refund.tenant_id.to_string(),
                    payment_id: refund.payment_id.to_string(),
                    invoice_id: refund.invoice_id.to_string(),
                    amount: DbDecimal(refund.amount.clone()),
                    credits: refund.credits.clone().map(DbDecimal),
                    reason: refund.reason.clone(),
                    created_at: DbTime(refund.created_at),
                })
                .prepared()
                .execute(c)?;
            Ok((payment, refund))
        })
        .map_err(|e| e.into_domain(|| DomainError::internal("unexpected unique violation")))
    }

    fn get(&self, scope: &Scope, id: &domain::id::PaymentId) -> DomainResult<Option<Payment>> {
        let mut conn = self.conn()?;
        scoped!(p::table.into_boxed(), p, scope)
            .filter(p::id.eq(id.as_str()))
            .select(PaymentRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(internal)?
            .map(PaymentRow::into_domain)
            .transpose()
    }

    fn list(
        &self,
        scope: &Scope,
        f: &PaymentFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Payment>> {
        let mut conn = self.conn()?;
        let mut q = scoped!(
            p::table.select(PaymentRow::as_select()).into_boxed(),
            p,
            scope
        );
        if let Some(c) = &f.customer_id {
            q = q.filter(p::customer_id.eq(c.clone()));
        }
        if let Some(i) = &f.invoice_id {
            q = q.filter(p::invoice_id.eq(i.clone()));
        }
        if let Some(m) = f.method {
            q = q.filter(p::method.eq(m.as_str()));
        }
        if let Some(s) = f.status {
            q = q.filter(p::status.eq(s.as_str()));
        }
        let rows: Vec<PaymentRow> = newest_first!(q, p::id, page, &mut *conn).map_err(internal)?;
        let items = rows
            .into_iter()
            .map(PaymentRow::into_domain)
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |x: &Payment| &x.id))
    }
}
