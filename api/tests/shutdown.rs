//! Graceful shutdown of the real `portal-api` process on SQLite and PostgreSQL: SIGTERM while
//! usage batches are being ingested and e-mails are being sent (a real SMTP server taking
//! 1.5 s over each). Every request the server had taken is answered 200, the process exits
//! cleanly, every acknowledged event is stored, and the mail worker leaves no message leased
//! to it: each is sent (once) or still queued and due, for the next node to take at once.

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

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{get, pg_schema, ready, until_answered, Process, KEY};
use smtp::SmtpSink;

const BATCHES: usize = 48;
const BATCH: usize = 1000;
const MAILED: usize = 8;

fn env(sink: &SmtpSink) -> Vec<(&'static str, String)> {
    vec![
        ("PORTAL_SMTP_URL", sink.url()),
        ("PORTAL_MAIL_FROM", "billing@northwind.test".into()),
        ("PORTAL_MAIL_POLL_MS", "20".into()),
        ("PORTAL_SHUTDOWN_TIMEOUT_SECONDS", "60".into()),
    ]
}

async fn sigterm_under_load(mut server: Process, sink: SmtpSink) {
    let (client, bases) = ready(std::slice::from_ref(&server)).await;
    let base = bases[0].clone();
    let (status, _) = until_answered(
        &client,
        &bases,
        "/v1/features",
        "feature",
        &json!({"key": "calls", "name": "Calls", "unit": "calls", "aggregation": "count",
                "unit_price": "0.01", "currency": "USD"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, load) = until_answered(
        &client,
        &bases,
        "/v1/customers",
        "load",
        &json!({"external_id": "load", "name": "Load"}),
    )
    .await;
    let mut mailed = Vec::new();
    for i in 0..MAILED {
        let (_, c) = until_answered(
            &client,
            &bases,
            "/v1/customers",
            &format!("mailed-{i}"),
            &json!({"name": format!("Customer {i}"), "email": format!("c{i}@example.com")}),
        )
        .await;
        mailed.push(c["id"].as_str().unwrap().to_owned());
    }
    // Portal links mailed just before the load: their messages are being sent at the signal.
    for (i, c) in mailed.iter().enumerate() {
        let path = format!("/v1/customers/{c}/portal_link");
        let (status, _) =
            until_answered(&client, &bases, &path, &format!("link-{i}"), &json!({})).await;
        assert_eq!(status, 202);
    }

    // Every batch is sent on a connection of its own, and taken by the server, before the
    // signal; the writer works through them one by one, so most are still in flight at it.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let sending: Vec<_> = (0..BATCHES)
        .map(|b| {
            let (client, url) = (fresh.clone(), format!("{base}/v1/events/batch"));
            let events: Vec<Value> = (0..BATCH)
                .map(|i| {
                    json!({"event_id": format!("e-{b}-{i}"), "external_customer_id": "load",
                           "feature": "calls"})
                })
                .collect();
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .header("x-api-key", KEY)
                    .json(&json!({ "events": events }))
                    .send()
                    .await;
                let answered = Instant::now();
                match r {
                    Ok(r) => (r.status().as_u16(), r.json::<Value>().await.ok(), answered),
                    Err(e) => panic!("batch {b}: the request failed: {e:?}"),
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mailed_before = sink.messages().len();
    let signalled = Instant::now();
    server.sigterm();

    let (mut accepted, mut after) = (0, 0);
    for s in sending {
        let (status, body, answered) = s.await.unwrap();
        assert_eq!(
            status, 200,
            "an accepted request fails no matter the signal: {body:?}"
        );
        accepted += body.unwrap()["accepted"].as_u64().unwrap();
        after += usize::from(answered > signalled);
    }
    eprintln!("{after} of {BATCHES} batches were answered after SIGTERM");
    assert!(after > 0, "the signal came while requests were in flight");
    let exit = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(90)));
    assert!(exit.success(), "a clean exit: {exit}");

    // Back up, with the mail worker off: what was acknowledged is there, and no message is
    // leased to the node that stopped.
    server.set_env(&[("PORTAL_MAIL_POLL_MS", "0")]);
    server.spawn();
    server.wait_ready(&client).await;
    assert_eq!(accepted as usize, BATCHES * BATCH);
    let id = load["id"].as_str().unwrap();
    let usage = get(
        &client,
        &format!("{base}/v1/customers/{id}/usage?window=1d"),
    )
    .await;
    assert_eq!(usage["breakdown"][0]["events"], BATCHES * BATCH, "{usage}");
    let emails = get(&client, &format!("{base}/v1/emails?limit=100")).await;
    let rows = emails["data"].as_array().unwrap();
    assert_eq!(rows.len(), MAILED);
    let soon = chrono::Utc::now() + chrono::Duration::seconds(5);
    let mut sent = 0;
    for r in rows {
        match r["status"].as_str().unwrap() {
            "sent" => sent += 1,
            "queued" => {
                let next: chrono::DateTime<chrono::Utc> =
                    r["next_attempt_at"].as_str().unwrap().parse().unwrap();
                assert!(next < soon, "left leased by the stopped node: {r}");
            }
            other => panic!("{other}: {r}"),
        }
    }
    let received = sink.messages();
    eprintln!("{mailed_before} of {MAILED} e-mails had arrived at the signal, {sent} at the exit");
    assert!(mailed_before < MAILED, "the signal came while mailing");
    assert_eq!(
        received.len(),
        sent,
        "each sent message arrived once: {received:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigterm_under_load() {
    let sink = SmtpSink::start_with(&["--delay", "1500"]);
    let env = env(&sink);
    let extra: Vec<(&'static str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let token_key = api::tokens::PasetoCodec::generate_key();
    let server = Process::start_with(None, &token_key, None, &extra);
    sigterm_under_load(server, sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres_sigterm_under_load() {
    let sink = SmtpSink::start_with(&["--delay", "1500"]);
    let env = env(&sink);
    let extra: Vec<(&'static str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (admin_url, schema, url) = pg_schema("shutdown");
    let token_key = api::tokens::PasetoCodec::generate_key();
    let server = Process::start_with(Some(url), &token_key, Some((admin_url, schema)), &extra);
    sigterm_under_load(server, sink).await;
}
