//! Three replicas of the real `portal-api` on one PostgreSQL under mixed load, one of them
//! `kill -9`'d and restarted at a steady beat, behind a round-robin client:
//! - admin writes (customers, each with a portal link e-mailed to them), every request with an
//!   Idempotency-Key and sent again to the next replica until one answers;
//! - usage ingestion (batches of 200 events, resent until acknowledged);
//! - a customer's portal (dashboard and bills), read without pause;
//! - billing on a test clock: 20 daily subscriptions paid from wallets, the clock advanced a day
//!   at a time and run by the replicas' billing workers;
//! - webhooks of every change to a local receiver, e-mails to a local SMTP server.
//!
//! Afterwards: no replica ever answered 5xx; everything acknowledged is stored (customers,
//! events); no renewal, payment, webhook event or e-mail is doubled (a message sent again by a
//! replica killed before it could record the send carries the same `webhook-id` / `Message-ID`);
//! every event and e-mail arrived.
//!
//! `CHAOS_SECONDS` (default 60) and `CHAOS_KILL_EVERY_SECONDS` (default 15) set the run; the
//! figures in docs/operations.md come from `CHAOS_SECONDS=600 CHAOS_KILL_EVERY_SECONDS=60`.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;
#[path = "../../tests/src/receiver.rs"]
#[allow(
    dead_code,
    reason = "the tests crate's helper; these tests use part of it"
)]
mod receiver;
#[path = "../../tests/src/smtp.rs"]
#[allow(
    dead_code,
    reason = "the tests crate's helper; these tests use part of it"
)]
mod smtp;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{pg_schema, Process, KEY};

const CLOCK_CUSTOMERS: usize = 20;
const START: &str = "2027-01-01T00:00:00Z";

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// What the client saw, across every task.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    /// Connection refused or cut: the replica was down or died mid-request.
    unreachable: AtomicUsize,
    server_errors: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    bases: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    seen: Arc<Seen>,
}

impl Client {
    /// Sends until a replica answers with something other than 409 (the key still in
    /// progress) or a refused connection, each attempt to the next replica. A 5xx is recorded
    /// (and also retried, so the run goes on to show everything else).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: (&str, &str),
        idempotency_key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        loop {
            let base = &self.bases[self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len()];
            let mut rb = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .header(auth.0, auth.1);
            if let Some(k) = idempotency_key {
                rb = rb.header("Idempotency-Key", k);
            }
            if let Some(b) = body {
                rb = rb.json(b);
            }
            self.seen.requests.fetch_add(1, Ordering::Relaxed);
            let answered = match rb.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    r.bytes().await.ok().map(|b| (status, b))
                }
                Err(_) => None,
            };
            match answered {
                Some((status, body)) if status >= 500 => {
                    let text = String::from_utf8_lossy(&body).into_owned();
                    self.seen
                        .server_errors
                        .lock()
                        .unwrap()
                        .push(format!("{method} {path}: {status} {text}"));
                }
                Some((409, _)) => {}
                Some((status, body)) => {
                    return (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
                }
                None => {
                    self.seen.unreachable.fetch_add(1, Ordering::Relaxed);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> Value {
        let (status, v) = self
            .call(
                reqwest::Method::POST,
                path,
                ("x-api-key", KEY),
                Some(key),
                Some(&body),
            )
            .await;
        assert!((200..300).contains(&status), "POST {path}: {status} {v}");
        v
    }

    async fn get(&self, path: &str) -> Value {
        let (status, v) = self
            .call(reqwest::Method::GET, path, ("x-api-key", KEY), None, None)
            .await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    /// Every item of an admin list.
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page = self.get(&format!("{path}{sep}limit=100{cursor}")).await;
            items.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) if page["has_more"] == json!(true) => cursor = format!("&cursor={c}"),
                _ => return items,
            }
        }
    }
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {v}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn three_replicas_under_chaos() {
    let run_for = env_secs("CHAOS_SECONDS", 60);
    let kill_every = env_secs("CHAOS_KILL_EVERY_SECONDS", 15);
    let sink = smtp::SmtpSink::start();
    let hooks = receiver::Receiver::start();
    let token_key = api::tokens::PasetoCodec::generate_key();
    let (admin_url, schema, url) = pg_schema("chaos");
    let smtp_url = sink.url();
    let env: Vec<(&'static str, &str)> = vec![
        ("PORTAL_SMTP_URL", &smtp_url),
        ("PORTAL_MAIL_FROM", "billing@northwind.test"),
        ("PORTAL_MAIL_POLL_MS", "100"),
        ("PORTAL_WEBHOOKS_POLL_MS", "100"),
        ("PORTAL_WEBHOOKS_ALLOW_INSECURE", "true"),
        ("PORTAL_BILLING_INTERVAL_SECS", "1"),
        // The load is one client: the per-node rate limits (docs/operations.md) are off.
        ("PORTAL_RATE_PORTAL_PER_MINUTE", "0"),
        ("PORTAL_RATE_SESSION_CREATE_PER_MINUTE", "0"),
        ("PORTAL_RATE_LOGIN_LINKS_PER_MINUTE", "0"),
        ("PORTAL_RATE_LOGIN_LINKS_PER_EMAIL_PER_HOUR", "0"),
    ];
    let mut servers = vec![Process::start_with(
        Some(url.clone()),
        &token_key,
        Some((admin_url, schema)),
        &env,
    )];
    for _ in 0..2 {
        servers.push(Process::start_with(
            Some(url.clone()),
            &token_key,
            None,
            &env,
        ));
    }
    let (http, bases) = common::ready(&servers).await;
    let client = Client {
        http,
        bases: Arc::new(bases),
        next: Arc::default(),
        seen: Arc::default(),
    };

    // The stage: an endpoint for every event, usage to ingest, a clock with daily subscriptions.
    client
        .post("/v1/webhook_endpoints", "hook", json!({"url": hooks.url}))
        .await;
    client
        .post(
            "/v1/features",
            "feature",
            json!({"key": "calls", "name": "Calls", "unit": "calls", "aggregation": "count",
                   "unit_price": "0.01", "currency": "USD"}),
        )
        .await;
    client
        .post(
            "/v1/customers",
            "ingest",
            json!({"name": "Ingest", "external_id": "ingest"}),
        )
        .await;
    client
        .post(
            "/v1/plans",
            "plan",
            json!({"code": "daily", "name": "Daily", "currency": "USD", "interval": "day", "amount": "1.00"}),
        )
        .await;
    let clock = id(&client
        .post(
            "/v1/test_clocks",
            "clock",
            json!({"frozen_time": START, "name": "chaos"}),
        )
        .await);
    let mut wallets = Vec::new();
    let mut viewer = String::new();
    for i in 0..CLOCK_CUSTOMERS {
        let c = id(&client
            .post(
                "/v1/customers",
                &format!("clock-c-{i}"),
                json!({"name": format!("Clocked {i}"), "test_clock": clock}),
            )
            .await);
        let w = id(&client
            .post(
                "/v1/wallets",
                &format!("clock-w-{i}"),
                json!({"customer_id": c, "currency": "USD"}),
            )
            .await);
        client
            .post(
                &format!("/v1/wallets/{w}/top_up"),
                &format!("clock-t-{i}"),
                json!({"credits": "1000"}),
            )
            .await;
        client
            .post(
                "/v1/subscriptions",
                &format!("clock-s-{i}"),
                json!({"customer_id": c, "plan": "daily", "trial_days": 0, "collection": "wallet"}),
            )
            .await;
        wallets.push(w);
        viewer = c;
    }
    let session = client
        .post(
            "/v1/portal_sessions",
            "session",
            json!({"customer_id": viewer}),
        )
        .await;
    let token = session["token"].as_str().unwrap().to_owned();

    let deadline = Instant::now() + run_for;
    let customers = Arc::new(Mutex::new(Vec::new()));
    let links = Arc::new(Mutex::new(HashSet::new()));
    let acked_events = Arc::new(AtomicUsize::new(0));
    let portal_reads = Arc::new(AtomicUsize::new(0));
    let advanced = Arc::new(AtomicUsize::new(0));

    let writer = {
        let (client, customers, links) = (client.clone(), customers.clone(), links.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < deadline {
                let c = id(&client
                    .post(
                        "/v1/customers",
                        &format!("c-{i}"),
                        json!({"name": format!("Customer {i}"), "email": format!("c{i}@example.com")}),
                    )
                    .await);
                let sent = client
                    .post(
                        &format!("/v1/customers/{c}/portal_link"),
                        &format!("link-{i}"),
                        json!({}),
                    )
                    .await;
                links
                    .lock()
                    .unwrap()
                    .insert(sent["session_id"].as_str().unwrap().to_owned());
                customers.lock().unwrap().push(c);
                i += 1;
            }
        })
    };
    let ingester = {
        let (client, acked) = (client.clone(), acked_events.clone());
        tokio::spawn(async move {
            let mut b = 0;
            while Instant::now() < deadline {
                let events: Vec<Value> = (0..200)
                    .map(|k| json!({"event_id": format!("e-{b}-{k}"), "external_customer_id": "ingest", "feature": "calls"}))
                    .collect();
                let (status, v) = client
                    .call(
                        reqwest::Method::POST,
                        "/v1/events/batch",
                        ("x-api-key", KEY),
                        None,
                        Some(&json!({ "events": events })),
                    )
                    .await;
                assert_eq!(status, 200, "{v}");
                acked.fetch_add(200, Ordering::Relaxed);
                b += 1;
            }
        })
    };
    let reader = {
        let (client, reads, token) = (client.clone(), portal_reads.clone(), token.clone());
        tokio::spawn(async move {
            let paths = ["/v1/portal/overview", "/v1/portal/invoices?limit=20"];
            let mut n = 0;
            while Instant::now() < deadline {
                let (status, v) = client
                    .call(
                        reqwest::Method::GET,
                        paths[n % 2],
                        ("X-Session-Token", &token),
                        None,
                        None,
                    )
                    .await;
                assert_eq!(status, 200, "{v}");
                reads.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        })
    };
    let biller = {
        let (client, advanced, clock) = (client.clone(), advanced.clone(), clock.clone());
        tokio::spawn(async move {
            let start = chrono::DateTime::parse_from_rfc3339(START).unwrap();
            let mut day = 0;
            while Instant::now() < deadline {
                // Waits for the clock to be ready (409 while advancing), then one day more.
                let to = start + chrono::Duration::days(day + 1);
                client
                    .post(
                        &format!("/v1/test_clocks/{clock}/advance"),
                        &format!("advance-{day}"),
                        json!({"to": to.to_rfc3339()}),
                    )
                    .await;
                day += 1;
                advanced.store(usize::try_from(day).unwrap(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };

    // The chaos: a replica killed with SIGKILL and started again, in turn.
    let mut kills = 0;
    while Instant::now() + kill_every < deadline + Duration::from_millis(1) {
        tokio::time::sleep(kill_every).await;
        let victim = &mut servers[kills % 3];
        victim.kill9();
        victim.spawn();
        kills += 1;
    }
    for task in [writer, ingester, reader, biller] {
        task.await.unwrap();
    }
    for s in &servers {
        s.wait_ready(&client.http).await;
    }

    // Quiet: the clock reaches its last target, the outboxes drain.
    let settle = Instant::now() + Duration::from_secs(120);
    loop {
        let c = client.get(&format!("/v1/test_clocks/{clock}")).await;
        let emails = client.all("/v1/emails").await;
        let pending = emails.iter().filter(|e| e["status"] != "sent").count();
        let events = client.all("/v1/webhook_events").await;
        let heard: HashSet<String> = hooks
            .received()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect();
        let unheard = events.iter().filter(|e| !heard.contains(&id(e))).count();
        if c["status"] == "ready" && pending == 0 && unheard == 0 {
            break;
        }
        assert!(
            Instant::now() < settle,
            "did not settle: clock {}, {pending} e-mails and {unheard} events outstanding",
            c["status"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // No replica answered 5xx.
    let errors = client.seen.server_errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "5xx answers: {errors:#?}");

    // Everything acknowledged is stored.
    let created = customers.lock().unwrap().clone();
    let listed: HashSet<String> = client.all("/v1/customers").await.iter().map(id).collect();
    for c in &created {
        assert!(listed.contains(c), "acknowledged customer {c} lost");
    }
    assert_eq!(
        listed.len(),
        created.len() + CLOCK_CUSTOMERS + 1,
        "no customer twice"
    );
    let acked = acked_events.load(Ordering::Relaxed);
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut db = <diesel::PgConnection as diesel::Connection>::establish(&url).unwrap();
    let stored: Vec<Count> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT COUNT(*) AS n FROM usage_events"),
        &mut db,
    )
    .unwrap();
    assert_eq!(
        usize::try_from(stored[0].n).unwrap(),
        acked,
        "acknowledged events stored, once"
    );

    // Renewals and payments: one invoice per subscription and day, each paid once from its
    // wallet, and each wallet down by exactly what was billed.
    let days = advanced.load(Ordering::Relaxed);
    let invoices = client.all("/v1/invoices").await;
    let mut periods: HashMap<(String, String), usize> = HashMap::new();
    for inv in invoices.iter().filter(|i| !i["subscription_id"].is_null()) {
        *periods
            .entry((
                inv["subscription_id"].as_str().unwrap().to_owned(),
                inv["billing_period_start"].to_string(),
            ))
            .or_default() += 1;
        assert_eq!(inv["payment_status"], "paid", "{inv}");
    }
    assert!(periods.values().all(|n| *n == 1), "a period billed twice");
    assert_eq!(
        periods.len(),
        CLOCK_CUSTOMERS * (days + 1),
        "every day billed ({days} advances)"
    );
    let payments = client.all("/v1/payments").await;
    let mut paid: HashMap<String, usize> = HashMap::new();
    for p in payments.iter().filter(|p| p["status"] == "succeeded") {
        *paid
            .entry(p["invoice_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(paid.values().all(|n| *n == 1), "an invoice paid twice");
    for w in &wallets {
        let wallet = client.get(&format!("/v1/wallets/{w}")).await;
        assert_eq!(
            wallet["balance"].as_str().unwrap().parse::<f64>().unwrap(),
            1000.0 - (days + 1) as f64,
            "{w}"
        );
    }

    // Webhook events: one per change, every one heard; a repeat carries the same webhook-id.
    let events = client.all("/v1/webhook_events").await;
    let mut per_change: HashMap<(String, String), usize> = HashMap::new();
    for e in &events {
        // `customer.created` carries `customer_id`, `invoice.finalized` `invoice_id`, …
        let kind = e["type"].as_str().unwrap();
        let object = kind.split('.').next().unwrap();
        let object = e["payload"]["data"][format!("{object}_id")].as_str();
        if let Some(object) = object {
            *per_change
                .entry((e["type"].as_str().unwrap().to_owned(), object.to_owned()))
                .or_default() += 1;
        }
    }
    let created_events = per_change
        .iter()
        .filter(|((t, _), _)| t == "customer.created")
        .count();
    assert_eq!(
        created_events,
        listed.len(),
        "one customer.created per customer"
    );
    assert!(
        per_change
            .iter()
            .filter(|((t, _), _)| t.ends_with(".created") || t == "invoice.finalized")
            .all(|(_, n)| *n == 1),
        "an event doubled"
    );
    let deliveries = hooks.received().len();

    // E-mails: one per link asked for, each sent; copies share a Message-ID.
    let emails = client.all("/v1/emails").await;
    let sources: HashSet<String> = emails
        .iter()
        .map(|e| e["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sources, *links.lock().unwrap(), "one message per link");
    let received = sink.settle(emails.len(), Duration::from_millis(500));
    let ids: HashSet<&str> = received
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), emails.len(), "no message outside the outbox");

    eprintln!(
        "chaos: {:?} with a kill every {:?}: {kills} kills; {} requests ({} refused while a replica was down), \
         0 5xx; {} customers and e-mails, {acked} events, {} portal reads, {days} clock days \
         ({} renewals, each paid once); {} webhook events, {} deliveries ({} repeated); \
         {} e-mails, {} transmissions ({} repeated)",
        run_for,
        kill_every,
        client.seen.requests.load(Ordering::Relaxed),
        client.seen.unreachable.load(Ordering::Relaxed),
        created.len(),
        portal_reads.load(Ordering::Relaxed),
        periods.len(),
        events.len(),
        deliveries,
        deliveries - events.len(),
        emails.len(),
        received.len(),
        received.len() - ids.len(),
    );
}
