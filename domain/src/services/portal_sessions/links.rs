//! Opening a customer's session: the login URL handed back to the merchant, or e-mailed to the
//! customer (`POST /v1/customers/{id}/portal_link`).

use super::*;
use crate::email::{Email, EmailKind, LinkContent};

/// An e-mailed login code stays valid this long (capped by the session's own expiry): mail
/// may take a while to arrive, and the code is still single-use.
pub const EMAILED_CODE_TTL: chrono::Duration = chrono::Duration::hours(1);

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
        let (created, email) = self.open(who, input, Some(EmailKind::PortalLink))?;
        Ok((
            created,
            email.expect("a link message when one was asked for"),
        ))
    }

    /// Creates a session; with `mail`, also the message carrying its login URL to the
    /// customer, in the same transaction.
    pub(super) fn open(
        &self,
        who: &Principal,
        input: NewSession,
        mail: Option<EmailKind>,
    ) -> DomainResult<(CreatedSession, Option<Email>)> {
        let ttl = input.validate()?;
        let customer = customers::active_customer(
            self.customers.as_ref(),
            &who.tenant_id,
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
            tenant_id: who.tenant_id.clone(),
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
            created_by_key_id: who.key_id.clone(),
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
        let url = self.login_url(&who.tenant_id, &code)?;
        let mut sent = None;
        // The session, its audit entry and its message exist together or not at all.
        self.units.atomically(&mut || {
            self.sessions
                .create(&session, &digest(&code), code_expires, supersede)?;
            self.audit.record(
                &AuditEvent::new(
                    &who.tenant_id,
                    actions::SESSION_CREATED,
                    format!("api_key:{}", who.key_id),
                )
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
                sent = self
                    .emails
                    .queue_link(kind, &customer, session.id.as_str(), &link)?;
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
