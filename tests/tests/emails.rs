//! E-mail to customers over HTTP, through a real SMTP server (aiosmtpd, `tests/mail`): each
//! change's messages arrive once, multipart, with the invoice's PDF, from the account's name
//! and with a `Message-ID` derived from the outbox row; a portal link e-mailed works once;
//! temporary refusals follow the retry schedule on a moved clock, permanent ones fail and may be
//! retried; without SMTP nothing is sent and the log says why.

use std::time::Duration;

use serde_json::{json, Value};
use tests::fixtures::{created, customer, wallet};
use tests::smtp::SmtpSink;
use tests::{on_both_backends, send, Backend, Method, Reply, TestServer};

on_both_backends!(
    start = unconfigured;
    without_smtp_messages_are_recorded_not_sent,
);

mod with_smtp {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        each_change_mails_each_recipient_once(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
    )]
    async fn postgres() {
        each_change_mails_each_recipient_once(Backend::Postgres).await;
    }
}

mod schedule {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        refusals_follow_the_schedule_on_a_moved_clock(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
    )]
    async fn postgres() {
        refusals_follow_the_schedule_on_a_moved_clock(Backend::Postgres).await;
    }
}

mod language {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        messages_speak_the_customers_language(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
    )]
    async fn postgres() {
        messages_speak_the_customers_language(Backend::Postgres).await;
    }
}

fn unconfigured(backend: Backend) -> Option<TestServer> {
    TestServer::start(backend)
}

/// A server that mails through `sink`; its worker runs every 100 ms unless `worker` is false.
fn mailing(backend: Backend, sink: &SmtpSink, worker: bool) -> Option<TestServer> {
    let url = sink.url();
    TestServer::start_with(backend, move |c| {
        c.smtp_url = Some(url);
        c.mail_from = Some("billing@northwind.test".into());
        c.mail_poll_ms = if worker { 100 } else { 0 };
    })
}

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn emails(s: &TestServer, query: &str) -> Vec<Value> {
    get(s, &format!("/v1/emails?limit=100{query}")).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// A finalized invoice of `total` USD for the customer; its id.
async fn invoice(s: &TestServer, c: &str, total: &str) -> String {
    let r = created(
        s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "USD",
               "lines": [{"description": "Pro plan", "quantity": "1", "unit_amount": total}]}),
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let f = post(s, &format!("/v1/invoices/{id}/finalize"), json!({})).await;
    assert_eq!(f.status, 200, "{}", f.body);
    id
}

fn of_kind<'a>(sent: &'a [Value], subject_part: &str) -> Vec<&'a Value> {
    sent.iter()
        .filter(|m| m["subject"].as_str().unwrap().contains(subject_part))
        .collect()
}

async fn each_change_mails_each_recipient_once(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(s) = mailing(backend, &sink, true) else {
        return;
    };
    let patched = send(s.admin(Method::PATCH, "/v1/account").json(&json!({
        "name": "Northwind Cloud", "support_email": "support@northwind.test",
        "primary_color": "#3730a3"})))
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(
        patched.body["emails"]["invoice_issued"], true,
        "on by default"
    );
    let c = customer(
        &s,
        json!({"name": "Ada", "email": "ada@example.com",
               "billing": {"email": "ap@example.com"}}),
    )
    .await;

    // An invoice: to the customer and the billing contact, each with the PDF.
    let inv = invoice(&s, &c, "100.00").await;
    // A receipt and a failed payment, to both.
    let paid = post(
        &s,
        &format!("/v1/invoices/{inv}/payments"),
        json!({"amount": "30", "method": "external"}),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let failed = post(
        &s,
        &format!("/v1/invoices/{inv}/payments"),
        json!({"amount": "70", "method": "external", "status": "failed",
               "failure_reason": "card_declined"}),
    )
    .await;
    assert_eq!(failed.status, 201, "{}", failed.body);
    // A low balance, to the customer only.
    let w = wallet(&s, &c, "USD", "0.01").await;
    let patched = send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{w}"))
            .json(&json!({"low_balance_threshold": "500"})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(
        post(
            &s,
            &format!("/v1/wallets/{w}/top_up"),
            json!({"credits": "1000"})
        )
        .await
        .status,
        201
    );
    let debit = post(
        &s,
        &format!("/v1/wallets/{w}/debit"),
        json!({"credits": "600"}),
    )
    .await;
    assert!(debit.status.is_success(), "{}", debit.body);
    // A portal link, to the customer only.
    let link = post(
        &s,
        &format!("/v1/customers/{c}/portal_link"),
        json!({"return_url": "https://northwind.test/account"}),
    )
    .await;
    assert_eq!(link.status, 202, "{}", link.body);
    assert!(
        !link.body.to_string().contains("code="),
        "the URL is only in the message"
    );
    assert_eq!(link.body["email"]["to"], "ada@example.com");
    assert_eq!(link.body["email"]["kind"], "portal_link");

    let sent = sink.settle(8, Duration::from_millis(1500));
    assert_eq!(sent.len(), 8, "each (change, recipient) once: {sent:#?}");
    assert_eq!(
        s.metric(r#"emails_total{outcome="sent"}"#).await,
        Some(8.0),
        "each message sent is counted once"
    );
    let mut ids: Vec<&str> = sent
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8, "one Message-ID per message");
    for m in &sent {
        assert!(
            m["message_id"].as_str().unwrap().starts_with("<em_")
                && m["message_id"]
                    .as_str()
                    .unwrap()
                    .ends_with("@northwind.test>"),
            "{m}"
        );
        assert_eq!(m["from"], "Northwind Cloud <billing@northwind.test>");
        assert_eq!(m["reply_to"], "Northwind Cloud <support@northwind.test>");
        assert!(m["text"].as_str().unwrap().contains("Northwind Cloud"));
        assert!(
            m["html"].as_str().unwrap().contains("#3730a3"),
            "the account's colour"
        );
    }
    let invoices = of_kind(&sent, "Invoice INV-");
    assert_eq!(invoices.len(), 2);
    let mut to: Vec<&str> = invoices.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort_unstable();
    assert_eq!(to, ["ada@example.com", "ap@example.com"]);
    for m in &invoices {
        assert_eq!(m["content_type"], "multipart/mixed");
        let a = &m["attachments"][0];
        assert_eq!(a["content_type"], "application/pdf");
        assert_eq!(a["starts"], "%PDF-");
        assert!(a["size"].as_u64().unwrap() > 1000);
        assert!(a["filename"].as_str().unwrap().starts_with("INV-"));
        assert!(m["text"].as_str().unwrap().contains("100.00 USD"));
    }
    assert_eq!(
        of_kind(&sent, "Receipt from Northwind Cloud: 30.00 USD").len(),
        2
    );
    let declined = of_kind(&sent, "Your payment of 70.00 USD to Northwind Cloud failed");
    assert_eq!(declined.len(), 2);
    assert!(declined[0]["text"]
        .as_str()
        .unwrap()
        .contains("card_declined"));
    let low = of_kind(&sent, "credit balance is low");
    assert_eq!(low.len(), 1);
    assert_eq!(low[0]["to"], "ada@example.com");
    assert!(
        low[0]["text"].as_str().unwrap().contains("400 credits"),
        "{}",
        low[0]["text"]
    );

    // The e-mailed link opens the portal once.
    let portal = of_kind(&sent, "billing portal");
    assert_eq!(portal.len(), 1);
    let text = portal[0]["text"].as_str().unwrap();
    let code = text
        .split("code=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a login URL in the message");
    let exchange = |code: String| {
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({ "code": code }))
    };
    let opened = send(exchange(code.to_owned())).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["session"]["customer_id"], c.as_str());
    assert_eq!(
        opened.body["session"]["return_url"],
        "https://northwind.test/account"
    );
    send(exchange(code.to_owned()))
        .await
        .assert_problem(401, "invalid_login_code");

    // The merchant's log: every message sent, never a body or a link.
    let log = emails(&s, "").await;
    assert_eq!(log.len(), 8);
    assert!(
        log.iter()
            .all(|e| e["status"] == "sent" && e["attempts"] == 1),
        "{log:#?}"
    );
    assert!(!serde_json::to_string(&log).unwrap().contains("code="));
    let one = &log[0];
    assert_eq!(
        get(&s, &format!("/v1/emails/{}", one["id"].as_str().unwrap())).await,
        *one
    );
    let mine = emails(&s, &format!("&customer_id={c}&kind=invoice_issued")).await;
    assert_eq!(mine.len(), 2);
    assert!(mine
        .iter()
        .all(|e| e["source"].as_str().unwrap().starts_with("msg_")));
    send(s.admin(
        Method::POST,
        &format!("/v1/emails/{}/retry", one["id"].as_str().unwrap()),
    ))
    .await
    .assert_problem(409, "email_not_retryable");

    // Switched off, an invoice mails nothing; a portal link is refused, as is one to a
    // customer without an address.
    let off = send(s.admin(Method::PATCH, "/v1/account").json(&json!({
        "emails": {"invoice_issued": false, "portal_link": false}})))
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["emails"]["invoice_issued"], false);
    assert_eq!(
        off.body["emails"]["payment_receipt"], true,
        "the others keep their value"
    );
    invoice(&s, &c, "5.00").await;
    post(&s, &format!("/v1/customers/{c}/portal_link"), json!({}))
        .await
        .assert_problem(409, "email_disabled");
    let silent = customer(&s, json!({"name": "No mail"})).await;
    post(
        &s,
        &format!("/v1/customers/{silent}/portal_link"),
        json!({}),
    )
    .await
    .assert_problem(409, "customer_has_no_email");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.messages().len(), 8, "nothing more was sent");
    assert_eq!(emails(&s, "").await.len(), 8, "and nothing more recorded");
    let sessions = get(&s, &format!("/v1/portal_sessions?customer_id={silent}")).await;
    assert!(
        sessions["data"].as_array().unwrap().is_empty(),
        "no session without its message"
    );
}

async fn refusals_follow_the_schedule_on_a_moved_clock(backend: Backend) {
    let sink = SmtpSink::start_with(&["--fail-first", "1", "--reject", "bounce"]);
    let Some(s) = mailing(backend, &sink, false) else {
        return;
    };
    let settings = api::mail::Mailer::new(s.state.mail.as_ref().expect("SMTP configured"));
    let pass = |at: chrono::DateTime<chrono::Utc>| {
        let (state, settings) = (s.state.clone(), settings.clone());
        async move { api::mail::pass(&state, &settings, at).await.unwrap() }
    };
    let c = customer(&s, json!({"name": "Ada", "email": "ada@example.com"})).await;
    let link = post(&s, &format!("/v1/customers/{c}/portal_link"), json!({})).await;
    assert_eq!(link.status, 202, "{}", link.body);
    let id = link.body["email"]["id"].as_str().unwrap().to_owned();
    assert_eq!(link.body["email"]["status"], "queued");

    // 451: queued again a minute later.
    let t0 = chrono::Utc::now();
    assert_eq!(pass(t0).await, 1);
    let e = get(&s, &format!("/v1/emails/{id}")).await;
    assert_eq!(
        (e["status"].as_str(), e["attempts"].as_i64()),
        (Some("queued"), Some(1))
    );
    assert!(e["last_error"].as_str().unwrap().contains("451"), "{e}");
    let next: chrono::DateTime<chrono::Utc> =
        e["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        next,
        domain::clock::to_micros(t0) + chrono::Duration::minutes(1)
    );
    assert_eq!(
        pass(t0 + chrono::Duration::seconds(59)).await,
        0,
        "not due yet"
    );
    assert_eq!(pass(t0 + chrono::Duration::seconds(61)).await, 1);
    let e = get(&s, &format!("/v1/emails/{id}")).await;
    assert_eq!(
        (e["status"].as_str(), e["attempts"].as_i64()),
        (Some("sent"), Some(2))
    );
    assert!(e["last_error"].is_null());
    assert_eq!(sink.messages().len(), 1);

    // 550: failed at once; a retry sends it again with its Message-ID, and fails again.
    let b = customer(&s, json!({"name": "Bob", "email": "bounce@example.com"})).await;
    let link = post(&s, &format!("/v1/customers/{b}/portal_link"), json!({})).await;
    let bounced = link.body["email"]["id"].as_str().unwrap().to_owned();
    assert_eq!(pass(t0 + chrono::Duration::seconds(62)).await, 1);
    let e = get(&s, &format!("/v1/emails/{bounced}")).await;
    assert_eq!(e["status"], "failed", "{e}");
    assert!(e["last_error"].as_str().unwrap().contains("550"), "{e}");
    let again = post(&s, &format!("/v1/emails/{bounced}/retry"), json!({})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        (
            again.body["status"].as_str(),
            again.body["attempts"].as_i64()
        ),
        (Some("queued"), Some(0))
    );
    assert_eq!(pass(t0 + chrono::Duration::seconds(63)).await, 1);
    assert_eq!(
        get(&s, &format!("/v1/emails/{bounced}")).await["status"],
        "failed"
    );
    assert_eq!(
        sink.messages().len(),
        1,
        "a refused message is not delivered"
    );
    let failed = emails(&s, "&status=failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["id"], bounced.as_str());

    // Bad input names the field; another account's message is not found.
    send(s.admin(Method::GET, "/v1/emails?status=lost"))
        .await
        .assert_problem(422, "validation_failed");
    send(s.admin(Method::GET, "/v1/emails?kind=spam"))
        .await
        .assert_problem(422, "validation_failed");
    send(s.admin(Method::GET, "/v1/emails?customer_id=nope"))
        .await
        .assert_problem(422, "validation_failed");
    send(s.admin(Method::GET, "/v1/emails/em_01jd3x6v9f5m2q8r7t4w0y1z3a"))
        .await
        .assert_problem(404, "email_not_found");
    let other = s.other_tenant_key();
    let theirs = send(
        s.request(Method::GET, &format!("/v1/emails/{id}"))
            .header("x-api-key", other),
    )
    .await;
    theirs.assert_problem(404, "email_not_found");
    let bad = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"emails": {"invoice": true}})),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}

async fn without_smtp_messages_are_recorded_not_sent(s: TestServer) {
    let c = customer(&s, json!({"name": "Ada", "email": "ada@example.com"})).await;
    let link = post(&s, &format!("/v1/customers/{c}/portal_link"), json!({})).await;
    assert_eq!(link.status, 202, "{}", link.body);
    let e = &link.body["email"];
    assert_eq!(e["status"], "not_configured");
    assert!(
        e["last_error"]
            .as_str()
            .unwrap()
            .contains("PORTAL_SMTP_URL"),
        "{e}"
    );
    invoice(&s, &c, "12.00").await;
    let log = emails(&s, "&status=not_configured").await;
    assert_eq!(log.len(), 2, "{log:#?}");
    let retry = post(
        &s,
        &format!("/v1/emails/{}/retry", e["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    retry.assert_problem(409, "email_not_retryable");
    assert_eq!(
        emails(&s, "&status=queued").await.len(),
        0,
        "nothing waits for a server that is not there"
    );
}

mod self_sign_in {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        a_customer_signs_in_by_email(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
    )]
    async fn postgres() {
        a_customer_signs_in_by_email(Backend::Postgres).await;
    }
}

async fn a_customer_signs_in_by_email(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let Some(s) = TestServer::start_with(backend, move |c| {
        c.smtp_url = Some(url);
        c.mail_from = Some("billing@northwind.test".into());
        c.limits.login_links_per_minute = 6;
        c.limits.login_links_per_email_per_hour = 2;
    }) else {
        return;
    };
    let account = get(&s, "/v1/account").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada = customer(&s, json!({"name": "Ada", "email": "Ada@Example.com"})).await;
    let other = s.other_tenant_key();
    let theirs = send(
        s.request(Method::POST, "/v1/customers")
            .header("x-api-key", &other)
            .json(&json!({"name": "Bob", "email": "bob@example.com"})),
    )
    .await;
    assert_eq!(theirs.status, 201);
    let ask = |email: &str| {
        s.request(Method::POST, "/v1/portal/login_links")
            .json(&json!({"account_id": account, "email": email}))
    };

    // Off by default: the same answer, and nothing sent.
    let off = send(ask("ada@example.com")).await;
    assert_eq!(off.status, 202, "{}", off.body);
    let on = send(s.admin(Method::PATCH, "/v1/account").json(&json!({
        "self_sign_in": true,
        "portal_sections": {"payments": {"enabled": false}}})))
    .await;
    assert_eq!(on.body["self_sign_in"], true, "{}", on.body);

    // On: the address in another case reaches the customer's stored address.
    let asked = send(ask(" ADA@example.com ")).await;
    assert_eq!(
        (asked.status.as_u16(), &asked.body),
        (202, &off.body),
        "one answer for all"
    );
    let unknown = send(ask("nobody@example.com")).await;
    assert_eq!((unknown.status.as_u16(), &unknown.body), (202, &off.body));
    let elsewhere = send(ask("bob@example.com")).await;
    assert_eq!(
        (elsewhere.status.as_u16(), &elsewhere.body),
        (202, &off.body),
        "another account's customer"
    );
    let sent = sink.settle(1, Duration::from_millis(1000));
    assert_eq!(sent.len(), 1, "only Ada's request sent a link: {sent:#?}");
    assert_eq!(sent[0]["to"], "Ada@Example.com");
    assert_eq!(sent[0]["subject"], "Sign in to default");
    let text = sent[0]["text"].as_str().unwrap();
    let code = text
        .split("code=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    let opened = send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({ "code": code })),
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["session"]["customer_id"], ada.as_str());
    assert_eq!(
        opened.body["session"]["sections"]["payments"]["enabled"], false,
        "the account's default sections"
    );
    let log = emails(&s, "&kind=login_link").await;
    assert_eq!(log.len(), 1);
    let audit = get(&s, &format!("/v1/audit_events?customer_id={ada}")).await;
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["actor"] == "self_sign_in"),
        "{audit}"
    );

    // Bad input names the field; the e-mail and the address are limited.
    let bad = send(
        s.request(Method::POST, "/v1/portal/login_links")
            .json(&json!({"account_id": "acme", "email": "not-an-email"})),
    )
    .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.fields(), ["account_id", "email"]);
    send(ask("ada@example.com"))
        .await
        .assert_problem(429, "rate_limited");
    assert_eq!(send(ask("zed@example.com")).await.status, 202);
    send(ask("yan@example.com"))
        .await
        .assert_problem(429, "rate_limited");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1);
}

/// A German customer's invoice message is German, subject and body, with German number and
/// date formats; an Arabic customer's receipt is Arabic and laid out right to left; the
/// merchant's log shows the subject as sent.
async fn messages_speak_the_customers_language(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(s) = mailing(backend, &sink, true) else {
        return;
    };
    let named = send(
        s.admin(Method::PATCH, "/v1/account")
            .json(&json!({"name": "Northwind"})),
    )
    .await;
    assert_eq!(named.status, 200, "{}", named.body);
    let hans = customer(
        &s,
        json!({"name": "Hans", "email": "hans@example.de", "locale": "de-DE"}),
    )
    .await;
    let inv = invoice(&s, &hans, "1234.50").await;
    let number = get(&s, &format!("/v1/invoices/{inv}")).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let layla = customer(
        &s,
        json!({"name": "Layla", "email": "layla@example.eg", "locale": "ar-EG"}),
    )
    .await;
    let other = invoice(&s, &layla, "20.00").await;
    let paid = post(
        &s,
        &format!("/v1/invoices/{other}/payments"),
        json!({"amount": "20", "method": "external"}),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);

    let sent = sink.settle(3, Duration::from_millis(1000));
    assert_eq!(sent.len(), 3, "{sent:#?}");
    let german = sent.iter().find(|m| m["to"] == "hans@example.de").unwrap();
    assert_eq!(
        german["subject"],
        format!("Rechnung {number} von Northwind")
    );
    let text = german["text"].as_str().unwrap();
    for expected in ["Anbei Ihre Rechnung", "1.234,50 USD", "Fälliger Betrag"] {
        assert!(text.contains(expected), "{expected} not in: {text}");
    }
    assert!(german["html"]
        .as_str()
        .unwrap()
        .contains(r#"<html lang="de" dir="ltr">"#));
    let receipt = sent
        .iter()
        .find(|m| {
            m["to"] == "layla@example.eg" && m["attachments"].as_array().is_none_or(Vec::is_empty)
        })
        .unwrap();
    // Egyptian Arabic writes numbers in Arabic-Indic digits (CLDR).
    assert_eq!(receipt["subject"], "إيصال من Northwind: ٢٠٫٠٠ USD");
    assert!(receipt["html"]
        .as_str()
        .unwrap()
        .contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(receipt["text"].as_str().unwrap().contains("استلمنا دفعتك"));
    // The log shows what was sent.
    let log = emails(&s, &format!("&customer_id={hans}")).await;
    assert_eq!(
        log[0]["subject"],
        format!("Rechnung {number} von Northwind")
    );
}
