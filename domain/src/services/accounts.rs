//! The merchant's account settings: read by admin routes, PDFs and the portal's branding;
//! changed by the admin key.

use std::sync::Arc;

use crate::account::{Account, AccountPatch};
use crate::ports::AccountRepo;
use crate::{DomainError, DomainResult};

#[derive(Clone)]
pub struct AccountService {
    repo: Arc<dyn AccountRepo>,
    taxes: crate::services::taxes::TaxService,
}

impl AccountService {
    pub fn new(repo: Arc<dyn AccountRepo>, taxes: crate::services::taxes::TaxService) -> Self {
        Self { repo, taxes }
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
        self.repo.change(tenant_id, &mut |a| a.apply(patch.clone()))
    }
}
