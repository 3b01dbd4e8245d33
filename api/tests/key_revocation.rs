//! A verified API key is trusted for up to `VERIFIED_FOR` (under a second) without being read
//! again, on each replica. Two `portal-api` processes on one PostgreSQL: a key used on both,
//! revoked through one, is refused by that one at once and by the other within one second of
//! the revocation's answer — and from then on, by both.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::time::{Duration, Instant};

use common::{pg_schema, Process, KEY};
use serde_json::{json, Value};

async fn status_with(client: &reqwest::Client, base: &str, key: &str) -> u16 {
    client
        .get(format!("{base}/v1/customers?limit=1"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn a_revoked_key_stops_on_every_replica_within_a_second() {
    let (admin_url, schema, url) = pg_schema("revoke");
    let token_key = api::tokens::PasetoCodec::generate_key();
    let a = Process::start(Some(url.clone()), &token_key, Some((admin_url, schema)));
    let b = Process::start(Some(url), &token_key, None);
    let client = reqwest::Client::new();
    a.wait_ready(&client).await;
    b.wait_ready(&client).await;
    let created: Value = client
        .post(format!("{}/v1/api_keys", a.base()))
        .header("x-api-key", KEY)
        .json(&json!({"name": "to revoke"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, key) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );
    for _ in 0..3 {
        for server in [&a, &b] {
            assert_eq!(status_with(&client, &server.base(), &key).await, 200);
        }
    }
    let revoked = client
        .delete(format!("{}/v1/api_keys/{id}", a.base()))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    let at = Instant::now();
    assert_eq!(
        status_with(&client, &a.base(), &key).await,
        401,
        "the replica that revoked it refuses it at once"
    );
    // The other replica may still trust its verification for what is left of VERIFIED_FOR;
    // one second after the revocation it has read the key again.
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(at.elapsed())).await;
    for server in [&a, &b] {
        assert_eq!(
            status_with(&client, &server.base(), &key).await,
            401,
            "refused on every replica one second after the revocation"
        );
    }
    assert_eq!(
        status_with(&client, &b.base(), KEY).await,
        200,
        "other keys go on"
    );
}
