//! The real `portal-api` process for crash tests: started on its own port and database,
//! killed with SIGKILL, restarted on the same database.

#![allow(dead_code, reason = "each test binary uses part of it")]
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::Value;

/// The server binary with its database; restarted on the same port and database after a kill.
pub struct Process {
    child: Option<Child>,
    port: u16,
    /// The SQLite file, when the process runs on one.
    pub sqlite_path: Option<String>,
    env: Vec<(&'static str, String)>,
    _dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

impl Process {
    pub fn start(
        database_url: Option<String>,
        token_key: &str,
        pg_schema: Option<(String, String)>,
    ) -> Self {
        Self::start_with(database_url, token_key, pg_schema, &[])
    }

    /// Starts with extra environment variables.
    pub fn start_with(
        database_url: Option<String>,
        token_key: &str,
        pg_schema: Option<(String, String)>,
        extra: &[(&'static str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let database_url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("portal.db").display()));
        let sqlite_path = database_url.strip_prefix("sqlite://").map(str::to_owned);
        let env = vec![
            ("DATABASE_URL", database_url),
            ("PORTAL_LISTEN", format!("127.0.0.1:{port}")),
            (
                "PORTAL_DATA_DIR",
                dir.path().join("data").display().to_string(),
            ),
            ("PORTAL_BOOTSTRAP_API_KEY", KEY.to_owned()),
            ("PORTAL_WORKERS", "2".to_owned()),
            // Replicas share the key that seals stored answers (and signs tokens and cursors).
            ("PORTAL_TOKEN_KEY", token_key.to_owned()),
            ("RUST_LOG", "error".to_owned()),
        ];
        let mut env = env;
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let mut p = Process {
            child: None,
            port,
            sqlite_path,
            env,
            _dir: dir,
            pg_schema,
        };
        p.spawn();
        p
    }

    /// Sets environment variables for the next [`Process::spawn`].
    pub fn set_env(&mut self, vars: &[(&'static str, &str)]) {
        for (k, v) in vars {
            self.env.retain(|(name, _)| name != k);
            self.env.push((k, (*v).to_owned()));
        }
    }

    pub fn spawn(&mut self) {
        let child = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_portal-api")))
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start portal-api");
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown hook, no flush, no answer for what is in flight.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill -9");
            c.wait().expect("reaped");
        }
    }

    /// SIGTERM, as a process manager stops a server (it keeps running while it shuts down).
    pub fn sigterm(&self) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "SIGTERM to {pid}");
    }

    /// Waits for the process to exit (at most `within`; past it, SIGKILL and a panic).
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().ok();
                child.wait().ok();
                panic!("did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs another `portal-api` command on the same database and settings; its output (stdout
    /// and stderr).
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_portal-api")))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("run portal-api");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn wait_ready(&self, client: &reqwest::Client) {
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{}/readyz", self.base())).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("portal-api did not become ready");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill9();
        if let Some((admin_url, schema)) = &self.pg_schema {
            if let Ok(mut c) = PgConnection::establish(admin_url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// A fresh schema in `TEST_DATABASE_URL` for one test's processes: the admin URL, the schema and
/// the URL that selects it. Give `Some((admin URL, schema))` to one `Process` to drop it after.
pub fn pg_schema(prefix: &str) -> (String, String, String) {
    use rand::Rng;
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let schema = format!("{prefix}_{}", rand::rng().random_range(0..u64::MAX));
    PgConnection::establish(&admin_url)
        .expect("connect to TEST_DATABASE_URL")
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create test schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
    (admin_url, schema, url)
}

/// A client for the crash tests (30 s a request) once every server answers `/readyz`, and the
/// servers' base URLs.
pub async fn ready(servers: &[Process]) -> (reqwest::Client, Vec<String>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for server in servers {
        server.wait_ready(&client).await;
    }
    (client, servers.iter().map(Process::base).collect())
}

/// SIGKILLs one of the servers, chosen at random, and starts it again on the same database.
pub async fn restart_random(servers: &mut [Process], client: &reqwest::Client) {
    use rand::Rng;
    let victim = rand::rng().random_range(0..servers.len());
    let server = &mut servers[victim];
    server.kill9();
    server.spawn();
    server.wait_ready(client).await;
}

pub const KEY: &str = "sk_crashtst_0123456789abcdefghijklmnopqrstuv";

/// Sends one request until a server answers it (connection refused or reset while a server is
/// down or dies mid-request; 409 while the key is still being processed), each attempt to the
/// next server.
pub async fn until_answered(
    client: &reqwest::Client,
    bases: &[String],
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    for attempt in 0.. {
        let base = &bases[attempt % bases.len()];
        let sent = client
            .post(format!("{base}{path}"))
            .header("x-api-key", KEY)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await;
        if let Ok(r) = sent {
            let status = r.status().as_u16();
            if let Ok(v) = r.json::<Value>().await {
                if status != 409 && status < 500 {
                    return (status, v);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    unreachable!()
}

/// An admin GET, read as JSON.
pub async fn get(client: &reqwest::Client, url: &str) -> Value {
    let r = client
        .get(url)
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}
