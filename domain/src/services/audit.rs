use std::sync::Arc;

use crate::audit::{AuditEvent, AuditFilter};
use crate::page::{Page, PageRequest};
use crate::ports::AuditRepo;
use crate::{DomainError, DomainResult};

#[derive(Clone)]
pub struct AuditService {
    repo: Arc<dyn AuditRepo>,
}

impl AuditService {
    pub fn new(repo: Arc<dyn AuditRepo>) -> Self {
        Self { repo }
    }

    pub fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<AuditEvent>> {
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                return Err(DomainError::validation("from", "must not be after to"));
            }
        }
        self.repo.list(tenant_id, filter, page)
    }
}
