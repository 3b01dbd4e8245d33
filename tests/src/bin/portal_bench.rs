//! The read-path benchmark, side by side with the database's own ceiling:
//!
//!   cargo build --release -p api
//!   TEST_DATABASE_URL=postgres://… cargo run --release -p tests --bin portal-bench -- [postgres|sqlite] [seconds] [connections]
//!
//! Starts the release `portal-api` binary (a process of its own, default settings, rate limits
//! off) on a fresh database, seeds one customer's dashboard through the admin API (30 invoices,
//! a wallet with 40 movements, a subscription, 7 days of usage), then:
//! 1. `pgbench -S` (in a schema of its own in TEST_DATABASE_URL) at the same concurrency: the
//!    database's ceiling for one indexed read per transaction;
//! 2. `wrk` on each read path (and the merchant's hot path: the entitlement check, and the check
//!    that consumes, each consume a new event) at that concurrency, and its ratio to the pgbench TPS, with the CPU
//!    each request cost the server and (on PostgreSQL) the database's processes, beside what one
//!    pgbench transaction cost the database and pgbench; `/readyz` (one `SELECT 1`, no
//!    credentials) is the floor of any request that makes one database round trip;
//! 3. each path again at half its measured throughput, paced (open loop: a request's latency
//!    counts from when it was due, so a stall is not hidden), for p99;
//! 4. the server's resident memory at idle, under the reads and under ingestion (4 clients
//!    sending batches of 1,000 events), and the share of the machine's CPU the load generator
//!    (this process) and the server used during ingestion.
//!
//! With `--grow` (anywhere in the arguments), instead of steps 3 and 4 it then loads 100,000
//! customers, 1,000,000 finalized invoices and the hourly rollups of 100,000,000 usage events
//! (1,000,000 rollup rows) into another account, measures the read paths again, loads as much
//! again into the benchmarked account (other customers of it), and measures again: each path's
//! throughput against its figure on the small database and, on PostgreSQL, how each large table
//! was read meanwhile (sequential scans and index scans, from `pg_stat_user_tables`).
//!
//! Needs `wrk` and `pgbench` on the PATH (`apt-get install wrk postgresql-client`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};
use tests::Direct;

struct Server {
    child: Child,
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("x-api-key", &self.key);
        if let Some(b) = &body {
            rb = rb.json(b);
        }
        let r = rb.send().await.expect("request");
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "{method} {path} {body:?}: {status} {v}"
        );
        v
    }
}

/// Fields of `/proc/<pid>/stat` after the command name (which may hold spaces): the state is
/// the first, so field N of proc(5) is at N - 3.
fn stat_fields(pid: &str) -> Vec<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect()
}

/// Clock ticks (100 a second on Linux) of the given proc(5) stat fields, in seconds.
fn ticks(f: &[f64], fields: &[usize]) -> f64 {
    fields
        .iter()
        .map(|n| f.get(n - 3).unwrap_or(&0.0))
        .sum::<f64>()
        / 100.0
}

/// User + system CPU seconds a process (`self` or a pid) has used, all its threads (`utime`,
/// `stime`).
fn cpu_seconds(pid: &str) -> f64 {
    ticks(&stat_fields(pid), &[14, 15])
}

/// CPU seconds of this process's children that have been waited for (`cutime`, `cstime`): what
/// a finished `pgbench` used.
fn children_cpu_seconds() -> f64 {
    ticks(&stat_fields("self"), &[16, 17])
}

/// CPU seconds used so far by PostgreSQL: every `postgres` process, and the backends that have
/// exited (counted in the postmaster's children's time).
fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(|pid| ticks(&stat_fields(&pid), &[14, 15, 16, 17]))
        .sum()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Samples the server's RSS every 50 ms while `f` runs; the largest sample.
async fn peak_rss<F: std::future::Future>(pid: u32, f: F) -> (F::Output, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let out = f.await;
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (out, peak.load(Ordering::Relaxed))
}

fn random(n: usize) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric
        .sample_string(&mut rand::rng(), n)
        .to_lowercase()
}

/// A fresh schema in TEST_DATABASE_URL: (its URL, the admin URL, the schema).
fn pg_schema(prefix: &str) -> Option<(String, String, String)> {
    let admin = std::env::var("TEST_DATABASE_URL").ok()?;
    let schema = format!("{prefix}_{}", random(10));
    let mut c = PgConnection::establish(&admin).expect("connect to TEST_DATABASE_URL");
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut c)
        .expect("create schema");
    let sep = if admin.contains('?') { '&' } else { '?' };
    Some((
        format!("{admin}{sep}options=-csearch_path%3D{schema}"),
        admin,
        schema,
    ))
}

fn drop_schema(admin: &str, schema: &str) {
    if let Ok(mut c) = PgConnection::establish(admin) {
        let _ = diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE")).execute(&mut c);
    }
}

fn start_server(database_url: &str, data_dir: &std::path::Path) -> Server {
    let exe = std::env::current_exe().unwrap();
    let bin: PathBuf = exe.with_file_name("portal-api");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p api` first",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = format!("sk_{}_{}", random(8), random(32));
    let mut child = Command::new(bin)
        .env("DATABASE_URL", database_url)
        .env("PORTAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTAL_DATA_DIR", data_dir)
        .env("PORTAL_BOOTSTRAP_API_KEY", &key)
        .env("PORTAL_RATE_PORTAL_PER_MINUTE", "0")
        .env("PORTAL_RATE_SESSION_CREATE_PER_MINUTE", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start portal-api");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none(),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        base,
        key,
        http: reqwest::Client::new(),
    }
}

/// One customer with what the portal dashboard shows; (customer id, session token, wallet id,
/// an invoice id).
async fn seed(s: &Server) -> (String, String, String, String) {
    use reqwest::Method as M;
    let cus = s
        .call(M::POST, "/v1/customers", Some(json!({"name": "Bench Customer", "external_id": "bench-1", "email": "bench@shop.test"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let wal = s
        .call(
            M::POST,
            "/v1/wallets",
            Some(json!({"customer_id": cus, "currency": "USD", "conversion_rate": "0.01"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..20 {
        s.call(
            M::POST,
            &format!("/v1/wallets/{wal}/top_up"),
            Some(json!({"credits": "100000", "reference": format!("order-{i}")})),
        )
        .await;
        s.call(
            M::POST,
            &format!("/v1/wallets/{wal}/debit"),
            Some(json!({"credits": "250", "reason": "usage"})),
        )
        .await;
    }
    s.call(M::POST, "/v1/features", Some(json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count", "unit_price": "0.0002", "currency": "USD"}))).await;
    s.call(M::POST, "/v1/plans", Some(json!({"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "amount": "49",
            "entitlements": [{"feature": "api_calls", "limit": "1000000"}]})))
        .await;
    s.call(M::POST, "/v1/subscriptions", Some(json!({"customer_id": cus, "plan": "pro", "trial_days": 0, "collection": "send_invoice"}))).await;
    let now = Utc::now();
    for batch in 0..7 {
        let events: Vec<Value> = (0..1000)
            .map(|i| {
                let at = now - chrono::Duration::minutes(batch * 1440 + i % 1440);
                json!({"event_id": format!("ev-{batch}-{i}"), "external_customer_id": "bench-1", "feature": "api_calls", "timestamp": at})
            })
            .collect();
        s.call(M::POST, "/v1/events/batch", Some(json!({"events": events})))
            .await;
    }
    let mut consumers = Vec::new();
    for i in 0..32 {
        let c = s
            .call(
                M::POST,
                "/v1/customers",
                Some(json!({"name": format!("Consumer {i}")})),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        s.call(M::POST, "/v1/subscriptions", Some(json!({"customer_id": c, "plan": "pro", "trial_days": 0, "collection": "send_invoice"}))).await;
        consumers.push(c);
    }
    let _ = CONSUMERS.set(consumers);
    let mut invoice = String::new();
    for i in 0..30 {
        let inv = s
            .call(M::POST, "/v1/invoices", Some(json!({"customer_id": cus, "currency": "USD", "memo": format!("Month {i}"),
                "due_at": now + chrono::Duration::days(30),
                "lines": [{"description": "API calls", "quantity": "120000", "unit_amount": "0.0002", "feature": "api_calls"},
                          {"description": "Pro plan", "quantity": "1", "unit_amount": "49"}]})))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        s.call(M::POST, &format!("/v1/invoices/{inv}/finalize"), None)
            .await;
        invoice = inv;
    }
    let session = s
        .call(
            M::POST,
            "/v1/portal_sessions",
            Some(json!({"customer_id": cus, "expires_in_seconds": 7200})),
        )
        .await;
    let token = session["token"].as_str().unwrap().to_owned();
    (cus, token, wal, invoice)
}

/// A benchmarked path: its name, its path, the credential header, the POST body (`None`: GET).
type BenchPath<'a> = (&'a str, String, (&'a str, &'a str), Option<String>);

struct Wrk {
    rps: f64,
    /// Requests completed in the run.
    requests: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// wrk's own lines about failed requests ("Non-2xx or 3xx responses: …", "Socket errors:
    /// …"), empty when every request succeeded.
    errors: String,
}

/// Customers subscribed like the bench customer, for the consume spread over many customers.
static CONSUMERS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// `wrk` with `connections` connections on 2 threads for `seconds`; with `body`, each request
/// POSTs it with `{n}` made unique (a Lua script: a run tag, the thread and a counter).
fn wrk(
    url: &str,
    header: (&str, &str),
    body: Option<&str>,
    seconds: u64,
    connections: usize,
) -> Wrk {
    let script = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(body) = body {
        // `{c}` takes each of the consumers' ids in turn (see `CONSUMERS`).
        let lua = format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             local made = 0\nfunction setup(thread) made = made + 1; thread:set(\"tid\", made) end\n\
             local cs = {{}}\nfor c in string.gmatch(\"{consumers}\", \"[^,]+\") do table.insert(cs, c) end\n\
             local n = 0\nfunction request()\n  n = n + 1\n\
               local b = string.gsub([[{body}]], \"{{n}}\", \"{tag}-\" .. (tid or 0) .. \"-\" .. n)\n\
               if #cs > 0 then b = string.gsub(b, \"{{c}}\", cs[(n % #cs) + 1]) end\n\
               return wrk.format(nil, nil, nil, b)\nend\n",
            tag = random(8),
            consumers = CONSUMERS.get().map_or(String::new(), |c| c.join(",")),
        );
        std::fs::write(script.path(), lua).unwrap();
        cmd.args(["-s", &script.path().display().to_string()]);
    }
    let out = cmd
        .args(["-H", &format!("{}: {}", header.0, header.1), url])
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let number = |prefix: &str| -> Option<f64> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))?;
        let v = line[prefix.len()..].split_whitespace().next()?;
        ms(v).or_else(|| v.parse().ok())
    };
    Wrk {
        rps: number("Requests/sec:").unwrap_or(0.0),
        requests: text
            .lines()
            .find(|l| l.contains(" requests in "))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0),
        p50_ms: number("50%").unwrap_or(f64::NAN),
        p99_ms: number("99%").unwrap_or(f64::NAN),
        errors: text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("Non-2xx") || l.starts_with("Socket errors"))
            .map(|l| format!("  ({l})"))
            .collect(),
    }
}

/// wrk's durations ("850.00us", "1.20ms", "1.01s") in ms.
fn ms(v: &str) -> Option<f64> {
    for (suffix, factor) in [("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 60e3)] {
        if let Some(n) = v.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    None
}

/// `pgbench -S` at `connections` for `seconds` in a schema of its own, then `pgbench -N` (the
/// write transaction without the contended teller and branch updates: an update, a select and
/// an insert, committed): the ceiling of a path that writes and commits.
struct Ceiling {
    tps: f64,
    write_tps: f64,
    /// CPU per transaction of PostgreSQL's processes and of pgbench itself, in µs.
    db_us: f64,
    client_us: f64,
}

fn pgbench(seconds: u64, connections: usize) -> Option<Ceiling> {
    let (url, admin, schema) = pg_schema("pgbench")?;
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", &url])
        .output()
        .expect("run pgbench (apt-get install postgresql-client)");
    assert!(
        init.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let (db0, client0) = (postgres_cpu_seconds(), children_cpu_seconds());
    let run = Command::new("pgbench")
        .args([
            "-S",
            "-n",
            &format!("-c{connections}"),
            "-j2",
            &format!("-T{seconds}"),
            &url,
        ])
        .output()
        .unwrap();
    let (db, client) = (
        postgres_cpu_seconds() - db0,
        children_cpu_seconds() - client0,
    );
    let writes = Command::new("pgbench")
        .args([
            "-N",
            "-n",
            &format!("-c{connections}"),
            "-j2",
            &format!("-T{seconds}"),
            &url,
        ])
        .output()
        .unwrap();
    drop_schema(&admin, &schema);
    let after = |out: &str, prefix: &str, nth: usize| -> Option<f64> {
        let line = out.lines().find(|l| l.starts_with(prefix))?;
        line[prefix.len()..]
            .split_whitespace()
            .nth(nth)?
            .parse()
            .ok()
    };
    let out = String::from_utf8_lossy(&run.stdout);
    let tps = after(&out, "tps", 1)?;
    let transactions = after(&out, "number of transactions actually processed:", 0)?;
    let write_tps = after(&String::from_utf8_lossy(&writes.stdout), "tps", 1)?;
    Some(Ceiling {
        tps,
        write_tps,
        db_us: db * 1e6 / transactions,
        client_us: client * 1e6 / transactions,
    })
}

/// `rate` requests/s spread over `connections` clients for `seconds`, each due on its schedule
/// (open loop); latencies from when each was due. (p50, p99, max) in ms.
async fn paced(
    url: &str,
    header: (&str, &str),
    body: Option<&str>,
    rate: f64,
    seconds: u64,
    connections: usize,
) -> (f64, f64, f64) {
    let tag = random(8);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        // Under the server's 5 s keep-alive: a connection idle that long may be closed by the
        // server just as it is reused, and the request fails (hyper's IncompleteMessage).
        .pool_idle_timeout(Duration::from_secs(4))
        .build()
        .unwrap();
    let per_client = Duration::from_secs_f64(connections as f64 / rate);
    let end = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let (client, url) = (client.clone(), url.to_owned());
            let (h, v) = (header.0.to_owned(), header.1.to_owned());
            let (body, tag) = (body.map(str::to_owned), tag.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut due = Instant::now() + per_client.mul_f64(c as f64 / connections as f64);
                let mut n = 0;
                while due < end {
                    tokio::time::sleep_until(due.into()).await;
                    n += 1;
                    let request = match &body {
                        None => client.get(&url),
                        Some(b) => client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(
                                b.replace("{n}", &format!("{tag}-p{c}-{n}")).replace(
                                    "{c}",
                                    CONSUMERS
                                        .get()
                                        .and_then(|cs| cs.get(n % cs.len().max(1)))
                                        .map_or("", String::as_str),
                                ),
                            ),
                    };
                    let r = request.header(&h, &v).send().await.expect("request");
                    assert!(r.status().is_success(), "{url}: {}", r.status());
                    r.bytes().await.unwrap();
                    lat.push(due.elapsed());
                    due += per_client;
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let at = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    (at(0.5), at(0.99), all.last().unwrap().as_secs_f64() * 1e3)
}

/// 4 clients sending batches of 1,000 new events for `seconds`; events/s.
async fn ingest(s: &Server, seconds: u64) -> f64 {
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|c| {
            let (http, url, key) = (s.http.clone(), format!("{}/v1/events/batch", s.base), s.key.clone());
            tokio::spawn(async move {
                let mut sent = 0u64;
                let mut n = 0;
                while Instant::now() < end {
                    let now = Utc::now();
                    let events: Vec<Value> = (0..1000)
                        .map(|i| json!({"event_id": format!("in-{c}-{n}-{i}"), "external_customer_id": "bench-1", "feature": "api_calls", "timestamp": now}))
                        .collect();
                    let r = http.post(&url).header("x-api-key", &key).json(&json!({"events": events})).send().await.unwrap();
                    assert!(r.status().is_success(), "ingest: {}", r.status());
                    r.bytes().await.unwrap();
                    sent += 1000;
                    n += 1;
                }
                sent
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// The one text value `sql` reads.
fn text(db: &mut Direct, sql: &str) -> String {
    db.texts(sql).into_iter().next().expect(sql)
}

/// PostgreSQL's own count of how each large table has been read: (table, sequential
/// scans, index scans). Empty on SQLite, which keeps no such statistics.
fn scans(db: &mut Direct) -> Vec<(String, i64, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        relname: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq_scan: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        idx_scan: i64,
    }
    let Direct::Postgres(c) = db else {
        return Vec::new();
    };
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT relname::text AS relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan
               FROM pg_stat_user_tables
              WHERE schemaname = current_schema()
                AND relname IN ('customers', 'invoices', 'usage_rollups')
              ORDER BY relname",
    )
    .load(c)
    .expect("pg_stat_user_tables");
    rows.into_iter()
        .map(|r| (r.relname, r.seq_scan, r.idx_scan))
        .collect()
}

/// 100,000 customers of `tenant`, 10 finalized invoices each and the rollups of 1,000 usage
/// events an hour for 10 hours of the last week each (100,000,000 events). `tag` ("1", "2")
/// keeps the ids and numbers of each load apart; ids keep the ULID shape.
fn load_growth(db: &mut Direct, tenant: &str, tag: &str) {
    let postgres = matches!(db, Direct::Postgres(_));
    let (series, pad, now, hour) = if postgres {
        (
            "generate_series(1, 1000000) g(n)",
            "lpad((((n - 1) % 100000) + 1)::text, 23, '0')",
            "now()",
            "date_trunc('hour', now()) - ((n - 1) / 100000) * interval '16 hours'",
        )
    } else {
        (
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000000) SELECT n FROM s) g",
            "printf('%023d', ((n - 1) % 100000) + 1)",
            "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'",
            "strftime('%Y-%m-%dT%H:00:00.000000Z', 'now', '-' || (((n - 1) / 100000) * 16) || ' hours')",
        )
    };
    let invoice = if postgres {
        "lpad(n::text, 23, '0')"
    } else {
        "printf('%023d', n)"
    };
    db.execute(&format!(
            "INSERT INTO customers (id, tenant_id, external_id, name, email, timezone, metadata, status, created_at, updated_at)
               SELECT 'cus_01{tag}' || {pad}, '{tenant}', 'grow{tag}-' || n, 'Customer ' || n,
                      'user' || n || '@grow{tag}.test', 'UTC', '{{}}', 'active', {now}, {now}
                 FROM {series} WHERE n <= 100000;
             INSERT INTO invoices (id, tenant_id, customer_id, number, status, payment_status, currency, lines,
                 subtotal, total, total_minor, amount_paid, issued_at, created_at, updated_at)
               SELECT 'inv_01{tag}' || {invoice}, '{tenant}', 'cus_01{tag}' || {pad}, 'G{tag}-' || {invoice},
                      'finalized', 'unpaid', 'USD',
                      '[{{\"description\":\"API calls\",\"quantity\":\"1000\",\"unit_amount\":\"0.01\",\"amount\":\"10.00\"}}]',
                      10, 10, 1000, 0, {now}, {now}, {now}
                 FROM {series};
             INSERT INTO usage_rollups (tenant_id, customer_id, feature_key, hour, events, quantity_sum, quantity_max)
               SELECT '{tenant}', 'cus_01{tag}' || {pad}, 'api_calls', {hour}, 100, 100, 1
                 FROM {series};"
    ));
    // What autovacuum does after a load this size; the planner's statistics.
    if postgres {
        db.execute("ANALYZE customers; ANALYZE invoices; ANALYZE usage_rollups;");
    }
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let grow = args.iter().any(|a| a == "--grow");
    args.retain(|a| a != "--grow");
    let postgres = args.get(1).map(String::as_str) != Some("sqlite");
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(32);
    // Only the paths whose name contains this (for profiling one path); no pgbench, no ingestion.
    let only = args.get(4).cloned();

    let data_dir = tempfile::tempdir().unwrap();
    let pg = if postgres {
        Some(pg_schema("bench").expect("set TEST_DATABASE_URL for postgres"))
    } else {
        None
    };
    let database_url = match &pg {
        Some((url, ..)) => url.clone(),
        None => format!("sqlite://{}", data_dir.path().join("portal.db").display()),
    };
    let server = start_server(&database_url, data_dir.path());
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss = server.rss_kib();
    let (cus, token, wal, inv) = seed(&server).await;

    let ceiling = match only {
        None => pgbench(seconds, connections),
        Some(_) => None,
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "backend={} connections={connections} seconds={seconds} cores={cores}",
        if postgres { "postgres" } else { "sqlite" }
    );
    match &ceiling {
        Some(c) => println!(
            "pgbench -S -c{connections} -j2 (scale 10): {:.0} TPS; CPU per transaction: \
             PostgreSQL {:.0} µs, pgbench {:.0} µs; at half that rate a request may cost the \
             machine {:.0} µs of CPU in all (load generator included)",
            c.tps,
            c.db_us,
            c.client_us,
            cores as f64 * 1e6 / (c.tps / 2.0)
        ),
        None => println!("pgbench: not run, no ratios"),
    }
    if let Some(c) = &ceiling {
        println!(
            "pgbench -N -c{connections} -j2 (writes: update, select, insert, commit): {:.0} TPS",
            c.write_tps
        );
    }
    let session = ("X-Session-Token", token.as_str());
    let admin = ("x-api-key", server.key.as_str());
    let check = format!(r#"{{"customer_id": "{cus}", "feature": "api_calls"}}"#);
    let consume = format!(
        r#"{{"customer_id": "{cus}", "feature": "api_calls", "consume": true, "event_id": "bench-{{n}}"}}"#
    );
    let consume_many = r#"{"customer_id": "{c}", "feature": "api_calls", "consume": true, "event_id": "bench-{n}"}"#.to_owned();
    let paths: Vec<BenchPath<'_>> = vec![
        (
            "portal: session",
            "/v1/portal/session".into(),
            session,
            None,
        ),
        (
            "portal: invoices, page of 20",
            "/v1/portal/invoices?limit=20".into(),
            session,
            None,
        ),
        (
            "portal: invoice detail",
            format!("/v1/portal/invoices/{inv}"),
            session,
            None,
        ),
        (
            "portal: wallet transactions, 20",
            format!("/v1/portal/wallets/{wal}/transactions?limit=20"),
            session,
            None,
        ),
        (
            "portal: overview",
            "/v1/portal/overview".into(),
            session,
            None,
        ),
        (
            "admin: customer by id",
            format!("/v1/customers/{cus}"),
            admin,
            None,
        ),
        (
            "admin: entitlement check",
            "/v1/entitlements/check".into(),
            admin,
            Some(check),
        ),
        (
            "admin: check and consume",
            "/v1/entitlements/check".into(),
            admin,
            Some(consume),
        ),
        (
            "admin: consume, 32 customers",
            "/v1/entitlements/check".into(),
            admin,
            Some(consume_many),
        ),
        ("readyz (one SELECT 1)", "/readyz".into(), admin, None),
        ("healthz (no database)", "/healthz".into(), admin, None),
    ];
    println!(
        "{:34} {:>9} {:>7} {:>16} {:>25} {:>17}",
        "path", "req/s", "ratio", "wrk p50/p99 ms", "at half: p50/p99/max ms", "CPU µs server/db"
    );
    let server_pid = server.child.id().to_string();
    let mut read_rss = 0;
    let mut small = Vec::new();
    for (name, path, header, body) in &paths {
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let url = format!("{}{path}", server.base);
        let (srv0, db0) = (cpu_seconds(&server_pid), postgres_cpu_seconds());
        let (w, rss) = peak_rss(server.child.id(), async {
            wrk(&url, *header, body.as_deref(), seconds, connections)
        })
        .await;
        let per_request = |cpu: f64| cpu * 1e6 / w.requests.max(1.0);
        let server_us = per_request(cpu_seconds(&server_pid) - srv0);
        // SQLite runs inside the server: its work is in the server's figure.
        let db_us = match postgres {
            true => format!("{:.0}", per_request(postgres_cpu_seconds() - db0)),
            false => "-".to_owned(),
        };
        read_rss = read_rss.max(rss);
        small.push(w.rps);
        // The two references are not product paths, and the framework's ceiling is beyond what
        // this client can pace.
        let (p50, p99, max) = match path.as_str() {
            _ if grow => (f64::NAN, f64::NAN, f64::NAN),
            "/healthz" | "/readyz" => (f64::NAN, f64::NAN, f64::NAN),
            _ => {
                paced(
                    &url,
                    *header,
                    body.as_deref(),
                    w.rps / 2.0,
                    seconds,
                    connections,
                )
                .await
            }
        };
        let ratio = ceiling
            .as_ref()
            .map_or("-".to_owned(), |c| format!("{:.2}×", w.rps / c.tps));
        println!(
            "{name:34} {:>9.0} {ratio:>7} {:>7.2} / {:>6.2} {:>8.2} / {:>5.2} / {:>6.1} {:>9.0} / {db_us:>5}{}",
            w.rps, w.p50_ms, w.p99_ms, p50, p99, max, server_us, w.errors
        );
        if let (Some(c), true) = (
            &ceiling,
            body.as_deref()
                .is_some_and(|b| b.contains("\"consume\": true")),
        ) {
            println!(
                "{:34} {:>9} {:>7.2}× of pgbench -N (writes)",
                "",
                "",
                w.rps / c.write_tps
            );
        }
    }
    if only.is_some() {
        return;
    }
    if grow {
        let mut db = Direct::open(&database_url);
        let tenant = text(
            &mut db,
            &format!("SELECT tenant_id AS v FROM customers WHERE id = '{cus}'"),
        );
        db.execute(&format!(
            "INSERT INTO tenants (id, name, created_at) VALUES ('ten_01grown', 'Another account', {})",
            if postgres { "now()" } else { "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'" }
        ));
        for (tag, owner, whose) in [
            ("1", "ten_01grown", "another account"),
            ("2", tenant.as_str(), "the same account"),
        ] {
            let started = Instant::now();
            load_growth(&mut db, owner, tag);
            let took = started.elapsed().as_secs_f64();
            println!("\nloaded into {whose} in {took:.0} s");
            let before = scans(&mut db);
            println!("{:34} {:>9} {:>9}", "path", "req/s", "of small");
            for ((name, path, header, body), base) in paths.iter().zip(&small) {
                let w = wrk(
                    &format!("{}{path}", server.base),
                    *header,
                    body.as_deref(),
                    seconds,
                    connections,
                );
                println!(
                    "{name:34} {:>9.0} {:>8.0}%{}",
                    w.rps,
                    100.0 * w.rps / base,
                    w.errors
                );
            }
            if postgres {
                // The server's connections report their counts once idle for up to 10 s.
                std::thread::sleep(Duration::from_secs(11));
                for ((table, seq, idx), (_, seq0, idx0)) in scans(&mut db).iter().zip(&before) {
                    println!(
                        "  {table}: {} sequential scans, {} index scans during the reads",
                        seq - seq0,
                        idx - idx0
                    );
                }
            }
            // Counted after the reads: these scans are not theirs.
            let count = |db: &mut Direct, table: &str| {
                let sql = format!(
                    "SELECT CAST(count(*) AS TEXT) AS v FROM {table} WHERE tenant_id = '{owner}'"
                );
                text(db, &sql)
            };
            let (c, i) = (count(&mut db, "customers"), count(&mut db, "invoices"));
            let events = text(&mut db, &format!(
                "SELECT CAST(sum(events) AS TEXT) AS v FROM usage_rollups WHERE tenant_id = '{owner}'"
            ));
            println!("{whose} now has {c} customers, {i} invoices, rollups of {events} events");
        }
        drop(server);
        if let Some((_, admin, schema)) = pg {
            drop_schema(&admin, &schema);
        }
        return;
    }
    let (gen0, srv0, t0) = (
        cpu_seconds("self"),
        cpu_seconds(&server_pid),
        Instant::now(),
    );
    let (rate, ingest_rss) = peak_rss(server.child.id(), ingest(&server, seconds)).await;
    let machine = t0.elapsed().as_secs_f64() * cores as f64;
    let share = |cpu: f64| 100.0 * cpu / machine;
    println!(
        "ingestion, 4 clients × batches of 1,000: {rate:.0} events/s \
         (CPU of the machine: load generator {:.0}%, server {:.0}%)",
        share(cpu_seconds("self") - gen0),
        share(cpu_seconds(&server_pid) - srv0)
    );
    println!(
        "server RSS: idle {:.1} MB, reads {:.1} MB, ingestion {:.1} MB",
        idle_rss as f64 / 1024.0,
        read_rss as f64 / 1024.0,
        ingest_rss as f64 / 1024.0
    );
    drop(server);
    if let Some((_, admin, schema)) = pg {
        drop_schema(&admin, &schema);
    }
}
