//! A webhook receiver for tests and benchmarks: an HTTP server on loopback that records every
//! request (to `/hook`, or to any path: an OTLP collector's `/v1/traces`) and answers with the
//! statuses it is told to (200 once those run out).

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web::{self, Bytes, Data};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: DateTime<Utc>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    answers: VecDeque<u16>,
    always: Option<u16>,
}

pub struct Receiver {
    /// Where to point an endpoint (`http://127.0.0.1:<port>/hook`).
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    handle: ServerHandle,
}

async fn hook(req: HttpRequest, body: Bytes, inner: Data<Mutex<Inner>>) -> HttpResponse {
    let at = domain::clock::now();
    let mut inner = inner.lock().unwrap();
    inner.received.push(Received {
        path: req.path().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at,
    });
    let status = inner.answers.pop_front().or(inner.always).unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body(format!("answer {status}"))
}

impl Receiver {
    pub fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let data = Data::from(inner.clone());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(1 << 20))
                        .default_service(web::post().to(hook))
                })
                .workers(2)
                .listen(listener)
                .expect("listen")
                .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("receiver handle");
        Self { url, inner, handle }
    }

    /// The next answers, in order (then 200, or what `always` set).
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().answers.extend(statuses);
    }

    /// Answer every request with `status` once the queued answers run out.
    pub fn always(&self, status: Option<u16>) {
        self.inner.lock().unwrap().always = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// What was received once at least `n` requests came, or panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the receiver got {} of {n} requests",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
