//! The mail worker of this node: claims due messages of the e-mail outbox, writes each one
//! (multipart text and HTML in the account's colours, the invoice's PDF attached) and sends it
//! over SMTP with lettre, then records the outcome. Every replica runs it; a claim holds a
//! message for its lease, so a message goes out once in the normal case, and again only when
//! a node died between the SMTP server's acceptance and the record, always with the same
//! `Message-ID` (see `domain::email`).
//!
//! Nothing here logs a message's content: link messages carry single-use sign-in codes.

use std::time::Duration;

use actix_web::web::Data;
use askama::Template;
use chrono::{DateTime, Utc};
use domain::email::{Attempt, Email, EmailKind};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use crate::config::Config;
use crate::i18n::Speaker;
use crate::state::AppState;

/// Messages this node sends at once.
const CONCURRENCY: i64 = 8;
/// An SMTP exchange must end well within the claim's lease (60 s).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// How this node sends mail.
#[derive(Clone)]
pub struct MailSettings {
    /// The SMTP server, connections made when the worker starts (its pool runs on the
    /// worker's runtime).
    transport: AsyncSmtpTransportBuilder,
    /// The sender's address (`PORTAL_MAIL_FROM`).
    pub from: Address,
    /// How often the worker looks for due messages; `None`: no worker on this node.
    pub poll: Option<Duration>,
}

impl MailSettings {
    /// From the configuration: `None` without `PORTAL_SMTP_URL`; an error that names the
    /// setting for a malformed URL or sender (the server does not start).
    pub fn from_config(config: &Config) -> Result<Option<Self>, String> {
        let Some(url) = config.smtp_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let parsed = url::Url::parse(url)
            .map_err(|e| format!("PORTAL_SMTP_URL is not a URL ({e}); see the README"))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("PORTAL_SMTP_URL: {e} (smtp://… or smtps://…)"))?
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(password) = config.smtp_password.as_deref().filter(|p| !p.is_empty()) {
            let user = percent_decoded(parsed.username());
            if user.is_empty() {
                return Err("PORTAL_SMTP_PASSWORD is set but PORTAL_SMTP_URL names no user".into());
            }
            builder = builder.credentials(Credentials::new(user, password.to_owned()));
        }
        let from: Address = config
            .mail_from
            .as_deref()
            .ok_or("PORTAL_MAIL_FROM is required with PORTAL_SMTP_URL")?
            .parse()
            .map_err(|e| format!("PORTAL_MAIL_FROM is not an e-mail address: {e}"))?;
        Ok(Some(Self {
            transport: builder,
            from,
            poll: (config.mail_poll_ms > 0).then(|| Duration::from_millis(config.mail_poll_ms)),
        }))
    }
}

fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("u={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// What sends: the SMTP transport with its connection pool, and the sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl Mailer {
    /// Must run on a tokio runtime (the pool's upkeep is a task of it).
    pub fn new(settings: &MailSettings) -> Self {
        Self {
            transport: settings.transport.clone().build(),
            from: settings.from.clone(),
        }
    }
}

/// The worker loop: claims up to [`CONCURRENCY`] due messages, sends them at once, records
/// each outcome; again at once while messages were due, else after `poll`.
pub async fn worker(
    state: Data<AppState>,
    settings: MailSettings,
    poll: Duration,
    mut stop: crate::workers::Stopping,
) {
    tracing::info!(from = %settings.from, "mail worker started");
    let mailer = Mailer::new(&settings);
    // A pass sends and records every message it claimed before the next look at `stop`: a
    // shutdown leaves no message leased to this node.
    while !stop.now() {
        match pass(&state, &mailer, domain::clock::now()).await {
            Ok(n) if n as i64 == CONCURRENCY => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "mail pass failed"),
        }
        if stop.pause(poll).await {
            break;
        }
    }
    tracing::info!("mail worker stopped");
}

/// One pass as of `now` (tests move it to walk the retry schedule); returns how many messages
/// it claimed.
pub async fn pass(
    state: &Data<AppState>,
    settings: &Mailer,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, String> {
    let svc = state.emails.clone();
    let claimed = actix_web::web::block(move || svc.claim(now, CONCURRENCY))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let n = claimed.len();
    let sends = claimed.into_iter().map(|email| {
        let (state, settings) = (state.clone(), settings.clone());
        async move {
            let attempt = deliver(&state, &settings, &email).await;
            state.metrics.email(match &attempt {
                Attempt::Temporary(_) => "retry",
                Attempt::Permanent(_) => "failed",
                Attempt::Sent => "sent",
            });
            if let Attempt::Temporary(e) | Attempt::Permanent(e) = &attempt {
                tracing::warn!(email_id = %email.id, kind = email.kind.as_str(), error = %e, "e-mail not sent");
            }
            let svc = state.emails.clone();
            match actix_web::web::block(move || svc.record(&email, attempt, now)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "recording an e-mail attempt failed"),
                Err(e) => tracing::warn!(error = %e, "recording an e-mail attempt could not run"),
            }
        }
    });
    // A span per pass that sends something (an idle look is not a unit of work).
    if n > 0 {
        let unit = tracing::info_span!("mail_pass", messages = n);
        tracing::Instrument::instrument(futures_util::future::join_all(sends), unit).await;
    }
    Ok(n)
}

/// Writes the message and hands it to the SMTP server.
async fn deliver(state: &Data<AppState>, settings: &Mailer, email: &Email) -> Attempt {
    let (st, from, e) = (state.clone(), settings.from.clone(), email.clone());
    let message = match actix_web::web::block(move || compose(&st, &from, &e)).await {
        Ok(Ok(m)) => m,
        Ok(Err(attempt)) => return attempt,
        Err(e) => return Attempt::Temporary(format!("could not run: {e}")),
    };
    match settings.transport.send(message).await {
        Ok(_) => Attempt::Sent,
        Err(e) if e.is_permanent() => Attempt::Permanent(smtp_error(&e)),
        Err(e) => Attempt::Temporary(smtp_error(&e)),
    }
}

/// The SMTP server's refusal or the transport's failure, in words (never the message).
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text.chars().take(500).collect()
}

/// What the body says, before it becomes text and HTML.
#[derive(Template)]
#[template(path = "email.html")]
struct Body {
    /// The customer's language, and whether it is written right to left.
    lang: &'static str,
    dir: &'static str,
    subject: String,
    merchant: String,
    logo_url: Option<String>,
    color: String,
    support_email: Option<String>,
    footer: Option<String>,
    heading: String,
    paragraphs: Vec<String>,
    /// (label, URL)
    button: Option<(String, String)>,
}

impl Body {
    fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.heading);
        for p in &self.paragraphs {
            out.push_str(p);
            out.push_str("\n\n");
        }
        if let Some((label, url)) = &self.button {
            out.push_str(&format!("{label}: {url}\n\n"));
        }
        out.push_str("-- \n");
        out.push_str(&self.merchant);
        if let Some(s) = &self.support_email {
            out.push_str(&format!(" · {s}"));
        }
        if let Some(f) = &self.footer {
            out.push_str(&format!("\n{f}"));
        }
        out.push('\n');
        out
    }
}

/// The whole message; a failure to write it is permanent unless the database failed.
fn compose(state: &AppState, from: &Address, email: &Email) -> Result<Message, Attempt> {
    let temporary =
        |e: domain::DomainError| Attempt::Temporary(format!("reading the message's data: {e}"));
    let account = state.accounts.get(&email.tenant_id).map_err(temporary)?;
    // In the customer's language and time zone (English and UTC without one).
    let customer = match &email.customer_id {
        Some(id) => Some(
            state
                .customers
                .get(&email.tenant_id, id)
                .map_err(temporary)?,
        ),
        None => None,
    };
    let sp = Speaker::for_locale(customer.as_ref().and_then(|c| c.locale.as_deref()));
    let tz = customer
        .as_ref()
        .map_or(chrono_tz::UTC, domain::services::billing::timezone);
    let data: Value = serde_json::from_str(&email.content).unwrap_or(Value::Null);
    let s = &account.settings;
    let mut body = Body {
        lang: sp.lang(),
        dir: if sp.rtl() { "rtl" } else { "ltr" },
        subject: email.subject.clone(),
        merchant: account.name.clone(),
        logo_url: s.logo_url.clone(),
        color: s.primary_color.clone().unwrap_or_else(|| "#3730a3".into()),
        support_email: s.support_email.clone(),
        footer: s.invoice_footer.clone(),
        heading: String::new(),
        paragraphs: Vec::new(),
        button: None,
    };
    let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
    let money = |key: &str| sp.amount_text(&text(key), &text("currency"));
    let mut attachment = None;
    match email.kind {
        EmailKind::PortalLink | EmailKind::LoginLink => {
            let link = state.emails.link(email).ok_or_else(|| {
                Attempt::Permanent("the link cannot be opened by this server's token keys".into())
            })?;
            let asked = email.kind == EmailKind::LoginLink;
            body.heading = email.subject.clone();
            let until = format!(
                "{} {} UTC",
                sp.date(link.expires_at, chrono_tz::UTC),
                link.expires_at.format("%H:%M")
            );
            body.paragraphs = vec![
                sp.t(
                    if asked {
                        "email.link.asked"
                    } else {
                        "email.link.sent"
                    },
                    &[],
                ),
                sp.t("email.link.once", &[("time", &until)]),
            ];
            body.button = Some((sp.t("email.link.button", &[]), link.url));
        }
        EmailKind::InvoiceIssued => {
            let number = text("number");
            body.heading = sp.t("email.invoice.heading", &[("number", &number)]);
            let due = match data["due_at"]
                .as_str()
                .and_then(|d| d.parse::<DateTime<Utc>>().ok())
            {
                Some(at) => sp.t(
                    "email.invoice.due_on",
                    &[("amount", &money("amount_due")), ("date", &sp.date(at, tz))],
                ),
                None => sp.t("email.invoice.due", &[("amount", &money("amount_due"))]),
            };
            body.paragraphs = vec![
                sp.t(
                    "email.invoice.attached",
                    &[("number", &number), ("total", &money("total"))],
                ),
                due,
            ];
            attachment = Some(invoice_pdf(state, email, &text("invoice_id"))?);
        }
        EmailKind::PaymentReceipt => {
            body.heading = sp.t("email.receipt.heading", &[]);
            body.paragraphs = vec![sp.t("email.receipt.body", &[("amount", &money("amount"))])];
        }
        EmailKind::PaymentFailed => {
            body.heading = sp.t("email.failed.heading", &[]);
            body.paragraphs = vec![sp.t("email.failed.body", &[("amount", &money("amount"))])];
            if let Some(reason) = data["failure_reason"].as_str() {
                body.paragraphs
                    .push(sp.t("email.failed.reason", &[("reason", reason)]));
            }
            body.paragraphs.push(sp.t("email.failed.next", &[]));
        }
        EmailKind::CreditBalanceLow => {
            body.heading = sp.t("email.low.heading", &[]);
            let (balance, value) = match data["trigger"].as_str() {
                Some("usage") => ("ongoing_balance", "ongoing_balance_value"),
                _ => ("balance", "balance_value"),
            };
            body.paragraphs = vec![sp.t(
                "email.low.body",
                &[
                    ("balance", &sp.number(&text(balance))),
                    ("value", &money(value)),
                    ("threshold", &sp.number(&text("low_balance_threshold"))),
                ],
            )];
        }
        EmailKind::AlertTriggered => {
            body.heading = sp.t("email.alert.heading", &[]);
            let (value, threshold) = match data["type"].as_str() {
                Some("spend") => (money("value"), money("threshold")),
                _ => (sp.number(&text("value")), sp.number(&text("threshold"))),
            };
            let key = match data["type"].as_str() {
                Some("usage") => "email.alert.usage",
                Some("spend") => "email.alert.spend",
                _ => "email.alert.balance",
            };
            body.paragraphs = vec![sp.t(
                key,
                &[
                    ("feature", &text("feature")),
                    ("value", &value),
                    ("threshold", &threshold),
                ],
            )];
        }
    }
    let html = body
        .render()
        .map_err(|e| Attempt::Permanent(format!("writing the message: {e}")))?;
    let alternative = MultiPart::alternative_plain_html(body.text(), html);
    let to: Mailbox = email
        .recipient
        .parse()
        .map_err(|e| Attempt::Permanent(format!("the recipient is not an address: {e}")))?;
    let mut builder = Message::builder()
        .from(Mailbox::new(Some(account.name.clone()), from.clone()))
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id(from.domain())));
    if let Some(reply) = s.support_email.as_deref().and_then(|a| a.parse().ok()) {
        builder = builder.reply_to(Mailbox::new(Some(account.name.clone()), reply));
    }
    let built = match attachment {
        Some((name, pdf)) => {
            builder.multipart(MultiPart::mixed().multipart(alternative).singlepart(
                Attachment::new(name).body(
                    pdf,
                    ContentType::parse("application/pdf").expect("a content type"),
                ),
            ))
        }
        None => builder.multipart(alternative),
    };
    built.map_err(|e| Attempt::Permanent(format!("writing the message: {e}")))
}

/// The invoice's PDF and its file name.
fn invoice_pdf(
    state: &AppState,
    email: &Email,
    invoice_id: &str,
) -> Result<(String, Vec<u8>), Attempt> {
    let id = domain::id::InvoiceId::parse(invoice_id)
        .ok_or_else(|| Attempt::Permanent("the message names no invoice".into()))?;
    let scope = domain::scope::Scope::account(&email.tenant_id);
    let invoice = state
        .invoices
        .get(&scope, &id)
        .map_err(|e| Attempt::Temporary(format!("reading the invoice: {e}")))?;
    let (name, bytes) = crate::routes::invoices::dto::render_pdf(state, invoice)
        .map_err(|e| Attempt::Temporary(format!("rendering the invoice: {e}")))?;
    Ok((format!("{name}.pdf"), bytes))
}
