//! E-mails as the admin API shows them: who, what, and how sending went; never the body (a
//! link message's body holds a single-use sign-in code).

use chrono::{DateTime, Utc};
use domain::email::Email;
use domain::email::EmailFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::list_type;

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    #[schema(example = "em_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: Option<String>,
    #[schema(value_type = crate::schema::EmailKind)]
    pub kind: &'static str,
    /// The recipient's address.
    #[schema(example = "ada@example.com")]
    pub to: String,
    pub subject: String,
    /// What the message reports: a webhook event (`msg_…`) or a portal session (`ps_…`).
    #[schema(example = "msg_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub source: String,
    #[schema(value_type = crate::schema::EmailStatus)]
    pub status: &'static str,
    /// Attempts made so far.
    pub attempts: i32,
    /// Why the last attempt failed (the SMTP server's answer), or why it was not sent.
    pub last_error: Option<String>,
    /// When it is tried next (while queued).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The `Message-ID` every transmission of it carries is `<id@sender's domain>`.
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Email> for EmailView {
    fn from(e: Email) -> Self {
        let queued = e.status == domain::email::EmailStatus::Queued;
        Self {
            id: e.id.to_string(),
            customer_id: e.customer_id.map(|c| c.to_string()),
            kind: e.kind.as_str(),
            to: e.recipient,
            subject: e.subject,
            source: e.source,
            status: e.status.as_str(),
            attempts: e.attempts,
            last_error: e.last_error,
            next_attempt_at: queued.then_some(e.next_attempt_at),
            created_at: e.created_at,
            sent_at: e.sent_at,
        }
    }
}

list_type!(EmailList, EmailView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListEmails {
    /// Only this customer's messages.
    #[param(example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub customer_id: Option<String>,
    #[param(value_type = Option<crate::schema::EmailStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<crate::schema::EmailKind>)]
    pub kind: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListEmails {
    /// The filter; a malformed value is a 422 naming it.
    pub fn filter(&self) -> Result<EmailFilter, domain::DomainError> {
        let bad = |field: &str, what: &str| domain::DomainError::validation(field, what);
        Ok(EmailFilter {
            customer_id: self
                .customer_id
                .as_deref()
                .map(|c| {
                    domain::id::CustomerId::parse(c)
                        .ok_or_else(|| bad("customer_id", "is not a customer id"))
                })
                .transpose()?,
            status: self
                .status
                .as_deref()
                .map(|s| {
                    domain::email::EmailStatus::parse(s)
                        .ok_or_else(|| bad("status", "is not an e-mail status"))
                })
                .transpose()?,
            kind: self
                .kind
                .as_deref()
                .map(|k| {
                    domain::email::EmailKind::parse(k)
                        .ok_or_else(|| bad("kind", "is not an e-mail kind"))
                })
                .transpose()?,
        })
    }
}
