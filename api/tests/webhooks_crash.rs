//! Webhooks across `kill -9` and replicas, with the real `portal-api` process. Changes commit
//! while no worker runs, the process is killed with SIGKILL before sending anything, and a
//! restarted one sends every event exactly once. Two processes on one PostgreSQL, both running
//! the worker, send each event once between them.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::{self, Bytes, Data};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use serde_json::json;

use common::{pg_schema, until_answered, Process};

/// Counts deliveries by `webhook-id`.
struct Sink {
    url: String,
    seen: Arc<Mutex<HashMap<String, usize>>>,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(
    req: HttpRequest,
    _body: Bytes,
    seen: Data<Mutex<HashMap<String, usize>>>,
) -> HttpResponse {
    let id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    *seen.lock().unwrap().entry(id).or_default() += 1;
    HttpResponse::NoContent().finish()
}

impl Sink {
    fn start() -> Self {
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let data = Data::from(seen.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/hook", web::post().to(receive))
                })
                .workers(2)
                .listen(listener)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        Self {
            url,
            seen,
            handle: rx.recv().unwrap(),
        }
    }

    fn seen(&self) -> HashMap<String, usize> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `n` distinct messages came, then a little more for any repeat.
    async fn settle(&self, n: usize) -> HashMap<String, usize> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.seen().len() < n {
            assert!(
                Instant::now() < deadline,
                "got {} of {n} messages",
                self.seen().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.seen()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

const WORKER_OFF: &[(&str, &str)] = &[
    ("PORTAL_WEBHOOKS_POLL_MS", "0"),
    ("PORTAL_WEBHOOKS_ALLOW_INSECURE", "1"),
];
const WORKER_ON: &[(&str, &str)] = &[
    ("PORTAL_WEBHOOKS_POLL_MS", "20"),
    ("PORTAL_WEBHOOKS_ALLOW_INSECURE", "1"),
];

async fn create_customers(client: &reqwest::Client, bases: &[String], n: usize, tag: &str) {
    for i in 0..n {
        let (status, body) = until_answered(
            client,
            bases,
            "/v1/customers",
            &format!("{tag}-{i}"),
            &json!({"name": format!("Customer {i}"), "external_id": format!("{tag}-{i}")}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
}

/// An endpoint for `customer.created` pointing at the sink.
async fn register(client: &reqwest::Client, bases: &[String], sink: &Sink) {
    let (status, body) = until_answered(
        client,
        bases,
        "/v1/webhook_endpoints",
        "endpoint",
        &json!({"url": sink.url, "event_types": ["customer.created"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn committed_events_survive_kill9(mut server: Process) {
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;
    let sink = Sink::start();
    let bases = vec![server.base()];
    register(&client, &bases, &sink).await;
    create_customers(&client, &bases, 40, "kill").await;
    // Committed, and nothing sent yet: now the process dies without a word.
    server.kill9();
    assert!(sink.seen().is_empty());
    server.set_env(WORKER_ON);
    server.spawn();
    server.wait_ready(&client).await;
    let seen = sink.settle(40).await;
    assert_eq!(seen.len(), 40, "every committed change's event went out");
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(repeated.is_empty(), "sent more than once: {repeated:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill9_between_commit_and_delivery() {
    let token_key = api::tokens::PasetoCodec::generate_key();
    committed_events_survive_kill9(Process::start_with(None, &token_key, None, WORKER_OFF)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres_kill9_between_commit_and_delivery() {
    let (admin_url, schema, url) = pg_schema("hooks");
    let token_key = api::tokens::PasetoCodec::generate_key();
    committed_events_survive_kill9(Process::start_with(
        Some(url),
        &token_key,
        Some((admin_url, schema)),
        WORKER_OFF,
    ))
    .await;
}

/// Two replicas, both sending: each event reaches the receiver once (claims skip the rows the
/// other holds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
async fn postgres_two_replicas_send_each_event_once() {
    let (admin_url, schema, url) = pg_schema("hooks");
    let token_key = api::tokens::PasetoCodec::generate_key();
    let servers = [
        Process::start_with(
            Some(url.clone()),
            &token_key,
            Some((admin_url, schema)),
            WORKER_ON,
        ),
        Process::start_with(Some(url), &token_key, None, WORKER_ON),
    ];
    let client = reqwest::Client::new();
    for s in &servers {
        s.wait_ready(&client).await;
    }
    let sink = Sink::start();
    let bases: Vec<String> = servers.iter().map(Process::base).collect();
    register(&client, &bases, &sink).await;
    // Four clients, requests alternating between the replicas.
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, mut bases) = (client.clone(), bases.clone());
        bases.rotate_left(c % 2);
        clients.push(tokio::spawn(async move {
            create_customers(&client, &bases, 75, &format!("replica-{c}")).await
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    let seen = sink.settle(300).await;
    assert_eq!(seen.len(), 300);
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(repeated.is_empty(), "sent more than once: {repeated:?}");
}
