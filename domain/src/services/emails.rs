//! The e-mail outbox: messages written beside the changes they report, the merchant's log of
//! them, and the mail worker's claims and outcomes (see `crate::email`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::customer::Customer;
use crate::email::{Attempt, Email, EmailFilter, EmailKind, LinkContent, LEASE};
use crate::id::{EmailId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::{AccountRepo, CustomerRepo, EmailRepo, Outbox, Sealer, UnitOfWork, Wording};
use crate::webhook::WebhookEvent;
use crate::{clock, DomainError, DomainResult, ErrorCode};

/// What the e-mail outbox needs.
pub struct EmailPorts {
    pub emails: Arc<dyn EmailRepo>,
    pub customers: Arc<dyn CustomerRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub units: Arc<dyn UnitOfWork>,
    pub sealer: Arc<dyn Sealer>,
    /// Subjects in the customer's language.
    pub wording: Arc<dyn Wording>,
}

#[derive(Clone)]
pub struct EmailService {
    emails: Arc<dyn EmailRepo>,
    customers: Arc<dyn CustomerRepo>,
    accounts: Arc<dyn AccountRepo>,
    units: Arc<dyn UnitOfWork>,
    sealer: Arc<dyn Sealer>,
    wording: Arc<dyn Wording>,
    /// Whether this server has an SMTP server: without one, messages are recorded as
    /// `not_configured`.
    configured: bool,
}

/// The webhook outbox with the e-mails each event brings written beside the event, in the
/// same transaction: a change, its event and its messages exist together or not at all.
pub struct MailingOutbox {
    pub events: Arc<dyn Outbox>,
    pub mail: EmailService,
}

impl Outbox for MailingOutbox {
    fn emit(&self, event: &WebhookEvent) -> DomainResult<()> {
        self.events.emit(event)?;
        self.mail.on_event(event)
    }
}

impl EmailService {
    pub fn new(ports: EmailPorts, configured: bool) -> Self {
        Self {
            emails: ports.emails,
            customers: ports.customers,
            accounts: ports.accounts,
            units: ports.units,
            sealer: ports.sealer,
            wording: ports.wording,
            configured,
        }
    }

    /// In the caller's unit of work: the messages `event` brings to its customer, if the
    /// account sends that kind and the customer has an address.
    pub fn on_event(&self, event: &WebhookEvent) -> DomainResult<()> {
        let Some(kind) = EmailKind::of_event(event.event_type) else {
            return Ok(());
        };
        let payload: Value = serde_json::from_str(&event.payload)
            .map_err(|e| DomainError::internal(format!("an event's payload: {e}")))?;
        let data = &payload["data"];
        let Some(customer_id) = data["customer_id"]
            .as_str()
            .and_then(crate::id::CustomerId::parse)
        else {
            return Ok(());
        };
        let Some(account) = self.accounts.get(&event.tenant_id)? else {
            return Ok(());
        };
        if !account.settings.emails.sends(kind) {
            return Ok(());
        }
        let Some(customer) = self.customers.get(&event.tenant_id, &customer_id)? else {
            return Ok(());
        };
        let subject = self
            .wording
            .subject(kind, customer.locale.as_deref(), &account.name, data);
        let now = clock::now();
        let billing = customer.billing.email.as_deref();
        for recipient in recipients(kind, customer.email.as_deref(), billing) {
            self.emails.insert(&Email::new(
                &event.tenant_id,
                Some(&customer.id),
                kind,
                &recipient,
                subject.clone(),
                event.id.as_str(),
                data.to_string(),
                self.configured,
                now,
            ))?;
        }
        Ok(())
    }

    /// In the caller's unit of work: a message carrying `link` to `customer` (a portal or
    /// sign-in link), its content sealed. None when the customer's account (as the caller read
    /// it) does not send that kind or the customer has no address.
    pub fn queue_link(
        &self,
        account: Option<&crate::account::Account>,
        kind: EmailKind,
        customer: &Customer,
        source: &str,
        link: &LinkContent,
    ) -> DomainResult<Option<Email>> {
        let Some(account) = account else {
            return Ok(None);
        };
        let Some(recipient) = customer.email.as_deref() else {
            return Ok(None);
        };
        if !account.settings.emails.sends(kind) {
            return Ok(None);
        }
        let content = serde_json::to_string(link)
            .map_err(|e| DomainError::internal(format!("a link message: {e}")))?;
        let email = Email::new(
            &customer.tenant_id,
            Some(&customer.id),
            kind,
            recipient,
            self.wording.subject(
                kind,
                customer.locale.as_deref(),
                &account.name,
                &Value::Null,
            ),
            source,
            self.sealer.seal(&content)?,
            self.configured,
            clock::now(),
        );
        self.emails.insert(&email)?;
        Ok(Some(email))
    }

    /// The link a link message carries, opened; None for other messages or a seal no key of
    /// this server opens.
    pub fn link(&self, email: &Email) -> Option<LinkContent> {
        if !email.kind.carries_link() {
            return None;
        }
        let text = self.sealer.open(&email.content)?;
        serde_json::from_str(&text).ok()
    }

    pub fn list(
        &self,
        tenant_id: &TenantId,
        filter: &EmailFilter,
        page: &PageRequest,
    ) -> DomainResult<Page<Email>> {
        self.emails.list(tenant_id, filter, page)
    }

    pub fn get(&self, tenant_id: &TenantId, id: &EmailId) -> DomainResult<Email> {
        self.emails
            .get(tenant_id, id)?
            .ok_or_else(EmailId::not_found)
    }

    /// Queues a failed or unsent message again now (409 `email_not_retryable` for one that is
    /// queued or sent). It keeps its `Message-ID`.
    pub fn retry(&self, tenant_id: &TenantId, id: &EmailId) -> DomainResult<Email> {
        let configured = self.configured;
        self.units.run(&mut || {
            let mut email = self
                .emails
                .lock(tenant_id, id)?
                .ok_or_else(EmailId::not_found)?;
            if !email.retryable() {
                return Err(DomainError::Conflict {
                    code: ErrorCode::EmailNotRetryable,
                    message: format!(
                        "The message is {}; only a failed or unsent message is sent again.",
                        email.status.as_str()
                    ),
                });
            }
            if !configured {
                return Err(DomainError::Conflict {
                    code: ErrorCode::EmailNotRetryable,
                    message: crate::email::NOT_CONFIGURED.to_owned(),
                });
            }
            email.requeue(clock::now());
            self.emails.save(&email)?;
            Ok(email)
        })
    }

    /// Claims up to `limit` messages due at `now` for this node to send.
    pub fn claim(&self, now: DateTime<Utc>, limit: i64) -> DomainResult<Vec<Email>> {
        if !self.configured {
            return Ok(Vec::new());
        }
        let accounts = self
            .emails
            .accounts_due(now, super::claims::ACCOUNTS_PER_PASS)?;
        super::claims::share(&accounts, limit, |tenant, n| {
            self.emails.claim_due(tenant, now, now + LEASE, n)
        })
    }

    /// Records how an attempt at `claimed`, made at `now`, ended. A message another node has
    /// meanwhile sent stays sent.
    pub fn record(
        &self,
        claimed: &Email,
        attempt: Attempt,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        self.units.atomically(&mut || {
            let Some(mut email) = self.emails.lock(&claimed.tenant_id, &claimed.id)? else {
                return Ok(()); // gone with its account
            };
            if email.status == crate::email::EmailStatus::Sent {
                return Ok(());
            }
            email.record(attempt.clone(), now);
            self.emails.save(&email)
        })
    }
}

/// Who gets a message: the customer's address, and for billing messages also the billing
/// contact's when it differs.
fn recipients(kind: EmailKind, email: Option<&str>, billing: Option<&str>) -> Vec<String> {
    let mut to: Vec<String> = email.iter().map(|e| (*e).to_owned()).collect();
    if let Some(billing) = billing.filter(|_| kind.to_billing_contact()) {
        if !to.iter().any(|t| t.eq_ignore_ascii_case(billing)) {
            to.push(billing.to_owned());
        }
    }
    to
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_messages_also_reach_a_different_billing_contact() {
        let (ada, ap) = (Some("ada@example.com"), Some("AP@example.com"));
        assert_eq!(
            recipients(EmailKind::InvoiceIssued, ada, ap),
            ["ada@example.com", "AP@example.com"]
        );
        assert_eq!(
            recipients(EmailKind::CreditBalanceLow, ada, ap),
            ["ada@example.com"]
        );
        assert_eq!(
            recipients(EmailKind::PaymentReceipt, ada, Some("ADA@example.com")),
            ["ada@example.com"]
        );
        assert_eq!(
            recipients(EmailKind::PaymentFailed, None, ap),
            ["AP@example.com"]
        );
    }
}
