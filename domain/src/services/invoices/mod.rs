mod revise;

use crate::ErrorCode;
use std::collections::BTreeMap;
use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};

use crate::id::InvoiceId;
use crate::invoice::InvoiceFilter;
use crate::invoice::NextNumber;
use crate::invoice::{
    check_amounts, format_number, number_period, price_lines, Invoice, InvoiceStatus, NewLine,
};
use crate::money::Currency;
use crate::page::{Page, PageRequest};
use crate::payment::PaymentFilter;
use crate::payment::PaymentState;
use crate::portal_session::CustomerRef;
use crate::ports::{AuditRepo, CustomerRepo, InvoiceRepo, PaymentRepo, UnitOfWork};
use crate::scope::{CustomerScope, Scope};
use crate::services::customers;
use crate::services::payments::PaymentService;
use crate::services::taxes::TaxService;
use crate::services::webhooks::Events;
use crate::wallet::validate_text;
use crate::webhook::EventType;
use crate::{clock, DomainError, DomainResult, FieldError};

#[derive(Clone)]
pub struct InvoiceService {
    invoices: Arc<dyn InvoiceRepo>,
    customers: Arc<dyn CustomerRepo>,
    payments: Arc<dyn PaymentRepo>,
    units: Arc<dyn UnitOfWork>,
    audit: Arc<dyn AuditRepo>,
    /// Auto-pay of a finalized invoice.
    collector: PaymentService,
    events: Events,
    taxes: TaxService,
}

/// The failure reason of a pending payment whose invoice was voided.
const VOIDED: &str = "invoice_voided";

pub fn not_found() -> DomainError {
    InvoiceId::not_found()
}

fn conflict(code: ErrorCode, message: &str) -> DomainError {
    DomainError::Conflict {
        code,
        message: message.to_owned(),
    }
}

#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub customer_id: String,
    pub currency: String,
    pub due_at: Option<DateTime<Utc>>,
    pub memo: Option<String>,
    pub lines: Vec<NewLine>,
}

/// Draft edits: `None` leaves a field alone; `lines` replaces all lines.
#[derive(Debug, Clone, Default)]
pub struct InvoicePatch {
    pub due_at: Option<Option<DateTime<Utc>>>,
    pub memo: Option<Option<String>>,
    pub lines: Option<Vec<NewLine>>,
}

/// What a customer owes in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding {
    pub currency: Currency,
    pub outstanding: BigDecimal,
    pub overdue: BigDecimal,
    pub open_invoices: u32,
}

fn check_memo(memo: Option<&str>) -> DomainResult<()> {
    let mut errs = Vec::new();
    validate_text("memo", memo, 1000, &mut errs);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errs))
    }
}

/// What invoices need: repositories, and the services they hand work to.
pub struct InvoicePorts {
    pub invoices: Arc<dyn InvoiceRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub payments: Arc<dyn PaymentRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub audit: Arc<dyn AuditRepo>,
    /// Auto-pay of a finalized invoice.
    pub collector: PaymentService,
    pub events: Events,
    pub taxes: TaxService,
}

impl InvoiceService {
    pub fn new(ports: InvoicePorts) -> Self {
        Self {
            invoices: ports.invoices,
            customers: ports.customers,
            payments: ports.payments,
            units: ports.units,
            audit: ports.audit,
            collector: ports.collector,
            events: ports.events,
            taxes: ports.taxes,
        }
    }

    pub fn create(
        &self,
        tenant_id: &crate::id::TenantId,
        input: NewInvoice,
    ) -> DomainResult<Invoice> {
        let currency = Currency::parse(&input.currency)?;
        check_memo(input.memo.as_deref())?;
        let own = own_rates(&input.lines);
        let mut lines = price_lines(input.lines)?;
        check_amounts(currency, &lines)?;
        let customer = customers::active_customer(
            self.customers.as_ref(),
            tenant_id,
            CustomerRef::Id(input.customer_id),
            "be invoiced",
        )?;
        self.taxes.apply(&customer, &[], &own, &mut lines)?;
        let reverse_charge = customer.tax_exempt == crate::tax::TaxExempt::ReverseCharge;
        let mut invoice = Invoice::draft(tenant_id, customer.id, currency, lines, clock::now());
        invoice.reverse_charge = reverse_charge;
        invoice.memo = input.memo;
        invoice.due_at = input.due_at;
        invoice.reprice();
        invoice.check_total()?;
        self.invoices.insert(&invoice)?;
        Ok(invoice)
    }

    /// An invoice in the scope. A customer never sees drafts: they are not issued yet.
    pub fn get(&self, scope: &Scope, id: &InvoiceId) -> DomainResult<Invoice> {
        self.invoices
            .get(scope, id)?
            .filter(|i| scope.customer_id().is_none() || i.status != InvoiceStatus::Draft)
            .ok_or_else(not_found)
    }

    /// [`Self::get`] with the invoice's credit notes, oldest first.
    pub fn get_with_credit_notes(
        &self,
        scope: &Scope,
        id: &InvoiceId,
    ) -> DomainResult<(Invoice, Vec<crate::credit_note::CreditNote>)> {
        self.invoices
            .get_with_credit_notes(scope, id)?
            .filter(|(i, _)| scope.customer_id().is_none() || i.status != InvoiceStatus::Draft)
            .ok_or_else(not_found)
    }

    /// Edits a draft; a finalized or voided invoice is immutable (409 `invoice_not_draft`).
    pub fn update(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &InvoiceId,
        patch: InvoicePatch,
    ) -> DomainResult<Invoice> {
        if patch.due_at.is_none() && patch.memo.is_none() && patch.lines.is_none() {
            return Err(DomainError::validation(
                "body",
                "at least one field must be given",
            ));
        }
        if let Some(Some(m)) = &patch.memo {
            check_memo(Some(m))?;
        }
        let lines = match patch.lines {
            Some(new) => Some(self.taxed_lines(tenant_id, id, new)?),
            None => None,
        };
        let reverse_charge = lines.as_ref().map(|(_, r)| *r);
        let lines = lines.map(|(l, _)| l);
        let mut lines = Some(lines);
        self.change(tenant_id, id, &mut |inv, _| {
            if inv.status != InvoiceStatus::Draft {
                return Err(conflict(
                    ErrorCode::InvoiceNotDraft,
                    "only drafts can be edited",
                ));
            }
            if let Some(Some(l)) = lines.take() {
                check_amounts(inv.currency, &l)?;
                inv.lines = l;
            }
            if let Some(r) = reverse_charge {
                inv.reverse_charge = r;
            }
            if let Some(d) = patch.due_at {
                inv.due_at = d;
            }
            if let Some(m) = &patch.memo {
                inv.memo = m.clone();
            }
            inv.reprice();
            inv.check_total()?;
            inv.updated_at = clock::now();
            Ok(())
        })
    }

    /// New lines of the draft `id`, priced and with the rates that apply to its customer (whom
    /// a draft never changes, so they are read before the draft is locked), and whether the
    /// customer is invoiced under reverse charge.
    fn taxed_lines(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &InvoiceId,
        new: Vec<NewLine>,
    ) -> DomainResult<(Vec<crate::invoice::LineItem>, bool)> {
        let own = own_rates(&new);
        let mut lines = price_lines(new)?;
        let invoice = self
            .invoices
            .get(&Scope::account(tenant_id), id)?
            .ok_or_else(not_found)?;
        let customer = self
            .customers
            .get(tenant_id, &invoice.customer_id)?
            .ok_or_else(customers::not_found)?;
        self.taxes.apply(&customer, &[], &own, &mut lines)?;
        let reverse_charge = customer.tax_exempt == crate::tax::TaxExempt::ReverseCharge;
        Ok((lines, reverse_charge))
    }

    pub fn delete(&self, tenant_id: &crate::id::TenantId, id: &InvoiceId) -> DomainResult<()> {
        let invoice = self.get(&Scope::account(tenant_id), id)?;
        if invoice.status != InvoiceStatus::Draft || !self.invoices.delete_draft(tenant_id, id)? {
            return Err(conflict(
                ErrorCode::InvoiceNotDraft,
                "only drafts can be deleted",
            ));
        }
        Ok(())
    }

    /// Assigns the next number, freezes the totals and sets `issued_at`. An invoice needs at
    /// least one line.
    /// Finalizes a draft: its number, totals frozen, issued now. A customer with auto-pay on has
    /// it collected in the same transaction (the wallet, then a pending payment through the
    /// default method); the answer shows it as it stands after.
    pub fn finalize(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &InvoiceId,
    ) -> DomainResult<Invoice> {
        self.units.run(&mut || {
            let draft = self.get(&Scope::account(tenant_id), id)?;
            let customer = self.customers.get(tenant_id, &draft.customer_id)?;
            // Who it is addressed to is kept as issued (a later change of the customer's
            // details does not reach it).
            let bill_to = customer.as_ref().map(crate::customer::bill_to);
            let issued = self.finalize_only(tenant_id, id, bill_to)?;
            self.events.invoice(EventType::InvoiceFinalized, &issued)?;
            if customer
                .as_ref()
                .is_some_and(|c| c.status == crate::customer::CustomerStatus::Archived)
            {
                return Err(customers::archived_refusal("be invoiced"));
            }
            match customer.is_some_and(|c| c.auto_pay) {
                true => self.collector.auto_pay(&issued, issued.updated_at),
                false => Ok(issued),
            }
        })
    }

    fn finalize_only(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &InvoiceId,
        bill_to: Option<crate::customer::BillingDetails>,
    ) -> DomainResult<Invoice> {
        self.change(tenant_id, id, &mut |inv, next_number: NextNumber<'_>| {
            if inv.status != InvoiceStatus::Draft {
                return Err(conflict(
                    ErrorCode::InvoiceNotDraft,
                    "only drafts can be finalized",
                ));
            }
            if inv.lines.is_empty() {
                return Err(DomainError::Unprocessable {
                    code: ErrorCode::InvoiceEmpty,
                    message: "an invoice needs at least one line to be finalized".into(),
                });
            }
            let now = clock::now();
            let period = number_period(now);
            inv.issue(format_number(&period, next_number(&period)?), now);
            inv.bill_to = bill_to.clone();
            Ok(())
        })
    }

    /// Voids a finalized invoice. One with payments must be refunded first (409
    /// `invoice_has_payments`), so money is never silently orphaned. A pending payment of it
    /// (requested from the portal with a saved method) fails in the same transaction
    /// (`failure_reason: invoice_voided`), so the merchant's payment page, checking the payment
    /// before charging, charges nothing more for it.
    pub fn void(&self, tenant_id: &crate::id::TenantId, id: &InvoiceId) -> DomainResult<Invoice> {
        self.units.run(&mut || {
            let (voided, changed) = self.void_only(tenant_id, id)?;
            if !changed {
                return Ok(voided);
            }
            let pending = self.payments.list(
                &Scope::account(tenant_id),
                &PaymentFilter {
                    invoice_id: Some(voided.id.to_string()),
                    status: Some(PaymentState::Pending),
                    ..PaymentFilter::default()
                },
                &PageRequest::new(Some(1), None)?,
            )?;
            self.payments.fail_pending(tenant_id, &voided.id, VOIDED)?;
            self.events.invoice(EventType::InvoiceVoided, &voided)?;
            for mut p in pending.items {
                p.status = PaymentState::Failed;
                p.failure_reason = Some(VOIDED.to_owned());
                self.events.payment(EventType::PaymentFailed, &p)?;
            }
            Ok(voided)
        })
    }

    /// The invoice voided, and whether this call voided it (voiding again changes nothing).
    fn void_only(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &InvoiceId,
    ) -> DomainResult<(Invoice, bool)> {
        let mut changed = false;
        let voided = self.change(tenant_id, id, &mut |inv, _| {
            match inv.status {
                InvoiceStatus::Voided => return Ok(()),
                InvoiceStatus::Draft => {
                    return Err(conflict(
                        ErrorCode::InvoiceNotFinalized,
                        "drafts are deleted, not voided",
                    ));
                }
                InvoiceStatus::Finalized => {}
            }
            if !inv.amount_paid.is_zero() {
                return Err(conflict(
                    ErrorCode::InvoiceHasPayments,
                    "refund the payments before voiding",
                ));
            }
            if !inv.amount_credited.is_zero() {
                return Err(conflict(
                    ErrorCode::InvoiceHasCreditNotes,
                    "the invoice has credit notes: void them, or credit the rest",
                ));
            }
            let now = clock::now();
            inv.status = InvoiceStatus::Voided;
            inv.voided_at = Some(now);
            inv.updated_at = now;
            changed = true;
            Ok(())
        })?;
        Ok((voided, changed))
    }

    /// The scope's invoices matching `filter`; a customer scope never lists drafts.
    pub fn list(
        &self,
        scope: &Scope,
        filter: &InvoiceFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Invoice>> {
        let mut filter = filter.clone();
        if scope.customer_id().is_some() {
            // The scope names the customer; drafts are not issued yet.
            filter.customer_id = None;
            filter.exclude_drafts = true;
            if filter.status == Some(InvoiceStatus::Draft) {
                filter.status = None;
            }
        }
        let mut errs = Vec::new();
        for (field, from, to) in [
            ("issued_from", filter.issued_from, filter.issued_to),
            ("due_from", filter.due_from, filter.due_to),
        ] {
            if let (Some(f), Some(t)) = (from, to) {
                if f > t {
                    errs.push(FieldError::new(
                        field,
                        "must not be after the end of the range",
                    ));
                }
            }
        }
        if errs.is_empty() {
            self.invoices.list(scope, &filter, page)
        } else {
            Err(DomainError::Validation(errs))
        }
    }

    /// Outstanding and overdue amounts per currency for one customer.
    pub fn outstanding(&self, customer: &CustomerScope) -> DomainResult<Vec<Outstanding>> {
        Ok(outstanding(
            &self.invoices.open_amounts(customer)?,
            clock::now(),
        ))
    }

    fn change(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &InvoiceId,
        f: &mut dyn FnMut(&mut Invoice, NextNumber<'_>) -> DomainResult<()>,
    ) -> DomainResult<Invoice> {
        self.invoices.change(tenant_id, id, f)
    }
}

/// The rates each line names itself (`None`: the defaults apply).
fn own_rates(lines: &[NewLine]) -> Vec<Option<Vec<crate::id::TaxRateId>>> {
    lines.iter().map(|l| l.tax_rate_ids.clone()).collect()
}

/// What is owed per currency at `now`, from the open invoices' amounts.
pub fn outstanding(
    open: &[crate::invoice::OpenAmount],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Outstanding> {
    let mut by_currency: BTreeMap<&str, Outstanding> = BTreeMap::new();
    for inv in open {
        let due = inv.amount_due();
        if due <= BigDecimal::zero() {
            continue;
        }
        let entry = by_currency
            .entry(inv.currency.code())
            .or_insert_with(|| Outstanding {
                currency: inv.currency,
                outstanding: BigDecimal::zero(),
                overdue: BigDecimal::zero(),
                open_invoices: 0,
            });
        if inv.is_overdue(now) {
            entry.overdue += &due;
        }
        entry.outstanding += due;
        entry.open_invoices += 1;
    }
    by_currency.into_values().collect()
}
