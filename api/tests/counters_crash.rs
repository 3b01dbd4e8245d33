//! The period counters across `kill -9`: clients send random batches of usage — ids repeated
//! across batches, timestamps out of order and late (days back, for a customer counted by
//! calendar month) — retried until a server answers, while the real `portal-api` process is
//! killed with SIGKILL at random moments and restarted on the same database (on PostgreSQL two
//! processes serve it, as replicas do). Afterwards, for each customer: counter = Σ rollups =
//! Σ acknowledged events, and `portal-api rebuild-counters` finds nothing to mend.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::Datelike;
use rand::Rng;
use serde_json::{json, Value};

use common::{get, pg_schema, until_answered, Process};

const CLIENTS: usize = 4;
const BATCHES: usize = 60;
const BATCH: usize = 40;
const KILLS: usize = 5;

async fn counters_across_kill9(mut servers: Vec<Process>) {
    let (client, bases) = common::ready(&servers).await;
    let base = bases[0].clone();
    let setup = [
        (
            "/v1/features",
            json!({"key": "tokens", "name": "Tokens", "unit": "tokens", "aggregation": "sum",
                   "value_property": "n", "unit_price": "0.001", "currency": "USD"}),
        ),
        (
            "/v1/plans",
            json!({"code": "metered", "name": "Metered", "currency": "USD", "interval": "month",
                   "amount": "0", "entitlements": [{"feature": "tokens", "limit": null}]}),
        ),
        (
            "/v1/customers",
            json!({"external_id": "subscribed", "name": "Subscribed"}),
        ),
        (
            "/v1/customers",
            json!({"external_id": "monthly", "name": "Counted by month"}),
        ),
    ];
    let mut made = Vec::new();
    for (i, (path, body)) in setup.iter().enumerate() {
        let (s, v) = until_answered(&client, &bases, path, &format!("setup-{i}"), body).await;
        assert_eq!(s, 201, "{path}: {v}");
        made.push(v["id"].as_str().unwrap().to_owned());
    }
    let (s, sub) = until_answered(
        &client,
        &bases,
        "/v1/subscriptions",
        "setup-sub",
        &json!({"external_customer_id": "subscribed", "plan": "metered"}),
    )
    .await;
    assert_eq!(s, 201, "{sub}");
    let subscribed = sub["customer_id"].as_str().unwrap().to_owned();
    let monthly = made[3].clone();

    let now = chrono::Utc::now();
    let month_start = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let client = client.clone();
        let mut bases = bases.clone();
        let n = bases.len();
        bases.rotate_left(c % n);
        clients.push(tokio::spawn(async move {
            // event_id → (customer, quantity) of every event a server acknowledged.
            let mut acknowledged: HashMap<String, (String, i64)> = HashMap::new();
            for b in 0..BATCHES {
                let events: Vec<Value> = (0..BATCH)
                    .map(|_| {
                        let mut rng = rand::rng();
                        // Ids repeat across clients and batches: the same id is the same event.
                        let id = rng.random_range(0..4000);
                        let n = id % 17 + 1;
                        if id % 2 == 0 {
                            json!({"event_id": format!("e-{id}"), "external_customer_id": "subscribed",
                                   "feature": "tokens", "properties": {"n": n}})
                        } else {
                            // Late and out of order: up to three days back, this month.
                            let back = id % 72;
                            let at = (now - chrono::Duration::hours(back)).max(month_start);
                            json!({"event_id": format!("e-{id}"), "external_customer_id": "monthly",
                                   "feature": "tokens", "timestamp": at, "properties": {"n": n}})
                        }
                    })
                    .collect();
                let key = format!("batch-{c}-{b}");
                let (status, v) = until_answered(
                    &client,
                    &bases,
                    "/v1/events/batch",
                    &key,
                    &json!({ "events": events }),
                )
                .await;
                assert_eq!(status, 200, "{key}: {v}");
                for (e, r) in events.iter().zip(v["results"].as_array().unwrap()) {
                    assert_ne!(r["status"], "rejected", "{r}");
                    let who = e["external_customer_id"].as_str().unwrap().to_owned();
                    let n = e["properties"]["n"].as_i64().unwrap();
                    acknowledged.insert(e["event_id"].as_str().unwrap().to_owned(), (who, n));
                }
            }
            acknowledged
        }));
    }
    let mut mid_run = 0;
    for _ in 0..KILLS {
        let pause = rand::rng().random_range(5..60);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        mid_run += usize::from(clients.iter().any(|c| !c.is_finished()));
        common::restart_random(&mut servers, &client).await;
    }
    assert!(mid_run > 0, "no kill fell while batches were being sent");
    let mut acknowledged: HashMap<String, (String, i64)> = HashMap::new();
    for c in clients {
        acknowledged.extend(c.await.expect("client task"));
    }
    let total = |who: &str| -> i64 {
        acknowledged
            .values()
            .filter(|(w, _)| w == who)
            .map(|(_, n)| n)
            .sum()
    };
    for (id, who) in [(&subscribed, "subscribed"), (&monthly, "monthly")] {
        let usage = get(
            &client,
            &format!("{base}/v1/customers/{id}/usage?window=30d"),
        )
        .await;
        assert_eq!(
            usage["breakdown"][0]["total_usage"],
            total(who).to_string(),
            "Σ rollups = Σ acknowledged events of {who}: {usage}"
        );
    }
    let used = get(
        &client,
        &format!("{base}/v1/customers/{subscribed}/entitlements"),
    )
    .await;
    assert_eq!(
        used["data"][0]["used"],
        total("subscribed").to_string(),
        "the period counter = Σ acknowledged events: {used}"
    );
    // Every counter (the monthly customer's included) agrees with its rollups.
    let rebuilt = servers[0].run(&["rebuild-counters"]);
    assert!(
        rebuilt.contains("0 counter(s) differed"),
        "rebuild-counters: {rebuilt}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let token_key = api::tokens::PasetoCodec::generate_key();
    counters_across_kill9(vec![Process::start(None, &token_key, None)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres() {
    let (admin_url, schema, url) = pg_schema("counters");
    let token_key = api::tokens::PasetoCodec::generate_key();
    counters_across_kill9(vec![
        Process::start(Some(url.clone()), &token_key, Some((admin_url, schema))),
        Process::start(Some(url), &token_key, None),
    ])
    .await;
}
