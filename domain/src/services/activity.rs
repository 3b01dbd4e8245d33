//! The customer's activity history, a page at a time.

use std::sync::Arc;

use crate::activity::{merge, Activity, ActivityFilter, Position};
use crate::page::{Page, PageRequest};
use crate::ports::{ActivityRepo, CustomerRepo};
use crate::scope::CustomerScope;
use crate::services::customers::known_customer;
use crate::DomainResult;

#[derive(Clone)]
pub struct ActivityService {
    repo: Arc<dyn ActivityRepo>,
    customers: Arc<dyn CustomerRepo>,
}

impl ActivityService {
    pub fn new(repo: Arc<dyn ActivityRepo>, customers: Arc<dyn CustomerRepo>) -> Self {
        Self { repo, customers }
    }

    /// Newest first. The page's cursor is the last entry's position.
    pub fn list(
        &self,
        owner: &CustomerScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Activity>> {
        let after = page.after.as_deref().map(Position::decode).transpose()?;
        let n = page.fetch_limit() as usize;
        let sources = self.repo.activity(owner, filter, after.as_ref(), n)?;
        let rows = merge(sources, after.as_ref(), n);
        if rows.is_empty() {
            known_customer(self.customers.as_ref(), owner)?;
        }
        Ok(Page::from_rows_keyed(rows, page, |a| a.position().encode()))
    }
}
