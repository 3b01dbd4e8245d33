//! Opening a customer's session: the login URL handed back to the merchant, or e-mailed to the
//! customer (`POST /v1/customers/{id}/portal_link`).

use super::*;
use crate::email::{Email, EmailKind, LinkContent};

/// An e-mailed login code stays valid this long (capped by the session's own expiry): mail
/// may take a while to arrive, and the code is still single-use.
pub const EMAILED_CODE_TTL: chrono::Duration = chrono::Duration::hours(1);

/// Who opens a session: the merchant's backend with an admin key, or the customer by signing in
/// with their e-mail (account setting `self_sign_in`).
pub(super) enum Opener<'a> {
    Key(&'a Principal),
    SelfSignIn(&'a crate::id::TenantId),
}

impl Opener<'_> {
    fn tenant_id(&self) -> &crate::id::TenantId {
        match self {
            Opener::Key(p) => &p.tenant_id,
            Opener::SelfSignIn(t) => t,
        }
    }

    fn key_id(&self) -> Option<crate::id::ApiKeyId> {
        match self {
            Opener::Key(p) => Some(p.key_id.clone()),
            Opener::SelfSignIn(_) => None,
        }
    }
}

impl PortalSessionService {
    /// Creates a session for the customer and e-mails its single-use URL to the customer's
    /// address. The session, its audit entry, its event and the message are written in one
    /// transaction; the URL is never in the answer.
    pub fn send_link(
        &self,
        who: &Principal,
        input: NewSession,
    ) -> DomainResult<(CreatedSession, Email)> {
        if input.mode != SessionMode::Customer {
            return Err(DomainError::validation(
                "mode",
                "a link is e-mailed only for a customer session",
            ));
        }
        let (created, email) = self.open(&Opener::Key(who), input, Some(EmailKind::PortalLink))?;
        Ok((
            created,
            email.expect("a link message when one was asked for"),
        ))
    }

    /// Creates a session; with `mail`, also the message carrying its login URL to the
    /// customer, in the same transaction.
    pub(super) fn open(
        &self,
        by: &Opener<'_>,
        input: NewSession,
        mail: Option<EmailKind>,
    ) -> DomainResult<(CreatedSession, Option<Email>)> {
        let ttl = input.validate()?;
        let customer = customers::active_customer(
            self.customers.as_ref(),
            by.tenant_id(),
            input.customer.clone(),
            "open a portal",
        )?;
        if mail.is_some() && customer.email.is_none() {
            return Err(DomainError::Conflict {
                code: ErrorCode::CustomerHasNoEmail,
                message: "The customer has no e-mail address to send the link to.".into(),
            });
        }
        let now = clock::now();
        let session = PortalSession {
            id: crate::id::PortalSessionId::new(),
            tenant_id: by.tenant_id().clone(),
            customer_id: customer.id.clone(),
            mode: input.mode,
            return_url: input.return_url,
            sections: input.sections,
            permissions: input.permissions,
            created_at: now,
            expires_at: now + chrono::Duration::seconds(ttl),
            idle_timeout_seconds: input.idle_timeout_seconds,
            last_seen_at: now,
            ended_at: None,
            end_reason: None,
            created_by_key_id: by.key_id(),
        };
        let code = random_code();
        let code_expires = match mail {
            Some(_) => (now + EMAILED_CODE_TTL).min(session.expires_at),
            None => now + LOGIN_CODE_TTL,
        };
        // An admin preview is an extra window on the customer's account, never a replacement of
        // the customer's own session.
        let supersede = input.invalidate_existing && session.mode == SessionMode::Customer;
        let token = self.mint(&session)?;
        // Read once: the login URL's base, and whether the account sends the message.
        let account = self.accounts.get(by.tenant_id())?;
        let url = self.login_url_of(account.as_ref(), &code);
        let mut sent = None;
        // The session, its audit entry and its message exist together or not at all.
        self.units.atomically(&mut || {
            self.sessions
                .create(&session, &digest(&code), code_expires, supersede)?;
            self.audit.record(
                &AuditEvent::new(by.tenant_id(), actions::SESSION_CREATED, session.creator())
                    .session(&session.customer_id, &session.id)
                    .detail("mode", session.mode.as_str())
                    .detail("superseded_others", supersede)
                    .detail("emailed", mail.is_some()),
            )?;
            self.events
                .session(EventType::PortalSessionCreated, &session)?;
            if let Some(kind) = mail {
                let link = LinkContent {
                    url: url.clone(),
                    expires_at: code_expires,
                };
                sent = self.emails.queue_link(
                    account.as_ref(),
                    kind,
                    &customer,
                    session.id.as_str(),
                    &link,
                )?;
                if sent.is_none() {
                    return Err(DomainError::Conflict {
                        code: ErrorCode::EmailDisabled,
                        message: format!(
                            "The account does not send {} e-mails (account setting emails).",
                            kind.as_str()
                        ),
                    });
                }
            }
            Ok(())
        })?;
        Ok((
            CreatedSession {
                session,
                token,
                url,
            },
            sent,
        ))
    }
}

/// At most this many customers of one account get a link for one address (several customers
/// may share an e-mail).
const SIGN_IN_CUSTOMERS: i64 = 5;

impl PortalSessionService {
    /// Self sign-in: e-mails a single-use sign-in link to each active customer of the account
    /// whose e-mail is `email`, if the account allows it (`self_sign_in`). Each link opens a new
    /// session with the account's default sections and permissions. Returns how many links were
    /// queued, for the log only: the caller's answer must not depend on it (no enumeration).
    pub fn send_login_links(&self, account_id: &str, email: &str) -> DomainResult<usize> {
        let Some(tenant_id) = crate::id::TenantId::named_by_client(account_id) else {
            return Ok(0);
        };
        let email = email.trim();
        if email.is_empty() || email.len() > 320 {
            return Ok(0);
        }
        let Some(account) = self.accounts.get(&tenant_id)? else {
            return Ok(0);
        };
        if !account.settings.self_sign_in || !account.settings.emails.login_link {
            return Ok(0);
        }
        let found = self.customers.list(
            &tenant_id,
            &crate::customer::CustomerFilter {
                email: Some(email.to_owned()),
                status: Some(CustomerStatus::Active),
                ..Default::default()
            },
            &PageRequest::new(Some(SIGN_IN_CUSTOMERS), None)?,
        )?;
        let (sections, permissions) = account.settings.session_defaults();
        let mut sent = 0;
        for customer in found.items {
            let mut input = NewSession::new(crate::portal_session::CustomerRef::Id(
                customer.id.to_string(),
            ));
            input.invalidate_existing = false;
            input.sections = sections;
            input.permissions = permissions.clone();
            self.open(
                &Opener::SelfSignIn(&tenant_id),
                input,
                Some(EmailKind::LoginLink),
            )?;
            sent += 1;
        }
        Ok(sent)
    }
}

impl PortalSessionService {
    /// The origins that may frame a hosted-portal page opened with `code` (a login code) or
    /// naming `account`: the account's `portal_frame_ancestors`. A code decides when there is
    /// one (the account beside it is ignored, so a page cannot borrow another account's list
    /// for someone's link); without one, the named account's (a reload, or the sign-in page).
    /// Empty: none may.
    pub fn frame_ancestors(
        &self,
        code: Option<&str>,
        account: Option<&str>,
    ) -> DomainResult<Vec<String>> {
        let tenant = match code.filter(|c| !c.is_empty() && c.len() <= 128) {
            Some(code) => {
                let hash = digest(code);
                match self.sessions.tenant_of_code(&hash)? {
                    Some(t) => Some(t),
                    None => self.guests.tenant_of_code(&hash)?,
                }
            }
            None => account.and_then(crate::id::TenantId::named_by_client),
        };
        let Some(tenant) = tenant else {
            return Ok(Vec::new());
        };
        Ok(self
            .accounts
            .get(&tenant)?
            .map(|a| a.settings.portal_frame_ancestors)
            .unwrap_or_default())
    }
}
