//! The atomic consume across `kill -9`. Clients consume a feature with a hard limit, each
//! consume with its own `event_id` and retried until a server answers, while the real
//! `portal-api` process is killed with SIGKILL at random moments and restarted on the same
//! database (on PostgreSQL two processes serve it, as replicas do). However the kills fall, the
//! consumes acknowledged as allowed are exactly the events recorded, and the period's use is
//! exactly the limit: never more, never a lost unit.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use rand::Rng;
use serde_json::json;

const LIMIT: usize = 300;
const CONSUMES: usize = 700;
const CLIENTS: usize = 12;
const KILLS: usize = 6;

use common::{get, pg_schema, until_answered, Process};

async fn consumes_across_kill9(mut servers: Vec<Process>) {
    let (client, bases) = common::ready(&servers).await;
    let base = bases[0].clone();
    let setup = [
        (
            "/v1/features",
            json!({"key": "api_calls", "name": "API calls", "unit": "calls",
                   "aggregation": "count", "unit_price": "0.01", "currency": "USD"}),
        ),
        (
            "/v1/plans",
            json!({"code": "metered", "name": "Metered", "currency": "USD", "interval": "month",
                   "amount": "0", "entitlements": [{"feature": "api_calls", "limit": LIMIT.to_string()}]}),
        ),
        (
            "/v1/customers",
            json!({"external_id": "consumer", "name": "Consumer"}),
        ),
    ];
    for (i, (path, body)) in setup.iter().enumerate() {
        let (s, v) = until_answered(&client, &bases, path, &format!("setup-{i}"), body).await;
        assert_eq!(s, 201, "{path}: {v}");
    }
    let (s, sub) = until_answered(
        &client,
        &bases,
        "/v1/subscriptions",
        "setup-sub",
        &json!({"external_customer_id": "consumer", "plan": "metered"}),
    )
    .await;
    assert_eq!(s, 201, "{sub}");
    let customer = sub["customer_id"].as_str().unwrap().to_owned();

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, customer) = (client.clone(), customer.clone());
        let mut bases = bases.clone();
        let n = bases.len();
        bases.rotate_left(c % n);
        clients.push(tokio::spawn(async move {
            let mut allowed = Vec::new();
            for i in (c..CONSUMES).step_by(CLIENTS) {
                let event_id = format!("use-{i}");
                let (status, v) = until_answered(
                    &client,
                    &bases,
                    "/v1/entitlements/check",
                    &event_id,
                    &json!({"customer_id": customer, "feature": "api_calls", "consume": true,
                            "event_id": event_id}),
                )
                .await;
                assert_eq!(status, 200, "{event_id}: {v}");
                if v["allowed"] == true {
                    allowed.push(event_id);
                } else {
                    assert_eq!(v["reason"], "limit_reached", "{v}");
                }
            }
            allowed
        }));
    }
    let mut mid_run = 0;
    for _ in 0..KILLS {
        let pause = rand::rng().random_range(30..200);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        mid_run += usize::from(clients.iter().any(|c| !c.is_finished()));
        common::restart_random(&mut servers, &client).await;
    }
    assert!(mid_run > 0, "no kill fell while consumes were running");
    let mut acknowledged = HashSet::new();
    for c in clients {
        acknowledged.extend(c.await.expect("client task"));
    }
    assert_eq!(acknowledged.len(), LIMIT, "exactly the limit was allowed");

    let mut recorded = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/events?customer_id={customer}&limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = get(&client, &url).await;
        for e in page["data"].as_array().unwrap() {
            assert!(recorded.insert(e["event_id"].as_str().unwrap().to_owned()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        recorded, acknowledged,
        "acknowledged consumes = recorded events"
    );
    let list = get(
        &client,
        &format!("{base}/v1/customers/{customer}/entitlements"),
    )
    .await;
    assert_eq!(list["data"][0]["used"], LIMIT.to_string(), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let token_key = api::tokens::PasetoCodec::generate_key();
    consumes_across_kill9(vec![Process::start(None, &token_key, None)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres() {
    let (admin_url, schema, url) = pg_schema("consume");
    let token_key = api::tokens::PasetoCodec::generate_key();
    consumes_across_kill9(vec![
        Process::start(Some(url.clone()), &token_key, Some((admin_url, schema))),
        Process::start(Some(url), &token_key, None),
    ])
    .await;
}
