//! Admin API keys. A key is shown once at creation; only its SHA-256 digest is stored.
//!
//! Format: `sk_<8-char lookup id>_<32-char secret>` (base62). The lookup id finds the row by
//! an index; the digest of the whole key is then compared in constant time. Keys carry 190+
//! bits of entropy, so a fast digest is enough (a slow password hash would only add latency).

use chrono::{DateTime, Utc};
use rand::{distr::Alphanumeric, Rng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::id::ApiKeyId;
use crate::{DomainError, DomainResult};

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: crate::id::TenantId,
    pub name: String,
    /// `sk_<lookup id>`: safe to show in lists and logs.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a repository holds to authenticate a key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub key: ApiKey,
    pub secret_hash: String,
}

/// A freshly generated key: the plaintext goes to the caller once, the rest is stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub plaintext: String,
    pub prefix: String,
    pub secret_hash: String,
}

const LOOKUP_LEN: usize = 8;
const SECRET_LEN: usize = 32;

impl NewApiKey {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let lookup: String = (&mut rng)
            .sample_iter(Alphanumeric)
            .take(LOOKUP_LEN)
            .map(char::from)
            .collect();
        let secret: String = (&mut rng)
            .sample_iter(Alphanumeric)
            .take(SECRET_LEN)
            .map(char::from)
            .collect();
        Self::from_plaintext(&format!("sk_{lookup}_{secret}"))
            .expect("generated keys are well-formed")
    }

    /// Accepts an operator-chosen key (`PORTAL_BOOTSTRAP_API_KEY`); it must have the same shape
    /// and strength as a generated one.
    pub fn from_plaintext(plaintext: &str) -> DomainResult<Self> {
        let prefix = prefix_of(plaintext).ok_or_else(|| {
            DomainError::validation(
                "api_key",
                "must look like sk_<8 letters or digits>_<32 letters or digits>",
            )
        })?;
        Ok(Self {
            plaintext: plaintext.to_owned(),
            prefix,
            secret_hash: hash(plaintext),
        })
    }
}

/// `sk_<lookup>` of a well-formed key, or None.
pub fn prefix_of(presented: &str) -> Option<String> {
    let rest = presented.strip_prefix("sk_")?;
    let (lookup, secret) = rest.split_once('_')?;
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(lookup, LOOKUP_LEN) && ok(secret, SECRET_LEN)).then(|| format!("sk_{lookup}"))
}

pub fn hash(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// Constant-time comparison of the presented key's digest with the stored one.
pub fn verify(presented: &str, stored_hash: &str) -> bool {
    hash(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

pub fn validate_name(name: &str) -> DomainResult<()> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(DomainError::validation(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_others_do_not() {
        let k = NewApiKey::generate();
        assert!(k.plaintext.starts_with(&k.prefix));
        assert_eq!(prefix_of(&k.plaintext).as_deref(), Some(k.prefix.as_str()));
        assert!(verify(&k.plaintext, &k.secret_hash));
        let other = NewApiKey::generate();
        assert!(!verify(&other.plaintext, &k.secret_hash));
        assert!(prefix_of("sk_short_x").is_none());
        assert!(NewApiKey::from_plaintext("hunter2").is_err());
    }
}
