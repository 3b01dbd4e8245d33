//! Upgrades from the previous release's schema, with its data, on both backends. The fixtures
//! (tests/upgrade/fixtures, made by tests/upgrade/make-fixtures.sh with the earlier release's
//! server: the whole API tour and 40 more customers with wallets and paid invoices, workers
//! running) are loaded as they are, the server starts on them and migrates, and then:
//! - every row of every table the earlier schema had is still there, column for column;
//! - the earlier release's admin key still authenticates, and every list reads back every row;
//! - wallets replay their ledgers to their balances, invoices render their PDFs, license keys
//!   validate, webhook deliveries show their attempts;
//! - new writes work: a customer, a portal session and its dashboard.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use serde_json::{json, Value};
use tests::{on_both_backends, send, Backend, Direct, Method, TestServer};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/upgrade/fixtures");

/// Every table's rows, each as one text over the given columns, sorted: what the earlier release
/// stored, read the same way before and after the upgrade.
type Rows = BTreeMap<String, Vec<String>>;
/// Each table's columns.
type Shape = BTreeMap<String, Vec<String>>;

/// Reads one text column `v` of a query.
type Read<'a> = &'a mut dyn FnMut(&str) -> Vec<String>;

fn tables_and_columns(texts: Read<'_>, sqlite: bool) -> Shape {
    let tables = texts(if sqlite {
        "SELECT name AS v FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '%_search%' AND name <> '__diesel_schema_migrations' ORDER BY name"
    } else {
        "SELECT table_name::text AS v FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_type = 'BASE TABLE' AND table_name <> '__diesel_schema_migrations' ORDER BY 1"
    });
    tables
        .into_iter()
        .map(|t| {
            let columns = texts(&if sqlite {
                format!("SELECT name AS v FROM pragma_table_info('{t}')")
            } else {
                format!(
                    "SELECT column_name::text AS v FROM information_schema.columns WHERE table_schema = current_schema() \
                     AND table_name = '{t}' ORDER BY ordinal_position"
                )
            });
            (t, columns)
        })
        .collect()
}

fn rows(texts: Read<'_>, sqlite: bool, shape: &Shape) -> Rows {
    shape
        .iter()
        .map(|(t, columns)| {
            let row = columns
                .iter()
                .map(|c| match sqlite {
                    true => format!("coalesce(quote(\"{c}\"), 'NULL')"),
                    false => format!("coalesce(\"{c}\"::text, '<null>')"),
                })
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let mut found = texts(&format!("SELECT {row} AS v FROM \"{t}\""));
            found.sort();
            (t.clone(), found)
        })
        .collect()
}

fn gunzip(name: &str) -> Vec<u8> {
    let file = std::fs::File::open(format!("{FIXTURES}/{name}")).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut out).unwrap();
    out
}

/// Loads the earlier release's database where the server will open it, and reads it.
fn load_fixture(database_url: &str) -> (Shape, Rows) {
    let sqlite = database_url.starts_with("sqlite://");
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        std::fs::write(path, gunzip("previous.sqlite.gz")).unwrap();
    }
    let mut db = Direct::open(database_url);
    if !sqlite {
        let schema = database_url
            .rsplit("csearch_path%3D")
            .next()
            .unwrap()
            .to_owned();
        let dump = String::from_utf8(gunzip("previous.postgres.sql.gz")).unwrap();
        db.execute(&dump.replace("@SCHEMA@", &schema));
    }
    let applied = db.texts("SELECT max(version) AS v FROM __diesel_schema_migrations");
    let expected = std::fs::read_to_string(format!("{FIXTURES}/previous.version")).unwrap();
    assert_eq!(
        applied,
        [expected.trim()],
        "the fixture is the earlier release's schema"
    );
    let shape = tables_and_columns(&mut |q| db.texts(q), sqlite);
    let before = rows(&mut |q| db.texts(q), sqlite, &shape);
    (shape, before)
}

thread_local! {
    static BEFORE: RefCell<Option<(Shape, Rows)>> = const { RefCell::new(None) };
}

fn upgraded(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        // Stored secrets (license keys) are sealed with the earlier server's token key.
        let token_key = std::fs::read_to_string(format!("{FIXTURES}/previous.token_key")).unwrap();
        c.token_key = Some(token_key.trim().to_owned());
        let url = c.database_url.clone().unwrap();
        BEFORE.with(|b| *b.borrow_mut() = Some(load_fixture(&url)));
    })
}

async fn get(s: &TestServer, key: &str, path: &str) -> Value {
    let r = send(s.request(Method::GET, path).header("x-api-key", key)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

/// Every item of a list, page by page.
async fn all(s: &TestServer, key: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page = match &cursor {
            Some(c) => get(s, key, &format!("{path}{sep}limit=100&cursor={c}")).await,
            None => get(s, key, &format!("{path}{sep}limit=100")).await,
        };
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) if page["has_more"] == json!(true) => cursor = Some(c.to_owned()),
            _ => return items,
        }
    }
}

fn dec(v: &Value) -> BigDecimal {
    BigDecimal::from_str(v.as_str().unwrap()).unwrap()
}

on_both_backends!(start = upgraded; the_earlier_release_upgrades_with_its_data);

async fn the_earlier_release_upgrades_with_its_data(s: TestServer) {
    let (shape, before) = BEFORE
        .with(|b| b.borrow_mut().take())
        .expect("fixture loaded");
    let sqlite = s.sqlite_file().is_some();
    let latest = s.query_texts("SELECT max(version) AS v FROM __diesel_schema_migrations");
    assert!(
        latest[0] > before_version(),
        "migrated past the fixture: {latest:?}"
    );

    // Nothing the earlier release stored is lost or changed, column for column (columns the
    // upgrade added are not compared; the earlier ones are).
    let after = rows(&mut |q| s.query_texts(q), sqlite, &shape);
    let filled: usize = before.values().map(Vec::len).sum();
    assert!(
        filled > 300,
        "the fixture holds a real dataset: {filled} rows"
    );
    for (table, rows_before) in &before {
        assert_eq!(rows_before, &after[table], "{table} changed in the upgrade");
    }

    let key = std::fs::read_to_string(format!("{FIXTURES}/previous.key")).unwrap();
    let key = key.trim();
    // Every list reads back every row.
    for (path, table) in [
        ("/v1/customers?status=all", "customers"),
        ("/v1/invoices", "invoices"),
        ("/v1/payments", "payments"),
        ("/v1/subscriptions", "subscriptions"),
        ("/v1/plans", "plans"),
        ("/v1/wallets", "wallets"),
        ("/v1/credit_notes", "credit_notes"),
        ("/v1/license_keys", "license_keys"),
        ("/v1/webhook_endpoints", "webhook_endpoints"),
        ("/v1/coupons", "coupons"),
        ("/v1/tax_rates", "tax_rates"),
    ] {
        let listed = all(&s, key, path).await;
        assert_eq!(listed.len(), before[table].len(), "{path}");
        assert!(
            !listed.is_empty() || table == "coupons",
            "{path}: the fixture has some"
        );
    }

    // Search still finds what the earlier release indexed (SQLite's full-text index points at
    // row ids the table rebuild kept; PostgreSQL's trigram indexes).
    let found = all(&s, key, "/v1/customers?q=bulk").await;
    assert_eq!(found.len(), 40, "the fixture's 40 bulk customers");
    let found = all(&s, key, "/v1/invoices?q=INV-").await;
    assert_eq!(
        found.len(),
        before["invoices"]
            .iter()
            .filter(|r| r.contains("INV-"))
            .count()
    );

    // Each wallet's ledger replays to its balance.
    for w in all(&s, key, "/v1/wallets").await {
        let id = w["id"].as_str().unwrap();
        let mut entries = all(&s, key, &format!("/v1/wallets/{id}/transactions")).await;
        entries.reverse(); // oldest first
        let mut replay = BigDecimal::from(0);
        for e in &entries {
            assert_eq!(dec(&e["balance_before"]), replay, "{id}: {e}");
            match e["type"].as_str().unwrap() {
                "credit" => replay += dec(&e["credits"]),
                _ => replay -= dec(&e["credits"]),
            }
            assert_eq!(dec(&e["balance_after"]), replay, "{id}: {e}");
        }
        assert_eq!(dec(&w["balance"]), replay, "{id} replays to its balance");
    }
    // Finalized invoices render.
    let invoices = all(&s, key, "/v1/invoices").await;
    let finalized: Vec<&Value> = invoices
        .iter()
        .filter(|i| i["status"] == "finalized")
        .collect();
    assert!(!finalized.is_empty());
    for inv in finalized.iter().take(5) {
        let r = send(
            s.request(
                Method::GET,
                &format!("/v1/invoices/{}/pdf", inv["id"].as_str().unwrap()),
            )
            .header("x-api-key", key),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/pdf"));
    }
    // License keys issued before the upgrade are still recognised by their key (unsealed with
    // the same token key, found by digest): valid when active, else refused with their status.
    for k in all(&s, key, "/v1/license_keys").await {
        let full = get(
            &s,
            key,
            &format!("/v1/license_keys/{}", k["id"].as_str().unwrap()),
        )
        .await;
        let r = send(
            s.request(Method::POST, "/v1/licenses/validate")
                .json(&json!({"key": full["key"]})),
        )
        .await;
        match k["status"].as_str().unwrap() {
            "active" => {
                assert_eq!(r.status, 200, "{}", r.body);
                assert_eq!(r.body["id"], k["id"]);
            }
            status => {
                r.assert_problem(422, "license_invalid");
                assert_eq!(r.body["reason"], status, "{}", r.body);
            }
        }
    }
    // Deliveries keep their attempt log (attempts gained the account in the upgrade).
    let mut attempts = 0;
    for e in all(&s, key, "/v1/webhook_endpoints").await {
        let path = format!(
            "/v1/webhook_endpoints/{}/deliveries",
            e["id"].as_str().unwrap()
        );
        for d in all(&s, key, &path).await {
            attempts += d["log"].as_array().unwrap().len();
        }
    }
    assert_eq!(attempts, before["webhook_attempts"].len());

    // And it goes on: a new customer, a portal session for them, their dashboard.
    let c = send(
        s.request(Method::POST, "/v1/customers")
            .header("x-api-key", key)
            .json(&json!({"name": "After the upgrade"})),
    )
    .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let session = send(
        s.request(Method::POST, "/v1/portal_sessions")
            .header("x-api-key", key)
            .json(&json!({"customer_id": c.body["id"]})),
    )
    .await;
    assert_eq!(session.status, 201, "{}", session.body);
    let token = session.body["token"].as_str().unwrap();
    let overview = send(s.portal(Method::GET, "/v1/portal/overview", token)).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
}

fn before_version() -> String {
    std::fs::read_to_string(format!("{FIXTURES}/previous.version"))
        .unwrap()
        .trim()
        .to_owned()
}
