//! Guest sessions: a pricing page's view of the public plans, for no customer, with its own
//! token, login code and end.

use super::*;

impl PortalSessionService {
    /// A guest session (no customer) for a pricing or checkout page: `return_url` and lifetime
    /// as for customer sessions; the same single-use login code and token.
    pub fn create_guest(
        &self,
        who: &Principal,
        return_url: Option<String>,
        expires_in_seconds: Option<i64>,
    ) -> DomainResult<CreatedGuest> {
        let ttl = expires_in_seconds.unwrap_or(crate::portal_session::DEFAULT_TTL_SECONDS);
        let mut errs = Vec::new();
        let range = crate::portal_session::MIN_TTL_SECONDS..=crate::portal_session::MAX_TTL_SECONDS;
        if !range.contains(&ttl) {
            errs.push(crate::FieldError::new(
                "expires_in_seconds",
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
        if return_url
            .as_deref()
            .is_some_and(|u| !crate::portal_session::is_http_url(u))
        {
            errs.push(crate::FieldError::new(
                "return_url",
                "must be an absolute http(s) URL of at most 2048 characters",
            ));
        }
        if !errs.is_empty() {
            return Err(DomainError::Validation(errs));
        }
        let now = clock::now();
        let session = GuestSession {
            id: GuestSessionId::new(),
            tenant_id: who.tenant_id.clone(),
            return_url,
            created_at: now,
            expires_at: now + chrono::Duration::seconds(ttl),
            ended_at: None,
            end_reason: None,
            created_by_key_id: who.key_id.clone(),
        };
        let code = random_code();
        let token = self.mint_guest(&session)?;
        self.units.atomically(&mut || {
            self.guests
                .create(&session, &digest(&code), now + LOGIN_CODE_TTL)?;
            self.audit.record(
                &AuditEvent::new(
                    &who.tenant_id,
                    actions::SESSION_CREATED,
                    format!("api_key:{}", who.key_id),
                )
                .detail("session_id", session.id.as_str())
                .detail("mode", "guest"),
            )
        })?;
        let url = self.login_url(&who.tenant_id, &code)?;
        Ok(CreatedGuest {
            session,
            token,
            url,
        })
    }

    /// Ends a guest session (admin revocation or the guest's log out).
    pub fn end_guest(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &GuestSessionId,
        reason: EndReason,
    ) -> DomainResult<GuestSession> {
        self.guests
            .end(tenant_id, id, reason, clock::now())?
            .ok_or_else(not_found)
    }

    /// The guest session a token's claims name, if they name one (and it may be used now).
    pub(super) fn guest_of(
        &self,
        claims: &TokenClaims,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Option<GuestSession>> {
        let Some(session_id) = crate::id::GuestSessionId::parse(&claims.session_id)
            .filter(|_| claims.customer_id.is_empty())
        else {
            return Ok(None);
        };
        let guest = self
            .guests
            .get(&claims.tenant_id, &session_id)?
            .ok_or_else(|| unauthenticated(ErrorCode::InvalidToken, INVALID_TOKEN))?;
        match guest.check(now) {
            Ok(()) => Ok(Some(guest)),
            Err(Refusal::Ended(_)) => Err(unauthenticated(ErrorCode::SessionRevoked, REVOKED)),
            Err(_) => Err(unauthenticated(ErrorCode::SessionExpired, EXPIRED)),
        }
    }

    pub(super) fn mint_guest(&self, s: &GuestSession) -> DomainResult<String> {
        self.tokens.mint(&TokenClaims {
            session_id: s.id.to_string(),
            tenant_id: s.tenant_id.clone(),
            customer_id: String::new(),
            expires_at: s.expires_at,
        })
    }
}
