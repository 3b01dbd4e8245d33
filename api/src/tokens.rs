//! Portal session tokens: PASETO v4.local (XChaCha20 + BLAKE2b-MAC) via `pasetors`.
//!
//! Keys are PASERK strings (`k4.local.<base64url>`). `PORTAL_TOKEN_KEY` holds one or more,
//! comma-separated: the first encrypts new tokens, every one decrypts. Each token's footer names
//! its key (`kid`, the PASERK `k4.lid.…` id), so rotation is: put the new key first, keep the
//! old one after it until the longest session has expired (24 h at most), then remove it.
//! Without `PORTAL_TOKEN_KEY`, a key is generated once and kept in `<data dir>/token_key` (mode
//! 0600), which suits a single node; replicas must share `PORTAL_TOKEN_KEY`.
//!
//! A token only names a session: the session row decides on every request.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use domain::portal_session::{TokenClaims, TokenCodec, TokenError};
use domain::{DomainError, DomainResult};
use pasetors::claims::{Claims, ClaimsValidationRules};
use pasetors::errors::{ClaimValidationError, Error as PasetoError};
use pasetors::footer::Footer;
use pasetors::keys::{Generate, SymmetricKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::token::UntrustedToken;
use pasetors::version4::{LocalToken, V4};
use pasetors::{local, Local};

/// Binds tokens to this use: a v4.local token made by the same key for another purpose fails.
const IMPLICIT_ASSERTION: &[u8] = b"portal-api:portal-session";
/// Binds sealed data at rest to its use (see [`PasetoCodec::seal`]).
const SEALED_ASSERTION: &[u8] = b"portal-api:stored-answer";
/// Tolerated clock difference between replicas for `iat`/`nbf`.
const CLOCK_SKEW: Duration = Duration::seconds(30);

pub struct PasetoCodec {
    /// (kid, key); the first one encrypts.
    ring: Vec<(String, SymmetricKey<V4>)>,
}

fn kid_of(key: &SymmetricKey<V4>) -> String {
    let mut s = String::new();
    Id::from(key)
        .fmt(&mut s)
        .expect("formatting an id into a String");
    s
}

fn paserk_of(key: &SymmetricKey<V4>) -> String {
    let mut s = String::new();
    key.fmt(&mut s).expect("formatting a key into a String");
    s
}

impl PasetoCodec {
    /// From `PORTAL_TOKEN_KEY` if set, else from (or into) `<data_dir>/token_key`.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        let text = match configured.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => v.to_owned(),
            None => Self::persisted_key(data_dir)?,
        };
        let ring = text
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                SymmetricKey::<V4>::try_from(k)
                    .map(|key| (kid_of(&key), key))
                    .map_err(|_| {
                        "PORTAL_TOKEN_KEY must be k4.local.… PASERK keys, comma-separated"
                            .to_owned()
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ring.is_empty() {
            return Err("PORTAL_TOKEN_KEY holds no key".into());
        }
        Ok(Self { ring })
    }

    /// A new random key, as PASERK (for `PORTAL_TOKEN_KEY`).
    pub fn generate_key() -> String {
        paserk_of(&SymmetricKey::<V4>::generate().expect("OS randomness"))
    }

    fn persisted_key(data_dir: &Path) -> Result<String, String> {
        let path = data_dir.join("token_key");
        match std::fs::read_to_string(&path) {
            Ok(k) => return Ok(k),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("{}: {e}", path.display()))
            }
            Err(_) => {}
        }
        std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
        let key = Self::generate_key();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut f) => {
                f.write_all(key.as_bytes())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Encrypts text kept at rest that may hold a secret (recorded idempotent answers carry new
    /// portal tokens, login codes and API keys): v4.local under the same key ring, bound to this
    /// use by its own implicit assertion. Rotation rules are the tokens' (keep an old key 24 h,
    /// the retention of those answers).
    pub fn seal(&self, text: &str) -> DomainResult<String> {
        let (kid, key) = &self.ring[0];
        let footer = serde_json::json!({ "kid": kid }).to_string();
        LocalToken::encrypt(
            key,
            text.as_bytes(),
            Some(footer.as_bytes()),
            Some(SEALED_ASSERTION),
        )
        .map_err(|e| DomainError::internal(format!("sealing a stored answer: {e}")))
    }

    /// The text [`PasetoCodec::seal`] sealed, or None if no key of the ring opens it.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let untrusted = UntrustedToken::<Local, V4>::try_from(sealed).ok()?;
        let footer = untrusted.untrusted_footer();
        let hint: KidFooter = serde_json::from_slice(footer).ok()?;
        let key = self.key(&hint.kid)?;
        LocalToken::decrypt(key, &untrusted, Some(footer), Some(SEALED_ASSERTION))
            .ok()
            .map(|t| t.payload().to_owned())
    }

    /// A 32-byte key for another use (e.g. signing list cursors), derived from the current token
    /// key with HMAC-SHA256 so it is shared by every replica and independent of the token key.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.ring[0].1.as_bytes())
            .expect("any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn key(&self, kid: &str) -> Option<&SymmetricKey<V4>> {
        self.ring.iter().find(|(id, _)| id == kid).map(|(_, k)| k)
    }
}

#[derive(serde::Deserialize)]
struct KidFooter {
    kid: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl TokenCodec for PasetoCodec {
    fn mint(&self, c: &TokenClaims) -> DomainResult<String> {
        let fail = |e: PasetoError| DomainError::internal(format!("minting a session token: {e}"));
        let (_, key) = &self.ring[0];
        let mut claims = Claims::new().map_err(fail)?;
        let early = rfc3339(domain::clock::now() - CLOCK_SKEW);
        claims.issued_at(&early).map_err(fail)?;
        claims.not_before(&early).map_err(fail)?;
        claims.expiration(&rfc3339(c.expires_at)).map_err(fail)?;
        claims
            .add_additional("sid", c.session_id.as_str())
            .map_err(fail)?;
        claims
            .add_additional("tid", c.tenant_id.as_str())
            .map_err(fail)?;
        claims
            .add_additional("cid", c.customer_id.as_str())
            .map_err(fail)?;
        let mut footer = Footer::new();
        footer.key_id(&Id::from(key));
        local::encrypt(key, &claims, Some(&footer), Some(IMPLICIT_ASSERTION)).map_err(fail)
    }

    fn verify(&self, token: &str, _now: DateTime<Utc>) -> Result<TokenClaims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Invalid);
        }
        let untrusted =
            UntrustedToken::<Local, V4>::try_from(token).map_err(|_| TokenError::Invalid)?;
        // The footer is read by hand: `pasetors::footer::Footer::parse_bytes` compiles a regex
        // on every call (~120 µs, 30× the decryption itself). It is only a hint until the MAC
        // check below authenticates it.
        let footer = untrusted.untrusted_footer();
        if footer.len() > 256 {
            return Err(TokenError::Invalid);
        }
        let hint: KidFooter = serde_json::from_slice(footer).map_err(|_| TokenError::Invalid)?;
        let key = self.key(&hint.kid).ok_or(TokenError::Invalid)?;
        let trusted = LocalToken::decrypt(key, &untrusted, Some(footer), Some(IMPLICIT_ASSERTION))
            .map_err(|_| TokenError::Invalid)?;
        let claims = Claims::from_string(trusted.payload()).map_err(|_| TokenError::Invalid)?;
        ClaimsValidationRules::new()
            .validate_claims(&claims)
            .map_err(|e| match e {
                PasetoError::ClaimValidation(ClaimValidationError::Exp) => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let text = |name: &str| {
            claims
                .get_claim(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or(TokenError::Invalid)
        };
        let expires_at = DateTime::parse_from_rfc3339(&text("exp")?)
            .map_err(|_| TokenError::Invalid)?
            .with_timezone(&Utc);
        Ok(TokenClaims {
            session_id: text("sid")?,
            tenant_id: text("tid")?.into(),
            customer_id: text("cid")?,
            expires_at,
        })
    }
}

/// Link e-mails waiting to go keep their link sealed under the token keys (the same rotation
/// rules: a key kept 24 h after it stops encrypting opens what it sealed).
impl domain::ports::Sealer for PasetoCodec {
    fn seal(&self, text: &str) -> DomainResult<String> {
        PasetoCodec::seal(self, text)
    }

    fn open(&self, sealed: &str) -> Option<String> {
        PasetoCodec::open(self, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            session_id: "ps_1".into(),
            tenant_id: "ten_1".into(),
            customer_id: "cus_1".into(),
            expires_at: Utc::now() + Duration::hours(1),
        }
    }

    #[test]
    fn round_trip_rotation_and_rejections() {
        let (old, new) = (PasetoCodec::generate_key(), PasetoCodec::generate_key());
        let dir = tempfile_dir();
        let before = PasetoCodec::load(Some(&old), &dir).unwrap();
        let token = before.mint(&claims()).unwrap();
        assert!(token.starts_with("v4.local."));
        assert_eq!(
            before.verify(&token, Utc::now()).unwrap().session_id,
            "ps_1"
        );

        // Rotation: the new key encrypts, the old one still verifies until removed.
        let rotated = PasetoCodec::load(Some(&format!("{new},{old}")), &dir).unwrap();
        assert_eq!(
            rotated.verify(&token, Utc::now()).unwrap().customer_id,
            "cus_1"
        );
        let only_new = PasetoCodec::load(Some(&new), &dir).unwrap();
        assert_eq!(
            only_new.verify(&token, Utc::now()),
            Err(TokenError::Invalid)
        );

        // Tampering anywhere fails.
        let mut bytes = token.clone().into_bytes();
        let i = 20;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            before.verify(&String::from_utf8(bytes).unwrap(), Utc::now()),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            before.verify("v4.local.garbage", Utc::now()),
            Err(TokenError::Invalid)
        );

        let expired = before
            .mint(&TokenClaims {
                expires_at: Utc::now() - Duration::seconds(5),
                ..claims()
            })
            .unwrap();
        assert_eq!(
            before.verify(&expired, Utc::now()),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn generated_key_is_persisted_privately_and_reused() {
        let dir = tempfile_dir();
        let a = PasetoCodec::load(None, &dir).unwrap();
        let b = PasetoCodec::load(None, &dir).unwrap();
        assert_eq!(a.ring[0].0, b.ring[0].0, "the same key is reused");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("token_key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(PasetoCodec::load(Some("not-a-key"), &dir).is_err());
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("portal-tokens-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
