//! Credit notes of finalized invoices (see `crate::credit_note` for the rules): issued with
//! what they refund in one unit of work, voided while they refunded nothing.

use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};

use crate::credit_note::{self, CreditNote, CreditNoteFilter, NewCreditNote, RefundTo};
use crate::id::{CreditNoteId, InvoiceId, TenantId};
use crate::invoice::{number_period, Invoice};
use crate::page::{Page, PageRequest};
use crate::payment::credits_for;
use crate::ports::{CreditNoteRepo, PaymentRepo, UnitOfWork, WalletRepo};
use crate::scope::{CustomerScope, Scope};
use crate::services::payments::refund_in;
use crate::services::wallets::active_wallet;
use crate::services::webhooks::Events;
use crate::wallet::{LotKind, TopUp};
use crate::webhook::EventType;
use crate::{clock, DomainError, DomainResult};

#[derive(Clone)]
pub struct CreditNoteService {
    notes: Arc<dyn CreditNoteRepo>,
    payments: Arc<dyn PaymentRepo>,
    wallets: Arc<dyn WalletRepo>,
    units: Arc<dyn UnitOfWork>,
    events: Events,
}

impl CreditNoteService {
    pub fn new(
        notes: Arc<dyn CreditNoteRepo>,
        payments: Arc<dyn PaymentRepo>,
        wallets: Arc<dyn WalletRepo>,
        units: Arc<dyn UnitOfWork>,
        events: Events,
    ) -> Self {
        Self {
            notes,
            payments,
            wallets,
            units,
            events,
        }
    }

    /// Issues a credit note of the invoice and refunds what it says, all in one transaction;
    /// sends `credit_note.created` (and the wallet's or the payments' events).
    pub fn create(
        &self,
        tenant_id: &TenantId,
        invoice_id: &InvoiceId,
        new: NewCreditNote,
    ) -> DomainResult<CreditNote> {
        credit_note::check_request(&new)?;
        let now = clock::now();
        self.units.run(&mut || {
            // A refund locks the payment, then its invoice: so do we, or two could deadlock.
            let payments = match new.refund_to {
                RefundTo::Payment => self.payments.lock_refundable(tenant_id, invoice_id)?,
                _ => Vec::new(),
            };
            let (invoice, mut note) =
                self.notes
                    .issue(tenant_id, invoice_id, &mut |inv, issued, next| {
                        let mut note = credit_note::credit(inv, issued, &new, String::new(), now)?;
                        let period = number_period(now);
                        let n = next(&credit_note::counter_key(&period))?;
                        note.number = credit_note::format_number(&period, n);
                        Ok(note)
                    })?;
            match note.refund_to {
                RefundTo::Nothing => {}
                RefundTo::Wallet => self.to_wallet(&invoice, &mut note, now)?,
                RefundTo::Payment => self.to_payments(payments.clone(), &mut note, now)?,
            }
            if note.refund_to != RefundTo::Nothing {
                self.notes.record_refunds(&note)?;
            }
            self.events
                .credit_note(EventType::CreditNoteCreated, &note)?;
            Ok(note)
        })
    }

    /// Credits the note's total to the customer's active wallet in the invoice's currency (as
    /// a refund of a wallet payment does: purchased credits that do not expire).
    fn to_wallet(
        &self,
        invoice: &Invoice,
        note: &mut CreditNote,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<()> {
        let owner = CustomerScope::new(&invoice.tenant_id, &invoice.customer_id);
        let Some(wallet) = active_wallet(self.wallets.as_ref(), &owner, invoice.currency)? else {
            return Err(DomainError::validation(
                "refund_to",
                format!("the customer has no active wallet in {}", invoice.currency),
            ));
        };
        let mut credits = BigDecimal::zero();
        let st = self
            .wallets
            .change(&invoice.tenant_id, &wallet.id, &mut |st| {
                credits = credits_for(&note.total, &st.wallet.conversion_rate);
                st.credit(
                    &TopUp {
                        credits: credits.clone(),
                        kind: LotKind::Purchased,
                        priority: None,
                        expires_at: None,
                        reason: Some("credit_note".into()),
                        description: Some(note.number.clone()),
                        reference: Some(note.id.to_string()),
                        idempotency_key: None,
                    },
                    now,
                )?;
                st.wallet.updated_at = now;
                st.check()
            })?;
        self.events.wallet_movements(&st.wallet, &st.txs)?;
        note.wallet_id = Some(wallet.id);
        note.credits = Some(credits);
        Ok(())
    }

    /// Refunds the note's total from the invoice's payments, newest first.
    fn to_payments(
        &self,
        payments: Vec<crate::payment::Payment>,
        note: &mut CreditNote,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<()> {
        let mut left = note.total.clone();
        for p in payments {
            if left.is_zero() {
                break;
            }
            let take = (&p.amount - &p.amount_refunded).min(left.clone());
            let mut moved = None;
            let reason = Some(format!("credit note {}", note.number));
            let (payment, refund) =
                self.payments
                    .record_refund(&p.tenant_id, &p.id, &mut |pay, inv, wallet| {
                        refund_in(pay, inv, wallet, &take, reason.clone(), now, &mut moved)
                    })?;
            if let Some((wallet, txs)) = &moved {
                self.events.wallet_movements(wallet, txs)?;
            }
            self.events.payment(EventType::PaymentRefunded, &payment)?;
            note.refund_ids.push(refund.id);
            left -= take;
        }
        if !left.is_zero() {
            return Err(DomainError::validation(
                "refund_to",
                format!(
                    "the invoice's payments have {} less left to refund than the {} credited",
                    note.currency.display(&left),
                    note.currency.display(&note.total)
                ),
            ));
        }
        Ok(())
    }

    /// Voids a note that refunded nothing (409 `credit_note_not_voidable` otherwise); sends
    /// `credit_note.voided`.
    pub fn void(&self, tenant_id: &TenantId, id: &CreditNoteId) -> DomainResult<CreditNote> {
        let now = clock::now();
        self.units.run(&mut || {
            let (_, note) = self.notes.void(tenant_id, id, &mut |inv, note| {
                credit_note::void(inv, note, now)
            })?;
            self.events
                .credit_note(EventType::CreditNoteVoided, &note)?;
            Ok(note)
        })
    }

    pub fn get(&self, scope: &Scope, id: &CreditNoteId) -> DomainResult<CreditNote> {
        self.notes
            .get(scope, id)?
            .ok_or_else(CreditNoteId::not_found)
    }

    /// The invoice's notes, oldest first (none for an invoice out of scope).
    pub fn of_invoice(
        &self,
        scope: &Scope,
        invoice_id: &InvoiceId,
    ) -> DomainResult<Vec<CreditNote>> {
        self.notes.of_invoice(scope, invoice_id)
    }

    pub fn list(
        &self,
        scope: &Scope,
        filter: &CreditNoteFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<CreditNote>> {
        self.notes.list(scope, filter, page)
    }
}
