//! Tax rates, and the one place that decides which rates an invoice line carries (invoices,
//! renewals, the upcoming invoice and previews all ask here; `crate::tax` computes the tax).

use std::sync::Arc;

use crate::customer::Customer;
use crate::error::finish;
use crate::id::{TaxRateId, TenantId};
use crate::invoice::LineItem;
use crate::page::{Page, PageRequest};
use crate::ports::{AccountRepo, TaxRateRepo};
use crate::tax::{self, NewTaxRate, TaxRate, TaxRateFilter};
use crate::{clock, DomainResult, FieldError};

#[derive(Clone)]
pub struct TaxService {
    rates: Arc<dyn TaxRateRepo>,
    accounts: Arc<dyn AccountRepo>,
}

impl TaxService {
    pub fn new(rates: Arc<dyn TaxRateRepo>, accounts: Arc<dyn AccountRepo>) -> Self {
        Self { rates, accounts }
    }

    pub fn create(&self, tenant_id: &TenantId, new: NewTaxRate) -> DomainResult<TaxRate> {
        let rate = TaxRate::new(tenant_id, new, clock::now())?;
        self.rates.insert(&rate)?;
        Ok(rate)
    }

    pub fn get(&self, tenant_id: &TenantId, id: &TaxRateId) -> DomainResult<TaxRate> {
        self.rates
            .get(tenant_id, id)?
            .ok_or_else(TaxRateId::not_found)
    }

    pub fn list(
        &self,
        tenant_id: &TenantId,
        filter: &TaxRateFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<TaxRate>> {
        self.rates.list(tenant_id, filter, page)
    }

    /// Archives a rate: it stays on the invoices that used it (and keeps applying where it is
    /// already a plan's, a customer's or the account's default, as Stripe's do), and cannot be
    /// given anew. Idempotent.
    pub fn archive(&self, tenant_id: &TenantId, id: &TaxRateId) -> DomainResult<TaxRate> {
        self.rates
            .archive(tenant_id, id, clock::now())?
            .ok_or_else(TaxRateId::not_found)
    }

    /// Checks rate ids a client gives in `field` (a line's, a plan's, a customer's, the
    /// account's defaults): at most [`tax::MAX_RATES`], no repeats, each an active rate of the
    /// account. 422 naming `field[i]` otherwise (another account's rate is simply unknown).
    pub fn check_assignable(
        &self,
        tenant_id: &TenantId,
        field: &str,
        ids: &[TaxRateId],
    ) -> DomainResult<()> {
        let mut errs = Vec::new();
        self.collect_unassignable(tenant_id, field, ids, &mut errs)?;
        finish(errs, ())
    }

    /// [`TaxService::check_assignable`], adding its problems to `errs`.
    pub fn collect_unassignable(
        &self,
        tenant_id: &TenantId,
        field: &str,
        ids: &[TaxRateId],
        errs: &mut Vec<FieldError>,
    ) -> DomainResult<()> {
        tax::check_ids(field, ids, errs);
        let found = self.rates.many(tenant_id, ids)?;
        for (i, id) in ids.iter().enumerate() {
            match found.iter().find(|r| &r.id == id) {
                None => errs.push(FieldError::new(format!("{field}[{i}]"), "no such tax rate")),
                Some(r) if !r.active => errs.push(FieldError::new(
                    format!("{field}[{i}]"),
                    "the tax rate is archived",
                )),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Gives each of `lines` the rates that apply to it: the line's own (`own[i]`, checked as
    /// [`TaxService::check_assignable`] does, named `lines[i].tax_rate_ids`), else the plan's
    /// for that line (`plan[i]`: its charge's, else the plan's), the customer's, the account's
    /// defaults; none for a customer who does not pay tax. The taxes themselves are computed
    /// when the invoice is priced.
    pub fn apply(
        &self,
        customer: &Customer,
        plan: &[Vec<TaxRateId>],
        own: &[Option<Vec<TaxRateId>>],
        lines: &mut [LineItem],
    ) -> DomainResult<()> {
        let tenant_id = &customer.tenant_id;
        let mut errs = Vec::new();
        for (i, ids) in own.iter().enumerate() {
            if let Some(ids) = ids {
                let field = format!("lines[{i}].tax_rate_ids");
                self.collect_unassignable(tenant_id, &field, ids, &mut errs)?;
            }
        }
        finish(errs, ())?;
        let account = self
            .accounts
            .get(tenant_id)?
            .map(|a| a.settings.default_tax_rate_ids)
            .unwrap_or_default();
        let chosen: Vec<&[TaxRateId]> = (0..lines.len())
            .map(|i| {
                let own = own.get(i).and_then(Option::as_deref);
                let plan = plan.get(i).map(Vec::as_slice).unwrap_or_default();
                let defaults = [plan, &customer.tax_rate_ids[..], &account[..]];
                tax::applicable(customer.tax_exempt, own, defaults)
            })
            .collect();
        let mut wanted: Vec<TaxRateId> = chosen.iter().flat_map(|ids| ids.to_vec()).collect();
        wanted.sort();
        wanted.dedup();
        let rates = self.rates.many(tenant_id, &wanted)?;
        // Lines a reverse-charge customer is invoiced for carry no rate (`applicable`); the
        // invoice says why (`Invoice::reverse_charge`, set by the caller from the customer).
        for (line, ids) in lines.iter_mut().zip(chosen) {
            line.tax_rates = ids
                .iter()
                .filter_map(|id| rates.iter().find(|r| &r.id == id))
                .map(TaxRate::applied)
                .collect();
        }
        Ok(())
    }
}
