use std::sync::Arc;

use crate::api_key::{self, ApiKey, NewApiKey};
use crate::id::ApiKeyId;
use crate::page::{Page, PageRequest};
use crate::ports::ApiKeyRepo;
use crate::ErrorCode;
use crate::{id, DomainError, DomainResult};

/// The authenticated caller of an admin route.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: crate::id::TenantId,
    pub key_id: ApiKeyId,
}

impl Principal {
    /// An admin key sees its whole account.
    pub fn scope(&self) -> crate::scope::Scope {
        crate::scope::Scope::account(&self.tenant_id)
    }

    /// One customer of the key's account.
    pub fn customer(&self, customer_id: &crate::id::CustomerId) -> crate::scope::CustomerScope {
        crate::scope::CustomerScope::new(&self.tenant_id, customer_id)
    }
}

#[derive(Clone)]
pub struct ApiKeyService {
    repo: Arc<dyn ApiKeyRepo>,
    /// Keys verified within [`VERIFIED_FOR`], by the digest of the presented key (never the
    /// key itself): a request within that time of a verification is not verified again.
    verified: moka::sync::Cache<String, Principal>,
}

pub const INVALID_KEY: &str = "missing or invalid API key";

/// How long a verified key is trusted without reading it again. A revoked key therefore stops
/// working on every replica within this time of the revocation's commit (at once on the
/// replica that revoked it, which forgets every verified key); a second is the bound the
/// product promises, less a margin for the commit to become visible.
pub const VERIFIED_FOR: std::time::Duration = std::time::Duration::from_millis(900);

impl ApiKeyService {
    pub fn new(repo: Arc<dyn ApiKeyRepo>) -> Self {
        Self {
            repo,
            verified: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(VERIFIED_FOR)
                .build(),
        }
    }

    /// The caller of a key verified within [`VERIFIED_FOR`], without any I/O; `None`: call
    /// [`Self::authenticate`].
    pub fn recently_verified(&self, presented: &str) -> Option<Principal> {
        self.verified.get(&api_key::hash(presented))
    }

    /// On an empty database, creates the first tenant and an admin key: `preset` if given
    /// (`PORTAL_BOOTSTRAP_API_KEY`), else a generated one. Returns the key if one was created.
    pub fn bootstrap(&self, preset: Option<&str>) -> DomainResult<Option<(ApiKey, String)>> {
        let new = match preset {
            Some(p) => NewApiKey::from_plaintext(p)?,
            None => NewApiKey::generate(),
        };
        let tenant_id = id::TenantId::new();
        let key = new_key_row(&tenant_id, "bootstrap", &new);
        let created = self.repo.create_tenant(
            &tenant_id,
            crate::account::FIRST_ACCOUNT_NAME,
            &key,
            &new.secret_hash,
            true,
        )?;
        Ok(created.then_some((key, new.plaintext)))
    }

    /// Creates another account (one deployment can serve several merchants) with its first
    /// admin key, returned once.
    pub fn create_tenant(&self, name: &str) -> DomainResult<(ApiKey, String)> {
        api_key::validate_name(name)?;
        let new = NewApiKey::generate();
        let tenant_id = id::TenantId::new();
        let key = new_key_row(&tenant_id, "initial", &new);
        self.repo
            .create_tenant(&tenant_id, name.trim(), &key, &new.secret_hash, false)?;
        Ok((key, new.plaintext))
    }

    pub fn authenticate(&self, presented: &str) -> DomainResult<Principal> {
        let unauthenticated = || DomainError::Unauthenticated {
            code: ErrorCode::Unauthorized,
            message: INVALID_KEY,
        };
        let prefix = api_key::prefix_of(presented).ok_or_else(unauthenticated)?;
        let stored = self
            .repo
            .find_by_prefix(&prefix)?
            .into_iter()
            .find(|k| api_key::verify(presented, &k.secret_hash))
            .ok_or_else(unauthenticated)?;
        if stored.key.revoked_at.is_some() {
            return Err(unauthenticated());
        }
        let digest = api_key::hash(presented);
        let now = crate::clock::now();
        if stored
            .key
            .last_used_at
            .is_none_or(|t| now - t > chrono::Duration::minutes(1))
        {
            self.repo
                .touch(&stored.key.tenant_id, &stored.key.id, now)?;
        }
        let principal = Principal {
            tenant_id: stored.key.tenant_id,
            key_id: stored.key.id,
        };
        self.verified.insert(digest, principal.clone());
        Ok(principal)
    }

    /// Creates a key; the plaintext is returned once and never stored.
    pub fn create(
        &self,
        tenant_id: &crate::id::TenantId,
        name: &str,
    ) -> DomainResult<(ApiKey, String)> {
        api_key::validate_name(name)?;
        let new = NewApiKey::generate();
        let key = new_key_row(tenant_id, name.trim(), &new);
        self.repo.insert(&key, &new.secret_hash)?;
        Ok((key, new.plaintext))
    }

    pub fn list(
        &self,
        tenant_id: &crate::id::TenantId,
        page: &PageRequest,
    ) -> DomainResult<Page<ApiKey>> {
        self.repo.list(tenant_id, page)
    }

    pub fn revoke(&self, tenant_id: &crate::id::TenantId, id: &ApiKeyId) -> DomainResult<ApiKey> {
        let revoked = self.repo.revoke(tenant_id, id, crate::clock::now())?;
        // This replica stops trusting the key at once; the others within VERIFIED_FOR.
        self.verified.invalidate_all();
        Ok(revoked)
    }

    pub fn tenant_ids(&self) -> DomainResult<Vec<crate::id::TenantId>> {
        self.repo.tenant_ids()
    }
}

pub fn not_found() -> DomainError {
    ApiKeyId::not_found()
}

fn new_key_row(tenant_id: &crate::id::TenantId, name: &str, new: &NewApiKey) -> ApiKey {
    ApiKey {
        id: crate::id::ApiKeyId::new(),
        tenant_id: tenant_id.clone(),
        name: name.to_owned(),
        prefix: new.prefix.clone(),
        created_at: crate::clock::now(),
        last_used_at: None,
        revoked_at: None,
    }
}
