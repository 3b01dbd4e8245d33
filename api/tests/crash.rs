//! Exactly-once across `kill -9`. The real `portal-api` process serves wallet top-ups, each sent
//! with its own `Idempotency-Key` and retried by its client until it gets an answer, while the
//! process is killed with SIGKILL at random moments and restarted on the same database. However
//! the kills fall (before the commit, between the commit and the answer, while answering), every
//! top-up must be in the ledger exactly once and every client must hold the answer of that one
//! ledger entry. On PostgreSQL two processes serve one database, as replicas do: a retry may
//! land on the other one, while the first still holds the key or after it was killed.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bigdecimal::BigDecimal;
use rand::Rng;
use serde_json::json;

const OPERATIONS: usize = 1200;
const CLIENTS: usize = 24;
const KILLS: usize = 8;

use common::{get, pg_schema, until_answered, Process};

fn amount(i: usize) -> String {
    format!("{}.{:03}", i % 97 + 1, i % 1000)
}

async fn exactly_once_across_kill9(mut servers: Vec<Process>) {
    let (client, bases) = common::ready(&servers).await;
    let base = bases[0].clone();
    let (s, customer) = until_answered(
        &client,
        &bases,
        "/v1/customers",
        "crash-customer",
        &json!({"external_id": "crash-1", "name": "Crash Test"}),
    )
    .await;
    assert_eq!(s, 201, "{customer}");
    let (s, wallet) = until_answered(
        &client,
        &bases,
        "/v1/wallets",
        "crash-wallet",
        &json!({"customer_id": customer["id"], "currency": "USD"}),
    )
    .await;
    assert_eq!(s, 201, "{wallet}");
    let wallet_id = wallet["id"].as_str().unwrap().to_owned();

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, wallet_id) = (client.clone(), wallet_id.clone());
        // Each client starts on a different server.
        let mut bases = bases.clone();
        let n = bases.len();
        bases.rotate_left(c % n);
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for i in (c..OPERATIONS).step_by(CLIENTS) {
                let (status, v) = until_answered(
                    &client,
                    &bases,
                    &format!("/v1/wallets/{wallet_id}/top_up"),
                    &format!("op-{i}"),
                    &json!({"credits": amount(i), "reference": format!("op-{i}")}),
                )
                .await;
                assert_eq!(status, 201, "op-{i}: {v}");
                answers.push((
                    format!("op-{i}"),
                    v["transaction"]["id"].as_str().unwrap().to_owned(),
                ));
            }
            answers
        }));
    }
    for _ in 0..KILLS {
        let pause = rand::rng().random_range(150..600);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        common::restart_random(&mut servers, &client).await;
    }
    let mut answered = HashMap::new();
    for c in clients {
        for (reference, tx_id) in c.await.expect("client task") {
            answered.insert(reference, tx_id);
        }
    }
    assert_eq!(answered.len(), OPERATIONS);

    // The ledger, read whole: one entry per operation, and it is the one its client was told of.
    let mut ledger: HashMap<String, Vec<String>> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/wallets/{wallet_id}/transactions?limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = get(&client, &url).await;
        for tx in page["data"].as_array().unwrap() {
            ledger
                .entry(tx["reference"].as_str().unwrap_or_default().to_owned())
                .or_default()
                .push(tx["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let doubled: Vec<_> = ledger.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(doubled.is_empty(), "applied more than once: {doubled:?}");
    for (reference, tx_id) in &answered {
        assert_eq!(
            ledger.get(reference),
            Some(&vec![tx_id.clone()]),
            "{reference}: the client's answer names the ledger entry"
        );
    }
    let expected: BigDecimal = (0..OPERATIONS)
        .map(|i| amount(i).parse::<BigDecimal>().unwrap())
        .sum();
    let w = get(&client, &format!("{base}/v1/wallets/{wallet_id}")).await;
    assert_eq!(
        w["balance"]
            .as_str()
            .unwrap()
            .parse::<BigDecimal>()
            .unwrap(),
        expected,
        "balance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let token_key = api::tokens::PasetoCodec::generate_key();
    exactly_once_across_kill9(vec![Process::start(None, &token_key, None)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres() {
    let (admin_url, schema, url) = pg_schema("crash");
    let token_key = api::tokens::PasetoCodec::generate_key();
    exactly_once_across_kill9(vec![
        Process::start(Some(url.clone()), &token_key, Some((admin_url, schema))),
        Process::start(Some(url), &token_key, None),
    ])
    .await;
}
