//! Exactly one license key per subscription across `kill -9` and replicas, with the real
//! `portal-api` process: subscriptions to a plan that issues keys are started concurrently
//! (each with an Idempotency-Key, retried until answered, on any replica) while servers are
//! killed at random. Afterwards every subscription has exactly one key, no key lacks its
//! subscription, each key validates, and `license_key.created` was sent once per key.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{json, Value};

use common::{get, pg_schema, ready, restart_random, until_answered, Process};

const CUSTOMERS: usize = 60;
/// Subscriptions asked for at once, a server killed under each wave.
const WAVE: usize = 20;

async fn one_key_per_subscription_across_kills(mut servers: Vec<Process>) {
    let (client, bases) = ready(&servers).await;
    let (status, plan) = until_answered(
        &client,
        &bases,
        "/v1/plans",
        "plan",
        &json!({"code": "pro", "name": "Pro", "currency": "USD", "interval": "month",
                "amount": "20", "license_keys": {"enabled": true, "activation_limit": 3}}),
    )
    .await;
    assert_eq!(status, 201, "{plan}");
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let (status, c) = until_answered(
            &client,
            &bases,
            "/v1/customers",
            &format!("customer-{i}"),
            &json!({"name": format!("Customer {i}")}),
        )
        .await;
        assert_eq!(status, 201, "{c}");
        customers.push(c["id"].as_str().unwrap().to_owned());
    }
    // Waves of subscriptions asked for at once, a server killed under each while they run.
    let mut subscriptions = HashSet::new();
    let mut across = 0;
    for wave in customers.chunks(WAVE) {
        let starting: Vec<_> = wave
            .iter()
            .map(|c| {
                let (client, bases) = (client.clone(), bases.clone());
                let body = json!({"customer_id": c, "plan": "pro"});
                let key = format!("subscribe-{c}");
                tokio::spawn(async move {
                    let answer =
                        until_answered(&client, &bases, "/v1/subscriptions", &key, &body).await;
                    (answer, std::time::Instant::now())
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(15)).await;
        let killed = std::time::Instant::now();
        restart_random(&mut servers, &client).await;
        for s in starting {
            let ((status, sub), answered) = s.await.unwrap();
            across += usize::from(answered > killed);
            assert_eq!(status, 201, "{sub}");
            subscriptions.insert(sub["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        subscriptions.len(),
        CUSTOMERS,
        "one subscription per customer"
    );
    eprintln!("{across} of {CUSTOMERS} subscriptions were answered after a kill under them");

    let listed = get(&client, &format!("{}/v1/license_keys?limit=100", bases[0])).await;
    let keys = listed["data"].as_array().unwrap();
    let mut per_subscription: HashMap<String, usize> = HashMap::new();
    for k in keys {
        *per_subscription
            .entry(k["subscription_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        per_subscription.keys().cloned().collect::<HashSet<_>>(),
        subscriptions,
        "every subscription has a key, and every key its subscription"
    );
    assert!(
        per_subscription.values().all(|n| *n == 1),
        "never two keys for one subscription: {per_subscription:?}"
    );
    for (i, k) in keys.iter().enumerate() {
        let r = client
            .post(format!("{}/v1/licenses/validate", bases[i % bases.len()]))
            .json(&json!({"key": k["key"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    }
    let events = get(
        &client,
        &format!(
            "{}/v1/webhook_events?type=license_key.created&limit=100",
            bases[0]
        ),
    )
    .await;
    let announced: Vec<&Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["payload"]["data"]["id"])
        .collect();
    assert_eq!(
        announced.len(),
        CUSTOMERS,
        "one event per key: {announced:?}"
    );
    let ids: HashSet<&Value> = keys.iter().map(|k| &k["id"]).collect();
    assert_eq!(announced.into_iter().collect::<HashSet<_>>(), ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill9_while_subscribing() {
    let token_key = api::tokens::PasetoCodec::generate_key();
    let server = Process::start(None, &token_key, None);
    one_key_per_subscription_across_kills(vec![server]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres_two_replicas_kill9_while_subscribing() {
    let (admin_url, schema, url) = pg_schema("licenses");
    let token_key = api::tokens::PasetoCodec::generate_key();
    let servers = vec![
        Process::start(Some(url.clone()), &token_key, Some((admin_url, schema))),
        Process::start(Some(url), &token_key, None),
    ];
    one_key_per_subscription_across_kills(servers).await;
}
