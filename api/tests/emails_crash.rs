//! E-mail across `kill -9` and replicas, with the real `portal-api` process and a real SMTP
//! server (aiosmtpd) that takes 150 ms over each message. Portal links are requested (each
//! with an Idempotency-Key, retried until answered) while servers running the mail worker are
//! killed at random, mid-send included. Afterwards every message was sent: each expected
//! (change, recipient) arrived, and all copies of one carry one `Message-ID` (a copy is the
//! transmission a killed node could not record).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;
#[path = "../../tests/src/smtp.rs"]
#[allow(
    dead_code,
    reason = "the tests crate's helper; these tests use part of it"
)]
mod smtp;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{get, pg_schema, ready, restart_random, until_answered, Process};
use smtp::SmtpSink;

const CUSTOMERS: usize = 24;

fn mail_env(sink: &SmtpSink) -> Vec<(&'static str, String)> {
    vec![
        ("PORTAL_SMTP_URL", sink.url()),
        ("PORTAL_MAIL_FROM", "billing@northwind.test".into()),
        ("PORTAL_MAIL_POLL_MS", "20".into()),
    ]
}

async fn links_arrive_across_kills(mut servers: Vec<Process>, sink: SmtpSink) {
    let (client, bases) = ready(&servers).await;
    let mut sources = HashSet::new();
    for i in 0..CUSTOMERS {
        let (status, c) = until_answered(
            &client,
            &bases,
            "/v1/customers",
            &format!("customer-{i}"),
            &json!({"name": format!("Customer {i}"), "email": format!("c{i}@example.com")}),
        )
        .await;
        assert_eq!(status, 201, "{c}");
        let path = format!("/v1/customers/{}/portal_link", c["id"].as_str().unwrap());
        let (status, sent) =
            until_answered(&client, &bases, &path, &format!("link-{i}"), &json!({})).await;
        assert_eq!(status, 202, "{sent}");
        sources.insert(sent["session_id"].as_str().unwrap().to_owned());
        if i % 4 == 3 {
            restart_random(&mut servers, &client).await;
        }
    }
    // Kill while the last messages are being sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    restart_random(&mut servers, &client).await;

    // Every message is sent in the end (a killed node's claim comes due after its lease).
    let deadline = Instant::now() + Duration::from_secs(150);
    let rows = loop {
        let listed = get(&client, &format!("{}/v1/emails?limit=100", bases[0])).await;
        let rows = listed["data"].as_array().unwrap().clone();
        if rows.len() == CUSTOMERS && rows.iter().all(|r| r["status"] == "sent") {
            break rows;
        }
        assert!(Instant::now() < deadline, "not all sent: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let recorded: HashSet<String> = rows
        .iter()
        .map(|r| r["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        recorded, sources,
        "one message per link asked for, none without one"
    );

    let received = sink.settle(CUSTOMERS, Duration::from_millis(500));
    let mut copies: HashMap<String, Vec<&Value>> = HashMap::new();
    for m in &received {
        copies
            .entry(m["message_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(m);
    }
    for r in &rows {
        let id = format!("<{}@northwind.test>", r["id"].as_str().unwrap());
        let got = copies
            .get(&id)
            .unwrap_or_else(|| panic!("{id} ({}) never arrived", r["to"]));
        for copy in got {
            assert_eq!(copy["to"], r["to"], "copies of {id} go to one recipient");
            assert_eq!(copy["subject"], r["subject"]);
        }
    }
    assert_eq!(copies.len(), CUSTOMERS, "no message outside the outbox");
    let repeated = received.len() - copies.len();
    eprintln!(
        "{} messages, {repeated} repeated transmissions (same Message-ID)",
        received.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill9_while_mailing() {
    let sink = SmtpSink::start_with(&["--delay", "150"]);
    let env = mail_env(&sink);
    let extra: Vec<(&'static str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let token_key = api::tokens::PasetoCodec::generate_key();
    let server = Process::start_with(None, &token_key, None, &extra);
    links_arrive_across_kills(vec![server], sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres_two_replicas_kill9_while_mailing() {
    let sink = SmtpSink::start_with(&["--delay", "150"]);
    let env = mail_env(&sink);
    let extra: Vec<(&'static str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (admin_url, schema, url) = pg_schema("mail");
    let token_key = api::tokens::PasetoCodec::generate_key();
    let servers = vec![
        Process::start_with(
            Some(url.clone()),
            &token_key,
            Some((admin_url, schema)),
            &extra,
        ),
        Process::start_with(Some(url), &token_key, None, &extra),
    ];
    links_arrive_across_kills(servers, sink).await;
}
