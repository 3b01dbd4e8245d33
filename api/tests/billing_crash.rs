//! Billing exactly once across `kill -9` and replicas. Subscriptions several daily periods
//! behind (as after downtime) are caught up by the in-process worker while the real
//! `portal-api` process is killed with SIGKILL at random moments and restarted on the same
//! database; on PostgreSQL two processes run the worker on one database at once. Afterwards
//! every missed period is invoiced exactly once, every invoice paid from the wallet exactly once,
//! and every wallet holds exactly what was taken.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use rand::Rng;
use serde_json::json;

use common::{pg_schema, until_answered, Process};

const CUSTOMERS: usize = 150;
const MISSED_DAYS: i64 = 8;
const KILLS: usize = 6;

/// Runs SQL on the database behind the servers' backs.
enum Direct {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl Direct {
    fn execute(&mut self, sql: &str) {
        match self {
            Direct::Sqlite(c) => c.batch_execute(sql),
            Direct::Postgres(c) => c.batch_execute(sql),
        }
        .expect("sql runs");
    }

    fn count(&mut self, sql: &str) -> i64 {
        let q = diesel::sql_query(sql);
        let rows: Vec<Count> = match self {
            Direct::Sqlite(c) => q.load(c),
            Direct::Postgres(c) => q.load(c),
        }
        .expect("query runs");
        rows[0].n
    }
}

async fn billed_once_across_kill9(mut servers: Vec<Process>, mut db: Direct) {
    let (client, bases) = common::ready(&servers).await;
    let (status, plan) = until_answered(
        &client,
        &bases,
        "/v1/plans",
        "plan",
        &json!({"code": "daily", "name": "Daily", "currency": "USD", "interval": "day", "amount": "1.25"}),
    )
    .await;
    assert_eq!(status, 201, "{plan}");
    for i in 0..CUSTOMERS {
        let (status, c) = until_answered(
            &client,
            &bases,
            "/v1/customers",
            &format!("c-{i}"),
            &json!({"name": format!("Customer {i}")}),
        )
        .await;
        assert_eq!(status, 201, "{c}");
        let (status, w) = until_answered(
            &client,
            &bases,
            "/v1/wallets",
            &format!("w-{i}"),
            &json!({"customer_id": c["id"], "currency": "USD"}),
        )
        .await;
        assert_eq!(status, 201, "{w}");
        let (status, t) = until_answered(
            &client,
            &bases,
            &format!("/v1/wallets/{}/top_up", w["id"].as_str().unwrap()),
            &format!("t-{i}"),
            &json!({"credits": "100"}),
        )
        .await;
        assert_eq!(status, 201, "{t}");
        let (status, s) = until_answered(
            &client,
            &bases,
            "/v1/subscriptions",
            &format!("s-{i}"),
            &json!({"customer_id": c["id"], "plan": "daily", "collection": "wallet"}),
        )
        .await;
        assert_eq!(status, 201, "{s}");
    }
    // As if every server had been off for eight days: each subscription is eight periods behind.
    let start =
        chrono::Utc::now() - chrono::Duration::days(MISSED_DAYS) - chrono::Duration::hours(1);
    let t =
        |x: chrono::DateTime<chrono::Utc>| x.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    db.execute(&format!(
        "UPDATE subscriptions SET anchor_at = '{a}', started_at = '{a}', current_period_start = '{a}', \
         current_period_end = '{e}', due_at = '{e}'",
        a = t(start),
        e = t(start + chrono::Duration::days(1)),
    ));
    let due = format!(
        "SELECT COUNT(*) AS n FROM subscriptions WHERE due_at <= '{}'",
        t(chrono::Utc::now())
    );
    let mut killed_mid_run = 0;
    for _ in 0..KILLS {
        let pause = rand::rng().random_range(100..400);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if db.count(&due) > 0 {
            killed_mid_run += 1;
        }
        common::restart_random(&mut servers, &client).await;
    }
    let mut left = i64::MAX;
    for _ in 0..600 {
        left = db.count(&due);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "every subscription caught up");
    eprintln!("{killed_mid_run} of {KILLS} kills fell while periods were still due");
    assert!(
        killed_mid_run > 0,
        "the kills must interrupt the billing run"
    );
    let n = CUSTOMERS as i64;
    let renewals = n * MISSED_DAYS;
    assert_eq!(
        db.count("SELECT COUNT(*) AS n FROM invoices WHERE subscription_id IS NOT NULL"),
        n + renewals,
        "one invoice per subscription and period: none lost, none doubled"
    );
    assert_eq!(
        db.count(
            "SELECT COUNT(*) AS n FROM (SELECT subscription_id FROM invoices GROUP BY subscription_id \
             HAVING COUNT(*) <> 9) x"
        ),
        0,
        "each subscription has its first invoice and eight renewals"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) AS n FROM payments"),
        n + renewals,
        "each invoice paid once"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) AS n FROM invoices WHERE payment_status <> 'paid'"),
        0
    );
    assert_eq!(
        db.count("SELECT COUNT(*) AS n FROM wallet_transactions WHERE type = 'debit'"),
        n + renewals,
        "each payment debited once"
    );
    // 100 − 9 × 1.25 = 88.75 in every wallet.
    assert_eq!(
        db.count("SELECT COUNT(*) AS n FROM wallets WHERE balance <> '88.75'"),
        0,
        "every wallet holds exactly what was not taken"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) AS n FROM billing_runs WHERE kind = 'renewal'"),
        renewals
    );
}

fn worker() -> [(&'static str, &'static str); 1] {
    [("PORTAL_BILLING_INTERVAL_SECS", "1")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let token_key = api::tokens::PasetoCodec::generate_key();
    let server = Process::start_with(None, &token_key, None, &worker());
    let path = server.sqlite_path.clone().unwrap();
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;
    let mut db = SqliteConnection::establish(&path).expect("open the server's SQLite file");
    db.batch_execute("PRAGMA busy_timeout = 10000;").unwrap();
    billed_once_across_kill9(vec![server], Direct::Sqlite(db)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres_two_replicas() {
    let (admin_url, schema, url) = pg_schema("billing");
    let token_key = api::tokens::PasetoCodec::generate_key();
    let servers = vec![
        Process::start_with(
            Some(url.clone()),
            &token_key,
            Some((admin_url, schema)),
            &worker(),
        ),
        Process::start_with(Some(url.clone()), &token_key, None, &worker()),
    ];
    let db = PgConnection::establish(&url).expect("connect to the test schema");
    billed_once_across_kill9(servers, Direct::Postgres(db)).await;
}
