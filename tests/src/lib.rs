//! Test harness: each test gets the real server (the same `prepare` + `start` as `portal-api
//! serve`) on a random port, over a fresh database, and drives it over HTTP.
//!
//! - SQLite: a new file in a temporary directory.
//! - PostgreSQL: when `TEST_DATABASE_URL` is set, a new schema in that database (selected with
//!   `search_path`), dropped when the test ends. Without it the PostgreSQL variant prints that it
//!   was skipped; with `REQUIRE_POSTGRES=1` a skip is a failure.

pub mod fixtures;
pub mod load;
pub mod receiver;
pub mod smtp;
pub mod spec;
pub mod statements;

use std::net::TcpListener;

use actix_web::dev::ServerHandle;
use api::config::Config;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use rand::distr::Alphanumeric;
use rand::Rng;
use serde_json::Value;

pub use reqwest::{Method, RequestBuilder, StatusCode};

pub struct TestServer {
    pub base: String,
    /// The server's token key (PASERK), to mint tokens the way it does.
    pub token_key: String,
    /// The bootstrap admin key of the first account.
    pub key: String,
    pub client: reqwest::Client,
    pub state: actix_web::web::Data<api::state::AppState>,
    handle: ServerHandle,
    db: Db,
    _data_dir: tempfile::TempDir,
}

/// A connection of a test's (or a benchmark's) own to a server's database, behind its back.
pub enum Direct {
    Sqlite(diesel::SqliteConnection),
    Postgres(PgConnection),
}

impl Direct {
    /// Opens `database_url` (`sqlite://<path>` or a PostgreSQL URL) as the server does.
    pub fn open(database_url: &str) -> Self {
        match database_url.strip_prefix("sqlite://") {
            Some(path) => Self::sqlite(path),
            None => Direct::Postgres(PgConnection::establish(database_url).expect("connect")),
        }
    }

    fn sqlite(path: &str) -> Self {
        let mut c = diesel::SqliteConnection::establish(path).expect("open sqlite");
        // Wait for the server's own writes (its housekeeping runs at start) as the server's
        // connections do, instead of failing with "database is locked".
        c.batch_execute("PRAGMA busy_timeout = 10000;")
            .expect("busy timeout");
        Direct::Sqlite(c)
    }

    pub fn execute(&mut self, sql: &str) {
        match self {
            Direct::Sqlite(c) => c.batch_execute(sql),
            Direct::Postgres(c) => c.batch_execute(sql),
        }
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    /// One text column (named `v`) of `sql`, every row.
    pub fn texts(&mut self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Text {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let query = diesel::sql_query(sql);
        let rows: Vec<Text> = match self {
            Direct::Sqlite(c) => diesel::RunQueryDsl::load(query, c),
            Direct::Postgres(c) => diesel::RunQueryDsl::load(query, c),
        }
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
        rows.into_iter().map(|r| r.v).collect()
    }
}

enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { admin_url, schema } = self {
            if let Ok(mut c) = PgConnection::establish(admin_url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Sends the stop command now; the server's own thread winds down.
        drop(self.handle.stop(false));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn random(n: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

pub fn random_key() -> String {
    format!("sk_{}_{}", random(8), random(32))
}

impl TestServer {
    /// Starts a server on `backend`, or returns None when PostgreSQL is not configured (and not
    /// required).
    pub fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {})
    }

    /// Like [`TestServer::start`], with the configuration adjusted first.
    pub fn start_with(backend: Backend, customize: impl FnOnce(&mut Config)) -> Option<Self> {
        let key = random_key();
        let token_key = api::tokens::PasetoCodec::generate_key();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database_url, db) = match backend {
            Backend::Sqlite => (None, Db::Sqlite(tempfile::tempdir().expect("temp dir"))),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    assert!(
                        std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
                        "REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"
                    );
                    eprintln!("SKIPPED (PostgreSQL): TEST_DATABASE_URL is not set");
                    return None;
                };
                let schema = format!("t_{}", random(12).to_lowercase());
                let mut c =
                    PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
                c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create test schema");
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
                (Some(url), Db::Postgres { admin_url, schema })
            }
        };
        let database_url = database_url.or_else(|| match &db {
            Db::Sqlite(d) => Some(format!("sqlite://{}", d.path().join("portal.db").display())),
            Db::Postgres { .. } => None,
        });
        let config = Config {
            database_url,
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.path().to_path_buf(),
            token_key: Some(token_key.clone()),
            url_base: Some("https://portal.shop.test/login".into()),
            hosted_portal: true,
            cors_origins: String::new(),
            event_max_age_days: 35,
            limits: Default::default(),
            bootstrap_api_key: Some(key.clone()),
            db_pool_size: 8,
            max_body_bytes: 64 * 1024,
            workers: Some(2),
            demo: false,
            // Tests drive billing with test clocks; a test that wants the worker turns it on.
            billing_interval_secs: 0,
            billing_concurrency: 2,
            // Webhook tests turn the worker on (it writes in the background: fan-out marks);
            // receivers in tests listen on loopback over http.
            webhooks_poll_ms: 0,
            webhooks_concurrency: 8,
            webhooks_timeout_secs: 5,
            webhooks_allow_insecure: true,
            // E-mail tests point this at a test SMTP server.
            smtp_url: None,
            smtp_password: None,
            mail_from: None,
            mail_poll_ms: 100,
            shutdown_timeout_seconds: 30,
            log_format: Default::default(),
        };
        let mut config = config;
        customize(&mut config);
        let (state, _) = api::server::prepare(&config).expect("server prepares");
        let listener = TcpListener::bind(config.listen).expect("bind");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let server_state = state.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server =
                    api::server::start(server_state, listener, Some(2)).expect("server starts");
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("server handle");
        Some(TestServer {
            base: format!("http://{addr}"),
            token_key,
            key,
            client: reqwest::Client::new(),
            state,
            handle,
            db,
            _data_dir: data_dir,
        })
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
    }

    /// An admin request with the bootstrap key.
    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path).header("x-api-key", &self.key)
    }

    /// Runs SQL on the server's database behind its back (to simulate storage failures).
    pub fn execute_sql(&self, sql: &str) {
        self.direct().execute(sql)
    }

    /// Reads one text column (named `v`) of `sql` from the server's database behind its back.
    pub fn query_texts(&self, sql: &str) -> Vec<String> {
        self.direct().texts(sql)
    }

    /// A connection of its own to the server's database (on PostgreSQL, in the test's schema).
    fn direct(&self) -> Direct {
        match &self.db {
            Db::Sqlite(dir) => Direct::sqlite(dir.path().join("portal.db").to_str().unwrap()),
            Db::Postgres { admin_url, schema } => {
                let mut c = PgConnection::establish(admin_url).expect("connect");
                c.batch_execute(&format!("SET search_path TO {schema}"))
                    .expect("search path");
                Direct::Postgres(c)
            }
        }
    }

    /// The OpenAPI document the server serves.
    pub async fn served_spec(&self) -> Value {
        self.client
            .get(format!("{}/openapi.json", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// One query reading everything stored, as text (every row of every table, in order), to
    /// tell with [`TestServer::query_texts`] whether a request changed anything. Leaves out
    /// `last_used_at` / `last_seen_at`, which successful reads may move.
    pub fn stored_state_query(&self) -> String {
        const SKIP: [&str; 2] = ["last_used_at", "last_seen_at"];
        let sqlite = matches!(self.db, Db::Sqlite(_));
        let tables = self.query_texts(if sqlite {
            "SELECT name AS v FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        } else {
            "SELECT table_name::text AS v FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        });
        let mut parts = Vec::new();
        for t in tables {
            let columns: Vec<String> = self
                .query_texts(&if sqlite {
                    format!("SELECT name AS v FROM pragma_table_info('{t}')")
                } else {
                    format!("SELECT column_name::text AS v FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{t}' ORDER BY ordinal_position")
                })
                .into_iter()
                .filter(|c| !SKIP.contains(&c.as_str()))
                .collect();
            parts.push(if sqlite {
                let row = columns.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || ',' || ");
                format!("SELECT '{t}' || char(10) || coalesce((SELECT group_concat(r, char(10)) FROM (SELECT {row} AS r FROM \"{t}\" ORDER BY 1)), '') AS v")
            } else {
                let row = columns.iter().map(|c| format!("coalesce(\"{c}\"::text, '<null>')")).collect::<Vec<_>>().join(" || ',' || ");
                format!("SELECT '{t}' || E'\\n' || coalesce((SELECT string_agg(r, E'\\n' ORDER BY r) FROM (SELECT {row} AS r FROM \"{t}\") s), '') AS v")
            });
        }
        parts.join(" UNION ALL ")
    }

    /// The SQLite database file, when the server runs on SQLite.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match &self.db {
            Db::Sqlite(dir) => Some(dir.path().join("portal.db")),
            Db::Postgres { .. } => None,
        }
    }

    /// A portal request with a session token.
    /// The value of one sample (`name{labels}`) of `/metrics`, or None.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self
            .request(Method::GET, "/metrics")
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    pub fn portal(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.request(method, path).header("X-Session-Token", token)
    }

    /// A second, unrelated account and its admin key.
    pub fn other_tenant_key(&self) -> String {
        self.state
            .api_keys
            .create_tenant("other merchant")
            .expect("create tenant")
            .1
    }
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type; body: {}",
            self.body
        );
        assert_eq!(self.body["code"], code, "code; body: {}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with(code)));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    /// The `field`s of a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Reply {
    let res = rb.send().await.expect("request sent");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Runs an `async fn(TestServer)` against SQLite and against PostgreSQL, as two tests. Without
/// TEST_DATABASE_URL at build time the PostgreSQL test is reported as ignored, with the reason.
/// `start = f` takes the server from `f(Backend) -> Option<TestServer>` instead of the default.
#[macro_export]
macro_rules! on_both_backends {
    (start = $start:path; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[allow(unused_imports, reason = "each test module uses what its test needs")]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let server = $start($crate::Backend::Sqlite).expect("sqlite server");
                    super::$name(server).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL to run")]
                async fn postgres() {
                    if let Some(server) = $start($crate::Backend::Postgres) {
                        super::$name(server).await;
                    }
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(start = $crate::TestServer::start; $($name),*);
    };
}
