//! Guest sessions: a portal session without a customer, for a merchant's pricing or checkout
//! page (signup before there is a customer). A guest reads only the public plans catalogue and
//! the merchant's branding; every customer route answers 403 `guest_session`. A separate type,
//! so a guest can never reach code that expects a customer's session. Created, exchanged,
//! expired and revoked like customer sessions.

use chrono::{DateTime, Utc};

use crate::id::{ApiKeyId, GuestSessionId};
use crate::portal_session::{EndReason, Refusal};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSession {
    pub id: GuestSessionId,
    pub tenant_id: crate::id::TenantId,
    pub return_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<EndReason>,
    pub created_by_key_id: ApiKeyId,
}

impl GuestSession {
    /// Usable now: not ended, not expired.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        if let Some(reason) = self.end_reason {
            return Err(Refusal::Ended(reason));
        }
        if now >= self.expires_at {
            return Err(Refusal::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_session_ends_at_expiry_or_revocation() {
        let now = Utc::now();
        let mut g = GuestSession {
            id: GuestSessionId::new(),
            tenant_id: "ten_1".into(),
            return_url: None,
            created_at: now,
            expires_at: now + chrono::Duration::minutes(5),
            ended_at: None,
            end_reason: None,
            created_by_key_id: ApiKeyId::new(),
        };
        assert_eq!(g.check(now), Ok(()));
        assert_eq!(g.check(g.expires_at), Err(Refusal::Expired));
        g.end_reason = Some(EndReason::Revoked);
        assert_eq!(g.check(now), Err(Refusal::Ended(EndReason::Revoked)));
    }
}
