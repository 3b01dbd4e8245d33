//! The merchant's account settings: read by admin routes, PDFs and the portal's branding;
//! changed by the admin key.

use std::sync::Arc;

use crate::account::{Account, AccountPatch};
use crate::ports::{AccountRepo, DiscountRepo};
use crate::{DomainError, DomainResult};

#[derive(Clone)]
pub struct AccountService {
    repo: Arc<dyn AccountRepo>,
    discounts: Arc<dyn DiscountRepo>,
    taxes: crate::services::taxes::TaxService,
}

impl AccountService {
    pub fn new(
        repo: Arc<dyn AccountRepo>,
        discounts: Arc<dyn DiscountRepo>,
        taxes: crate::services::taxes::TaxService,
    ) -> Self {
        Self {
            repo,
            discounts,
            taxes,
        }
    }

    pub fn get(&self, tenant_id: &crate::id::TenantId) -> DomainResult<Account> {
        self.repo
            .get(tenant_id)?
            .ok_or_else(|| DomainError::internal(format!("account {tenant_id} is missing")))
    }

    pub fn update(
        &self,
        tenant_id: &crate::id::TenantId,
        patch: AccountPatch,
    ) -> DomainResult<Account> {
        if let Some(ids) = &patch.default_tax_rate_ids {
            self.taxes
                .check_assignable(tenant_id, "default_tax_rate_ids", ids)?;
        }
        if let Some(Some(id)) = &patch.retention_coupon_id {
            let active = self
                .discounts
                .coupon(tenant_id, id)?
                .is_some_and(|c| c.active);
            if !active {
                return Err(DomainError::validation(
                    "retention_coupon_id",
                    "is not an active coupon of this account",
                ));
            }
        }
        self.repo.change(tenant_id, &mut |a| a.apply(patch.clone()))
    }
}
