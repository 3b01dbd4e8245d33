//! Portal sessions: created by the merchant, exchanged for a token, checked on every portal
//! request, ended by revocation, logout, expiry or idleness.

mod guests;
mod links;

use crate::ErrorCode;
use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::audit::{actions, AuditEvent};
use crate::customer::CustomerStatus;
use crate::guest_session::GuestSession;
use crate::id::{GuestSessionId, PortalSessionId};
use crate::page::{Page, PageRequest};
use crate::portal_session::{
    EndReason, NewSession, PortalSession, ProfileField, Refusal, Section, SessionMode, TokenClaims,
    TokenCodec, TokenError, LOGIN_CODE_TTL,
};
use crate::ports::{
    AccountRepo, AuditRepo, CustomerRepo, GuestSessionRepo, PortalSessionRepo, UnitOfWork,
};
use crate::services::api_keys::Principal;
use crate::services::customers;
use crate::webhook::EventType;
use crate::{clock, DomainError, DomainResult};

/// A created session: the token for the merchant's backend, the single-use login URL for the
/// customer's browser.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    pub session: PortalSession,
    pub token: String,
    pub url: String,
}

/// A created guest session: like [`CreatedSession`], without a customer.
#[derive(Debug, Clone)]
pub struct CreatedGuest {
    pub session: GuestSession,
    pub token: String,
    pub url: String,
}

/// Who a portal token stands for: a customer's session, or a guest.
#[derive(Debug, Clone)]
pub enum Visitor {
    Customer(PortalSession),
    Guest(GuestSession),
}

/// What a guest may not do: anything of a customer's.
pub fn guest_refused() -> DomainError {
    DomainError::Forbidden {
        code: ErrorCode::GuestSession,
        message: "A guest session reads only the plans catalogue and the branding.".into(),
    }
}

#[derive(Clone)]
pub struct PortalSessionService {
    sessions: Arc<dyn PortalSessionRepo>,
    guests: Arc<dyn GuestSessionRepo>,
    customers: Arc<dyn CustomerRepo>,
    accounts: Arc<dyn AccountRepo>,
    audit: Arc<dyn AuditRepo>,
    units: Arc<dyn UnitOfWork>,
    tokens: Arc<dyn TokenCodec>,
    events: super::webhooks::Events,
    emails: super::emails::EmailService,
    url_base: String,
}

pub fn not_found() -> DomainError {
    PortalSessionId::not_found()
}

fn unauthenticated(code: ErrorCode, message: &'static str) -> DomainError {
    DomainError::Unauthenticated { code, message }
}

pub const INVALID_TOKEN: &str =
    "The session token is missing, malformed or not issued by this server.";
pub const EXPIRED: &str = "The portal session has expired; ask for a new one.";
pub const REVOKED: &str = "The portal session has ended; ask for a new one.";

/// What portal sessions need.
pub struct PortalSessionPorts {
    pub sessions: Arc<dyn PortalSessionRepo>,
    pub guests: Arc<dyn GuestSessionRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub tokens: Arc<dyn TokenCodec>,
    pub events: super::webhooks::Events,
    pub emails: super::emails::EmailService,
}

impl PortalSessionService {
    /// `url_base`: the server's portal frontend (`PORTAL_URL_BASE`), for accounts without
    /// their own.
    pub fn new(ports: PortalSessionPorts, url_base: String) -> Self {
        Self {
            sessions: ports.sessions,
            guests: ports.guests,
            customers: ports.customers,
            accounts: ports.accounts,
            audit: ports.audit,
            units: ports.units,
            tokens: ports.tokens,
            events: ports.events,
            emails: ports.emails,
            url_base,
        }
    }

    pub fn create(&self, who: &Principal, input: NewSession) -> DomainResult<CreatedSession> {
        Ok(self.open(&links::Opener::Key(who), input, None)?.0)
    }

    /// Who a token stands for, if its session may be used now: a customer's session (as
    /// [`Self::authenticate`]) or a guest.
    pub fn authenticate_visitor(
        &self,
        token: &str,
        audit_refusal: &dyn Fn(&str) -> bool,
    ) -> DomainResult<Visitor> {
        let now = clock::now();
        let claims = self.verify(token, now)?;
        match self.guest_of(&claims, now)? {
            Some(guest) => Ok(Visitor::Guest(guest)),
            None => self
                .customer_session(&claims, now, audit_refusal)
                .map(Visitor::Customer),
        }
    }

    fn verify(&self, token: &str, now: chrono::DateTime<chrono::Utc>) -> DomainResult<TokenClaims> {
        match self.tokens.verify(token, now) {
            Ok(c) => Ok(c),
            Err(TokenError::Invalid) => {
                Err(unauthenticated(ErrorCode::InvalidToken, INVALID_TOKEN))
            }
            Err(TokenError::Expired) => Err(unauthenticated(ErrorCode::SessionExpired, EXPIRED)),
        }
    }

    /// The login URL of a new session: the account's `portal_url_base`, or the server's.
    fn login_url(&self, tenant_id: &crate::id::TenantId, code: &str) -> DomainResult<String> {
        Ok(self.login_url_of(self.accounts.get(tenant_id)?.as_ref(), code))
    }

    /// [`Self::login_url`] for an account already read.
    fn login_url_of(&self, account: Option<&crate::account::Account>, code: &str) -> String {
        let base = account
            .and_then(|a| a.settings.portal_url_base.clone())
            .unwrap_or_else(|| self.url_base.clone());
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}code={code}")
    }

    pub fn get(
        &self,
        tenant_id: &crate::id::TenantId,
        id: &PortalSessionId,
    ) -> DomainResult<PortalSession> {
        Ok(self.sessions.get(tenant_id, id)?.ok_or_else(not_found)?.0)
    }

    pub fn list_open(
        &self,
        tenant_id: &crate::id::TenantId,
        customer_id: &crate::id::CustomerId,
        page: &PageRequest,
    ) -> DomainResult<Page<PortalSession>> {
        self.sessions
            .list_open(tenant_id, customer_id, clock::now(), page)
    }

    /// Ends a session at once; its token and login code stop working. Idempotent.
    pub fn revoke(&self, who: &Principal, id: &PortalSessionId) -> DomainResult<PortalSession> {
        let mut ended = None;
        self.units.atomically(&mut || {
            let now = clock::now();
            let session = self
                .sessions
                .end(&who.tenant_id, id, EndReason::Revoked, now)?
                .ok_or_else(not_found)?;
            // Revoking an ended session changes nothing and reports nothing.
            if session.ended_at == Some(now) {
                self.events
                    .session(EventType::PortalSessionRevoked, &session)?;
            }
            self.audit.record(
                &AuditEvent::new(
                    &who.tenant_id,
                    actions::SESSION_REVOKED,
                    format!("api_key:{}", who.key_id),
                )
                .session(&session.customer_id, &session.id),
            )?;
            ended = Some(session);
            Ok(())
        })?;
        Ok(ended.expect("set when the unit succeeds"))
    }

    /// Trades a single-use login code for the session's token (a customer's or a guest's).
    pub fn exchange(&self, code: &str) -> DomainResult<(Visitor, String)> {
        let invalid = || {
            unauthenticated(
                ErrorCode::InvalidLoginCode,
                "The login code is unknown, used or expired.",
            )
        };
        if code.is_empty() || code.len() > 128 {
            return Err(invalid());
        }
        let now = clock::now();
        let Some(session) = self.sessions.redeem_code(&digest(code), now)? else {
            let guest = self
                .guests
                .redeem_code(&digest(code), now)?
                .ok_or_else(invalid)?;
            if guest.check(now).is_err() {
                return Err(invalid());
            }
            let token = self.mint_guest(&guest)?;
            self.audit.record(
                &AuditEvent::new(
                    &guest.tenant_id,
                    actions::SESSION_EXCHANGED,
                    "login_code".to_owned(),
                )
                .detail("session_id", guest.id.as_str())
                .detail("mode", "guest"),
            )?;
            return Ok((Visitor::Guest(guest), token));
        };
        // A code is redeemed once, so its refusal is audited at most once.
        let (session, _) = self.usable(&session.tenant_id, &session.id, now, &|_| true)?;
        let token = self.mint(&session)?;
        self.audit.record(
            &AuditEvent::new(
                &session.tenant_id,
                actions::SESSION_EXCHANGED,
                "login_code".to_owned(),
            )
            .session(&session.customer_id, &session.id),
        )?;
        Ok((Visitor::Customer(session), token))
    }

    /// The session a token stands for, if it may be used now. A session with an idle timeout
    /// records this use, so its idle window is exact.
    ///
    /// `audit_refusal(session_id)` decides whether a refusal is written to the audit log, so a
    /// client retrying a dead token in a loop cannot grow the log without bound.
    pub fn authenticate(
        &self,
        token: &str,
        audit_refusal: &dyn Fn(&str) -> bool,
    ) -> DomainResult<PortalSession> {
        self.session_of(&self.claims(token)?, audit_refusal)
    }

    /// What a token says, if this server sealed it and it has not expired: the first half of
    /// [`Self::authenticate`], with no database read (the session row is checked by
    /// [`Self::session_of`]).
    pub fn claims(&self, token: &str) -> DomainResult<TokenClaims> {
        self.verify(token, clock::now())
    }

    /// The customer's session verified `claims` name, if it may be used now: the second half of
    /// [`Self::authenticate`].
    pub fn session_of(
        &self,
        claims: &TokenClaims,
        audit_refusal: &dyn Fn(&str) -> bool,
    ) -> DomainResult<PortalSession> {
        let now = clock::now();
        // A guest's token is good, but not for a customer's route.
        if self.guest_of(claims, now)?.is_some() {
            return Err(guest_refused());
        }
        self.customer_session(claims, now, audit_refusal)
    }

    /// The customer's session verified `claims` name, if it may be used now (recording this
    /// use when it has an idle timeout).
    fn customer_session(
        &self,
        claims: &TokenClaims,
        now: chrono::DateTime<chrono::Utc>,
        audit_refusal: &dyn Fn(&str) -> bool,
    ) -> DomainResult<PortalSession> {
        let (mut session, _) =
            self.usable(&claims.tenant_id, &claims.session_id, now, audit_refusal)?;
        if session.customer_id != claims.customer_id {
            return Err(unauthenticated(ErrorCode::InvalidToken, INVALID_TOKEN));
        }
        if session.needs_touch(now) {
            self.sessions.touch(&session.tenant_id, &session.id, now)?;
            session.last_seen_at = now;
        }
        Ok(session)
    }

    /// The stored session if it may be used; an audited refusal otherwise.
    fn usable(
        &self,
        tenant_id: &crate::id::TenantId,
        session_id: &str,
        now: chrono::DateTime<chrono::Utc>,
        audit_refusal: &dyn Fn(&str) -> bool,
    ) -> DomainResult<(PortalSession, CustomerStatus)> {
        let session_id = PortalSessionId::parse(session_id)
            .ok_or_else(|| unauthenticated(ErrorCode::InvalidToken, INVALID_TOKEN))?;
        let (session, status) = self
            .sessions
            .get(tenant_id, &session_id)?
            .ok_or_else(|| unauthenticated(ErrorCode::InvalidToken, INVALID_TOKEN))?;
        let refusal = match session.check(now) {
            Err(r) => Some(r),
            Ok(()) if status == CustomerStatus::Archived => Some(Refusal::CustomerArchived),
            Ok(()) => None,
        };
        let Some(refusal) = refusal else {
            return Ok((session, status));
        };
        let (code, message, reason) = match refusal {
            Refusal::Expired => (ErrorCode::SessionExpired, EXPIRED, "expired"),
            Refusal::IdleExpired => (ErrorCode::SessionExpired, EXPIRED, "idle_expired"),
            Refusal::Ended(r) => (ErrorCode::SessionRevoked, REVOKED, r.as_str()),
            Refusal::CustomerArchived => (ErrorCode::SessionRevoked, REVOKED, "customer_archived"),
        };
        if audit_refusal(&session.id) {
            self.audit.record(
                &AuditEvent::new(
                    tenant_id,
                    actions::TOKEN_REJECTED,
                    format!("session:{}", session.id),
                )
                .session(&session.customer_id, &session.id)
                .detail("reason", reason),
            )?;
        }
        Err(unauthenticated(code, message))
    }

    /// Ends this session. Allowed under an admin preview too: it ends only the preview (never the
    /// customer's own sessions) and changes nothing of the customer's, so it is the staff's way
    /// out of a preview rather than a write; the audit entry names the mode.
    pub fn logout(&self, session: &PortalSession) -> DomainResult<()> {
        self.units.atomically(&mut || {
            self.sessions.end(
                &session.tenant_id,
                &session.id,
                EndReason::LoggedOut,
                clock::now(),
            )?;
            self.audit.record(
                &AuditEvent::new(
                    &session.tenant_id,
                    actions::SESSION_LOGGED_OUT,
                    format!("session:{}", session.id),
                )
                .session(&session.customer_id, &session.id)
                .detail("mode", session.mode.as_str()),
            )
        })
    }

    /// Records a request made under an admin preview (who looked at what, and when).
    pub fn record_preview(
        &self,
        session: &PortalSession,
        method: &str,
        route: &str,
    ) -> DomainResult<()> {
        self.audit.record(
            &AuditEvent::new(
                &session.tenant_id,
                actions::PREVIEW_REQUEST,
                session.creator(),
            )
            .session(&session.customer_id, &session.id)
            .detail("method", method)
            .detail("route", route),
        )
    }

    fn mint(&self, s: &PortalSession) -> DomainResult<String> {
        self.tokens.mint(&TokenClaims {
            session_id: s.id.to_string(),
            tenant_id: s.tenant_id.clone(),
            customer_id: s.customer_id.to_string(),
            expires_at: s.expires_at,
        })
    }
}

/// Guards every portal route applies.
impl PortalSession {
    /// 403 `section_disabled` when the session's settings turn the section off.
    pub fn require_section(&self, section: Section) -> DomainResult<()> {
        if self.sections.enabled(section) {
            Ok(())
        } else {
            Err(DomainError::Forbidden {
                code: ErrorCode::SectionDisabled,
                message: format!(
                    "The {} section is disabled for this session.",
                    section.as_str()
                ),
            })
        }
    }

    /// 403 `read_only_session` for any write from an admin preview.
    pub fn require_write(&self) -> DomainResult<()> {
        if self.mode == SessionMode::AdminPreview {
            return Err(DomainError::Forbidden {
                code: ErrorCode::ReadOnlySession,
                message: "Admin preview sessions are read-only.".into(),
            });
        }
        Ok(())
    }

    /// 403 `field_not_allowed` naming the first field the session may not change.
    pub fn require_profile_fields(&self, fields: &[ProfileField]) -> DomainResult<()> {
        let allowed = &self.permissions.profile_update.allowed_fields;
        match fields.iter().find(|f| !allowed.contains(f)) {
            None => Ok(()),
            Some(f) => Err(DomainError::Forbidden {
                code: ErrorCode::FieldNotAllowed,
                message: format!("This session may not change `{}`.", f.as_str()),
            }),
        }
    }
}

fn random_code() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}
