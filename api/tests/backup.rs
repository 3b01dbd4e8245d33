//! `portal-api backup <file>` of the embedded SQLite database while the server takes wallet
//! top-ups and debits from four clients at once: the copy is a consistent snapshot. A server
//! started on it answers; SQLite's own `PRAGMA integrity_check` passes; the ledger replays
//! to the wallet's balance and the live lots hold exactly that balance; and the copy holds
//! every entry made before the backup began and none made after it ended. On PostgreSQL the
//! command refuses and names pg_dump.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::process::Command;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use serde_json::{json, Value};

use common::{get, pg_schema, ready, until_answered, Process, KEY};

const CLIENTS: usize = 4;
const STEPS: usize = 400;

/// Every ledger entry of the wallet on `base`, oldest first.
async fn entries(client: &reqwest::Client, base: &str, wallet: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(
            client,
            &format!("{base}/v1/wallets/{wallet}/transactions?limit=100{cursor}"),
        )
        .await;
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    out.reverse();
    out
}

fn dec(v: &Value) -> BigDecimal {
    BigDecimal::from_str(v.as_str().unwrap_or_else(|| panic!("not a decimal: {v}"))).unwrap()
}

/// SQLite's integrity check and the wallet's live lots, read by Python's sqlite3 module.
fn sqlite_check(file: &str, wallet: &str) -> (String, BigDecimal) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, decimal\n\
             db = sqlite3.connect(sys.argv[1])\n\
             print(db.execute('PRAGMA integrity_check').fetchone()[0])\n\
             rows = db.execute(\"SELECT available FROM credit_lots WHERE wallet_id = ? AND \
             (expires_at IS NULL OR expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))\", (sys.argv[2],))\n\
             print(sum((decimal.Decimal(r[0]) for r in rows), decimal.Decimal(0)))",
            file,
            wallet,
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (
        lines.next().unwrap().to_owned(),
        BigDecimal::from_str(lines.next().unwrap()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_while_writing_is_consistent() {
    let token_key = api::tokens::PasetoCodec::generate_key();
    let server = Process::start(None, &token_key, None);
    let (client, bases) = ready(std::slice::from_ref(&server)).await;
    let base = bases[0].clone();
    let (_, c) = until_answered(
        &client,
        &bases,
        "/v1/customers",
        "c",
        &json!({"name": "Ada"}),
    )
    .await;
    let (status, w) = until_answered(
        &client,
        &bases,
        "/v1/wallets",
        "w",
        &json!({"customer_id": c["id"], "currency": "USD", "conversion_rate": "0.01"}),
    )
    .await;
    assert_eq!(status, 201, "{w}");
    let wallet = w["id"].as_str().unwrap().to_owned();

    let writing: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (client, base, wallet) = (client.clone(), base.clone(), wallet.clone());
            tokio::spawn(async move {
                for i in 0..STEPS {
                    let (path, body) = if i % 3 == 2 {
                        ("debit", json!({"credits": "7"}))
                    } else {
                        ("top_up", json!({"credits": format!("{}", 10 + n)}))
                    };
                    let r = client
                        .post(format!("{base}/v1/wallets/{wallet}/{path}"))
                        .header("x-api-key", KEY)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    let status = r.status().as_u16();
                    assert!(
                        status == 201 || status == 200 || status == 422,
                        "{path}: {status} {}",
                        r.text().await.unwrap()
                    );
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = entries(&client, &base, &wallet).await.len();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db").display().to_string();
    let said = tokio::task::block_in_place(|| server.run(&["backup", &copy]));
    assert!(said.contains("backed up to"), "{said}");
    let after = entries(&client, &base, &wallet).await.len();
    for w in writing {
        w.await.unwrap();
    }
    let total = entries(&client, &base, &wallet).await.len();
    assert!(
        before > 0 && after < total,
        "the backup ran while the ledger grew: {before} entries before it, {after} after, {total} in the end"
    );
    // A wrong database path is refused, not backed up empty.
    let dir2 = tempfile::tempdir().unwrap();
    let nowhere = Command::new(env!("CARGO_BIN_EXE_portal-api"))
        .args(["backup", &dir2.path().join("copy.db").display().to_string()])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir2.path().join("missing.db").display()),
        )
        .output()
        .unwrap();
    assert!(!nowhere.status.success());
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("no database at"));
    assert!(!dir2.path().join("missing.db").exists() && !dir2.path().join("copy.db").exists());
    // A second backup never overwrites the first.
    let again = tokio::task::block_in_place(|| server.run(&["backup", &copy]));
    assert!(again.contains("already exists"), "{again}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy is readable by its owner only");
    }

    // Restored: a server on the copy serves it, and the ledger holds together.
    let (integrity, lots) = sqlite_check(&copy, &wallet);
    assert_eq!(integrity, "ok");
    let restored = Process::start(Some(format!("sqlite://{copy}")), &token_key, None);
    let (client, bases) = ready(std::slice::from_ref(&restored)).await;
    let balance = dec(&get(&client, &format!("{}/v1/wallets/{wallet}", bases[0])).await["balance"]);
    let ledger = entries(&client, &bases[0], &wallet).await;
    assert!(
        (before..=after).contains(&ledger.len()),
        "a snapshot taken during the backup: {} entries, between {before} and {after}",
        ledger.len()
    );
    let mut replay = BigDecimal::from(0);
    for e in &ledger {
        assert_eq!(dec(&e["balance_before"]), replay, "entries chain: {e}");
        match e["type"].as_str().unwrap() {
            "credit" => replay += dec(&e["credits"]),
            _ => replay -= dec(&e["credits"]),
        }
        assert_eq!(dec(&e["balance_after"]), replay, "{e}");
    }
    assert_eq!(replay, balance, "the ledger replays to the balance");
    assert_eq!(lots, balance, "the live lots hold the balance");
    eprintln!(
        "backup holds {} of {total} entries ({before} before it began, {after} after it ended)",
        ledger.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres_backup_points_to_pg_dump() {
    let (admin_url, schema, url) = pg_schema("backup");
    let token_key = api::tokens::PasetoCodec::generate_key();
    let server = Process::start(Some(url), &token_key, Some((admin_url, schema)));
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db").display().to_string();
    let said = server.run(&["backup", &copy]);
    assert!(said.contains("pg_dump"), "{said}");
    assert!(!std::path::Path::new(&copy).exists(), "nothing written");
}
