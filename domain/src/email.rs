//! E-mail to customers, through a durable outbox.
//!
//! A message is a row written in the transaction of the change it reports: with the change's
//! webhook event (an invoice issued, a payment, a low balance), or with the portal session a
//! link opens. Its key is (source, recipient), so one change never makes two messages for one
//! address. Every node's mail worker claims due rows under a lease and sends them over SMTP.
//!
//! SMTP cannot make a transmission exactly-once: a node that dies after the SMTP server took
//! the message and before the row was marked sent leaves the lease to run out, and the message
//! goes out again. Every transmission of a row carries the same `Message-ID` (derived from the
//! row's id, see [`Email::message_id`]), so mail clients and servers treat the copies as one
//! message, as receivers of webhooks do with `webhook-id`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CustomerId, EmailId, TenantId};
use crate::webhook::EventType;

crate::text_enum! {
    /// What a message is about. Each one can be switched off in the account's settings.
    pub enum EmailKind {
        /// A link that opens the customer's portal (`POST /v1/customers/{id}/portal_link`).
        PortalLink,
        /// A link a customer asked for on the portal's sign-in page.
        LoginLink,
        /// An invoice was finalized; its PDF is attached.
        InvoiceIssued,
        /// A payment succeeded.
        PaymentReceipt,
        /// A payment failed; it says what is still due.
        PaymentFailed,
        /// A wallet's balance (or ongoing balance) fell below its threshold.
        CreditBalanceLow,
        /// One of the customer's own alerts crossed its threshold.
        AlertTriggered,
    }
}

impl EmailKind {
    /// The message a webhook event brings to its customer, if any.
    pub fn of_event(t: EventType) -> Option<Self> {
        match t {
            EventType::InvoiceFinalized => Some(Self::InvoiceIssued),
            EventType::PaymentSucceeded => Some(Self::PaymentReceipt),
            EventType::PaymentFailed => Some(Self::PaymentFailed),
            EventType::WalletLowBalance => Some(Self::CreditBalanceLow),
            EventType::AlertTriggered => Some(Self::AlertTriggered),
            _ => None,
        }
    }

    /// Billing messages also go to the customer's billing e-mail, when it differs.
    pub fn to_billing_contact(self) -> bool {
        matches!(
            self,
            Self::InvoiceIssued | Self::PaymentReceipt | Self::PaymentFailed
        )
    }

    /// Messages that carry a sign-in link: their content is sealed at rest.
    pub fn carries_link(self) -> bool {
        matches!(self, Self::PortalLink | Self::LoginLink)
    }
}

crate::text_enum! {
    pub enum EmailStatus {
        /// Waiting for its first or next attempt.
        Queued,
        /// An SMTP server accepted it.
        Sent,
        /// Refused for good (a permanent SMTP error), or every attempt failed.
        Failed,
        /// No SMTP server is configured (`PORTAL_SMTP_URL`): recorded, not sent. A retry queues
        /// it once a server is configured.
        NotConfigured,
    }
}

/// Which messages an account sends (account setting `emails`; every one is on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    pub portal_link: bool,
    pub login_link: bool,
    pub invoice_issued: bool,
    pub payment_receipt: bool,
    pub payment_failed: bool,
    pub credit_balance_low: bool,
    pub alert_triggered: bool,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            portal_link: true,
            login_link: true,
            invoice_issued: true,
            payment_receipt: true,
            payment_failed: true,
            credit_balance_low: true,
            alert_triggered: true,
        }
    }
}

impl EmailSettings {
    pub fn sends(&self, kind: EmailKind) -> bool {
        match kind {
            EmailKind::PortalLink => self.portal_link,
            EmailKind::LoginLink => self.login_link,
            EmailKind::InvoiceIssued => self.invoice_issued,
            EmailKind::PaymentReceipt => self.payment_receipt,
            EmailKind::PaymentFailed => self.payment_failed,
            EmailKind::CreditBalanceLow => self.credit_balance_low,
            EmailKind::AlertTriggered => self.alert_triggered,
        }
    }
}

/// A change to [`EmailSettings`]: switches left out keep their value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailSwitches {
    pub portal_link: Option<bool>,
    pub login_link: Option<bool>,
    pub invoice_issued: Option<bool>,
    pub payment_receipt: Option<bool>,
    pub payment_failed: Option<bool>,
    pub credit_balance_low: Option<bool>,
    pub alert_triggered: Option<bool>,
}

impl EmailSettings {
    pub fn apply(&mut self, change: EmailSwitches) {
        for (switch, to) in [
            (&mut self.portal_link, change.portal_link),
            (&mut self.login_link, change.login_link),
            (&mut self.invoice_issued, change.invoice_issued),
            (&mut self.payment_receipt, change.payment_receipt),
            (&mut self.payment_failed, change.payment_failed),
            (&mut self.credit_balance_low, change.credit_balance_low),
            (&mut self.alert_triggered, change.alert_triggered),
        ] {
            if let Some(to) = to {
                *switch = to;
            }
        }
    }
}

/// What a list of the outbox is filtered by.
#[derive(Debug, Clone, Default)]
pub struct EmailFilter {
    pub customer_id: Option<CustomerId>,
    pub status: Option<EmailStatus>,
    pub kind: Option<EmailKind>,
}

/// One message of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub id: EmailId,
    pub tenant_id: TenantId,
    pub customer_id: Option<CustomerId>,
    pub kind: EmailKind,
    pub recipient: String,
    pub subject: String,
    /// What the message reports: a webhook event (`msg_…`) or a portal session (`ps_…`).
    pub source: String,
    pub status: EmailStatus,
    /// Attempts made (a claim counts as one).
    pub attempts: i32,
    pub last_error: Option<String>,
    /// When it is due; while a node holds it, the end of that node's lease.
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// What the body is written from (JSON): the event's `data`, or, sealed, the link. Never
    /// shown by the API.
    pub content: String,
}

/// The longest a node holds a claimed message before another may send it.
pub const LEASE: Duration = Duration::seconds(60);

/// How long after each failed attempt the next one comes (then the message has failed): about
/// a day in all, like a mail server's own queue.
pub const RETRY_SCHEDULE: [Duration; 6] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
];

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Sent,
    /// A temporary failure (SMTP 4xx, no connection, a timeout): tried again later.
    Temporary(String),
    /// A permanent refusal (SMTP 5xx) or a message that cannot be written: not tried again.
    Permanent(String),
}

impl Email {
    /// A new message for `recipient`, due now (or recorded as not sent when there is no SMTP
    /// server to send it).
    #[expect(
        clippy::too_many_arguments,
        reason = "every field a new message is made of"
    )]
    pub fn new(
        tenant_id: &TenantId,
        customer_id: Option<&CustomerId>,
        kind: EmailKind,
        recipient: &str,
        subject: String,
        source: &str,
        content: String,
        configured: bool,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: EmailId::new(),
            tenant_id: tenant_id.clone(),
            customer_id: customer_id.cloned(),
            kind,
            recipient: recipient.to_owned(),
            subject,
            source: source.to_owned(),
            status: if configured {
                EmailStatus::Queued
            } else {
                EmailStatus::NotConfigured
            },
            attempts: 0,
            last_error: (!configured).then(|| NOT_CONFIGURED.to_owned()),
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
            sent_at: None,
            content,
        }
    }

    /// The `Message-ID` of every transmission of this message: its id at the sender's domain.
    pub fn message_id(&self, from_domain: &str) -> String {
        format!("<{}@{}>", self.id.as_str(), from_domain)
    }

    /// Records an attempt (`self.attempts` already counts it) and what follows.
    pub fn record(&mut self, attempt: Attempt, now: DateTime<Utc>) {
        self.updated_at = now;
        match attempt {
            Attempt::Sent => {
                self.status = EmailStatus::Sent;
                self.sent_at = Some(now);
                self.last_error = None;
            }
            Attempt::Temporary(error) => {
                let wait = usize::try_from(self.attempts - 1)
                    .ok()
                    .and_then(|i| RETRY_SCHEDULE.get(i));
                match wait {
                    Some(wait) => {
                        self.status = EmailStatus::Queued;
                        self.next_attempt_at = now + *wait;
                    }
                    None => self.status = EmailStatus::Failed,
                }
                self.last_error = Some(error);
            }
            Attempt::Permanent(error) => {
                self.status = EmailStatus::Failed;
                self.last_error = Some(error);
            }
        }
    }

    /// Whether the merchant may send it again: it failed or was never sent.
    pub fn retryable(&self) -> bool {
        matches!(
            self.status,
            EmailStatus::Failed | EmailStatus::NotConfigured
        )
    }

    /// Queues it again now, with a fresh schedule (the same `Message-ID`).
    pub fn requeue(&mut self, now: DateTime<Utc>) {
        self.status = EmailStatus::Queued;
        self.attempts = 0;
        self.next_attempt_at = now;
        self.updated_at = now;
    }
}

pub const NOT_CONFIGURED: &str =
    "No SMTP server is configured (PORTAL_SMTP_URL): the message was recorded and not sent.";

/// Where a message's `content` comes from for a link message: the URL and when it stops
/// working. Sealed before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkContent {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(now: DateTime<Utc>) -> Email {
        Email::new(
            &"ten_x".into(),
            None,
            EmailKind::PaymentReceipt,
            "a@example.com",
            "Receipt".into(),
            "msg_1",
            "{}".into(),
            true,
            now,
        )
    }

    #[test]
    fn temporary_failures_follow_the_schedule_then_fail() {
        let now = Utc::now();
        let mut e = email(now);
        for wait in RETRY_SCHEDULE {
            e.attempts += 1;
            e.record(Attempt::Temporary("451".into()), now);
            assert_eq!(e.status, EmailStatus::Queued);
            assert_eq!(e.next_attempt_at, now + wait);
        }
        e.attempts += 1;
        e.record(Attempt::Temporary("451".into()), now);
        assert_eq!(e.status, EmailStatus::Failed);
        assert!(e.retryable());
    }

    #[test]
    fn a_permanent_refusal_ends_at_once_and_sent_is_final() {
        let now = Utc::now();
        let mut e = email(now);
        e.attempts = 1;
        e.record(Attempt::Permanent("550 no such user".into()), now);
        assert_eq!(e.status, EmailStatus::Failed);
        let mut s = email(now);
        s.attempts = 1;
        s.record(Attempt::Sent, now);
        assert_eq!((s.status, s.sent_at), (EmailStatus::Sent, Some(now)));
        assert!(!s.retryable());
    }

    #[test]
    fn unconfigured_messages_are_recorded_with_the_reason() {
        let e = Email::new(
            &"ten_x".into(),
            None,
            EmailKind::PortalLink,
            "a@example.com",
            "Link".into(),
            "ps_1",
            String::new(),
            false,
            Utc::now(),
        );
        assert_eq!(e.status, EmailStatus::NotConfigured);
        assert_eq!(e.last_error.as_deref(), Some(NOT_CONFIGURED));
        assert_eq!(
            e.message_id("shop.test"),
            format!("<{}@shop.test>", e.id.as_str())
        );
    }
}
