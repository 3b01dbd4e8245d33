//! The plan catalogue: what merchants sell and what the portal offers.

use std::sync::Arc;

use bigdecimal::{BigDecimal, Zero};

use crate::id::PlanId;
use crate::money::Currency;
use crate::page::{Page, PageRequest};
use crate::plan::PlanFilter;
use crate::plan::{
    check_charges, check_entitlements, check_interval, Charge, Entitlement, Interval,
    PastDueAction, Plan, PlanStatus, Visibility, MAX_TRIAL_DAYS,
};
use crate::ports::{PlanRepo, UsageRepo, WalletRepo};
use crate::scope::CustomerScope;
use crate::services::wallets::customer_wallets;
use crate::wallet::validate_text;
use crate::{clock, DomainError, DomainResult, FieldError};

#[derive(Debug, Clone)]
pub struct NewPlan {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub currency: String,
    pub interval: Interval,
    pub interval_count: u32,
    pub amount: BigDecimal,
    pub trial_days: u32,
    pub charges: Vec<Charge>,
    pub entitlements: Vec<Entitlement>,
    pub visibility: Visibility,
    pub past_due_action: PastDueAction,
    pub tax_rate_ids: Vec<crate::id::TaxRateId>,
    pub quantity: crate::plan::QuantityLimits,
    pub purchase: crate::plan::Purchase,
    pub contact_url: Option<String>,
    pub license_keys: Option<crate::license::LicensePolicy>,
}

/// What may change on a plan: how it is presented and offered, never what it charges.
#[derive(Debug, Clone, Default)]
pub struct PlanPatch {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    /// Applies to subscriptions started afterwards.
    pub trial_days: Option<u32>,
    /// Applies to the dunning of every subscription on the plan from now on.
    pub past_due_action: Option<PastDueAction>,
    /// Self-serve or "Contact us", with the contact URL (checked together).
    pub purchase: Option<(crate::plan::Purchase, Option<String>)>,
    /// For subscriptions started from now on; `Some(None)` stops issuing keys.
    pub license_keys: Option<Option<crate::license::LicensePolicy>>,
}

#[derive(Clone)]
pub struct PlanService {
    plans: Arc<dyn PlanRepo>,
    usage: Arc<dyn UsageRepo>,
    wallets: Arc<dyn WalletRepo>,
    taxes: crate::services::taxes::TaxService,
}

fn check_code(code: &str, errs: &mut Vec<FieldError>) {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
    if !ok {
        errs.push(FieldError::new(
            "code",
            "must be 1 to 64 lower-case letters, digits and _ - .",
        ));
    }
}

fn check_name(name: &str, errs: &mut Vec<FieldError>) {
    if name.trim().is_empty() {
        errs.push(FieldError::new("name", "must not be empty"));
    }
    validate_text("name", Some(name), 200, errs);
}

fn check_trial(days: u32, errs: &mut Vec<FieldError>) {
    if days > MAX_TRIAL_DAYS {
        errs.push(FieldError::new(
            "trial_days",
            format!("must be at most {MAX_TRIAL_DAYS}"),
        ));
    }
}

impl PlanService {
    pub fn new(
        plans: Arc<dyn PlanRepo>,
        usage: Arc<dyn UsageRepo>,
        wallets: Arc<dyn WalletRepo>,
        taxes: crate::services::taxes::TaxService,
    ) -> Self {
        Self {
            plans,
            usage,
            wallets,
            taxes,
        }
    }

    pub fn create(&self, tenant_id: &crate::id::TenantId, p: NewPlan) -> DomainResult<Plan> {
        let mut errs = Vec::new();
        check_code(&p.code, &mut errs);
        check_name(&p.name, &mut errs);
        validate_text("description", p.description.as_deref(), 1000, &mut errs);
        let currency = Currency::parse(&p.currency).map_err(|_| {
            errs.push(FieldError::new(
                "currency",
                "must be an ISO 4217 currency code such as \"USD\"",
            ))
        });
        check_interval(p.interval, p.interval_count, &mut errs);
        check_trial(p.trial_days, &mut errs);
        if p.amount < BigDecimal::zero() {
            errs.push(FieldError::new("amount", "must not be negative"));
        } else if let Ok(c) = currency {
            if c.round(&p.amount) != p.amount {
                errs.push(FieldError::new(
                    "amount",
                    format!("has more decimals than {} allows", c.code()),
                ));
            }
        }
        check_charges(&p.charges, &mut errs);
        crate::plan::check_purchase(p.purchase, p.contact_url.as_deref(), &mut errs);
        if let Some(l) = &p.license_keys {
            l.check("license_keys", &mut errs);
        }
        p.quantity.check(&mut errs);
        check_entitlements(&p.entitlements, &mut errs);
        // Every charge and entitlement names a live feature of the account.
        let features = self.usage.features(tenant_id)?;
        let known = |key: &str| features.iter().any(|f| f.key == key && !f.archived);
        for (i, c) in p.charges.iter().enumerate() {
            if !known(&c.feature) {
                errs.push(FieldError::new(
                    format!("charges[{i}].feature"),
                    format!("unknown feature `{}`", c.feature),
                ));
            }
        }
        for (i, e) in p.entitlements.iter().enumerate() {
            if !known(&e.feature) {
                errs.push(FieldError::new(
                    format!("entitlements[{i}].feature"),
                    format!("unknown feature `{}`", e.feature),
                ));
            }
        }
        self.taxes
            .collect_unassignable(tenant_id, "tax_rate_ids", &p.tax_rate_ids, &mut errs)?;
        for (i, c) in p.charges.iter().enumerate() {
            let field = format!("charges[{i}].tax_rate_ids");
            self.taxes
                .collect_unassignable(tenant_id, &field, &c.tax_rate_ids, &mut errs)?;
        }
        let Ok(currency) = currency.and_then(|c| errs.is_empty().then_some(c).ok_or(())) else {
            return Err(DomainError::Validation(errs));
        };
        let now = clock::now();
        let plan = Plan {
            id: PlanId::new(),
            tenant_id: tenant_id.clone(),
            code: p.code,
            name: p.name.trim().to_owned(),
            description: p.description,
            currency,
            interval: p.interval,
            interval_count: p.interval_count,
            amount: p.amount,
            trial_days: p.trial_days,
            charges: p.charges,
            entitlements: p.entitlements,
            visibility: p.visibility,
            status: PlanStatus::Active,
            past_due_action: p.past_due_action,
            tax_rate_ids: p.tax_rate_ids,
            quantity: p.quantity,
            purchase: p.purchase,
            contact_url: p.contact_url,
            license_keys: p.license_keys,
            created_at: now,
            updated_at: now,
        };
        self.plans.insert(&plan)?;
        Ok(plan)
    }

    pub fn get(&self, tenant_id: &crate::id::TenantId, id: &PlanId) -> DomainResult<Plan> {
        self.plans.get(tenant_id, id)?.ok_or_else(PlanId::not_found)
    }

    pub fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &PlanFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Plan>> {
        self.plans.list(tenant_id, filter, page)
    }

    pub fn update(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &PlanId,
        patch: PlanPatch,
    ) -> DomainResult<Plan> {
        let mut errs = Vec::new();
        if patch.name.is_none()
            && patch.description.is_none()
            && patch.visibility.is_none()
            && patch.trial_days.is_none()
            && patch.past_due_action.is_none()
            && patch.purchase.is_none()
            && patch.license_keys.is_none()
        {
            errs.push(FieldError::new("body", "at least one field must be given"));
        }
        if let Some(n) = &patch.name {
            check_name(n, &mut errs);
        }
        if let Some(Some(d)) = &patch.description {
            validate_text("description", Some(d), 1000, &mut errs);
        }
        if let Some(t) = patch.trial_days {
            check_trial(t, &mut errs);
        }
        if let Some((purchase, url)) = &patch.purchase {
            crate::plan::check_purchase(*purchase, url.as_deref(), &mut errs);
        }
        if let Some(Some(l)) = &patch.license_keys {
            l.check("license_keys", &mut errs);
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        let mut plan = self.get(tenant_id, id)?;
        if let Some(n) = patch.name {
            plan.name = n.trim().to_owned();
        }
        if let Some(d) = patch.description {
            plan.description = d;
        }
        if let Some(v) = patch.visibility {
            plan.visibility = v;
        }
        if let Some(t) = patch.trial_days {
            plan.trial_days = t;
        }
        if let Some(a) = patch.past_due_action {
            plan.past_due_action = a;
        }
        if let Some((purchase, url)) = patch.purchase {
            plan.purchase = purchase;
            plan.contact_url = url;
        }
        if let Some(l) = patch.license_keys {
            plan.license_keys = l;
        }
        plan.updated_at = clock::now();
        self.plans.update(&plan)?;
        Ok(plan)
    }

    /// Takes the plan out of the catalogue and out of sale. Archiving an archived plan changes
    /// nothing.
    pub fn archive(&self, tenant_id: &crate::id::TenantId, id: &PlanId) -> DomainResult<Plan> {
        let mut plan = self.get(tenant_id, id)?;
        if plan.status != PlanStatus::Archived {
            plan.status = PlanStatus::Archived;
            plan.updated_at = clock::now();
            self.plans.update(&plan)?;
        }
        Ok(plan)
    }

    /// The portal's catalogue for one customer: public, active plans in the currencies of the
    /// customer's wallets (every currency when the customer has no wallet yet).
    /// What a guest (no customer yet) may choose from: the account's public, active plans in
    /// every currency.
    pub fn public_catalogue(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<Plan>> {
        let filter = PlanFilter {
            status: Some(PlanStatus::Active),
            visibility: Some(Visibility::Public),
            currencies: Vec::new(),
        };
        self.plans.list(tenant_id, &filter, page)
    }

    pub fn catalogue(
        &self,
        customer: &CustomerScope,
        page: &PageRequest,
    ) -> DomainResult<Page<Plan>> {
        let mut currencies: Vec<Currency> = Vec::new();
        for w in customer_wallets(self.wallets.as_ref(), customer)? {
            if !currencies.contains(&w.currency) {
                currencies.push(w.currency);
            }
        }
        let filter = PlanFilter {
            status: Some(PlanStatus::Active),
            visibility: Some(Visibility::Public),
            currencies,
        };
        self.plans.list(&customer.tenant_id, &filter, page)
    }
}
