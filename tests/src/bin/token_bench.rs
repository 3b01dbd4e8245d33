//! Micro-benchmark of the portal token check:
//!
//!   cargo run --release -p tests --bin token-bench -- [sqlite|postgres] [iterations]
//!
//! 1. `verify`: PASETO v4.local decryption and claim checks alone (pure CPU).
//! 2. `authenticate`: verify + loading and checking the session row, as every portal request
//!    does, through the domain service against the chosen database (includes the round trip).
//! 3. The API-key check every admin request makes (digest, lookup by prefix, compare).
//!
//! Each line gives the wall time and this thread's CPU time per check, in user space (the check
//! itself: decryption, digest, building the query, TLS, decoding the row) and in the kernel
//! (the socket calls, and putting the thread to sleep and waking it for each round trip). The
//! database's own work and the wait for it are not in either.

use std::time::Instant;

use chrono::{Duration, Utc};
use domain::portal_session::{CustomerRef, NewSession, TokenClaims, TokenCodec};
use tests::{Backend, TestServer};

/// This thread's CPU time so far, in seconds: (user, kernel).
#[expect(unsafe_code, reason = "getrusage is a C function")]
fn thread_cpu() -> (f64, f64) {
    // SAFETY: getrusage writes into the struct we own; all-zero is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD asks for this thread; `usage` is ours to write.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

/// Runs `f` `n` times and prints a row: wall, user CPU and kernel CPU in µs per run.
fn measure(name: &str, n: u32, mut f: impl FnMut()) {
    let (t, (user, sys)) = (Instant::now(), thread_cpu());
    for _ in 0..n {
        f();
    }
    let (user2, sys2) = thread_cpu();
    let per = |s: f64| s * 1e6 / n as f64;
    println!(
        "{name:42} {:>9.2} {:>9.2} {:>9.2}",
        per(t.elapsed().as_secs_f64()),
        per(user2 - user),
        per(sys2 - sys)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let n: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20_000);

    let dir = tempfile::tempdir().unwrap();
    let codec =
        api::tokens::PasetoCodec::load(Some(&api::tokens::PasetoCodec::generate_key()), dir.path())
            .unwrap();
    let claims = TokenClaims {
        session_id: "ps_01jd3x6v9f5m2q8r7t4w0y1z3a".into(),
        tenant_id: "ten_01jd3x6v9f5m2q8r7t4w0y1z3a".into(),
        customer_id: "cus_01jd3x6v9f5m2q8r7t4w0y1z3a".into(),
        expires_at: Utc::now() + Duration::hours(1),
    };
    let token = codec.mint(&claims).unwrap();
    println!(
        "token length {} bytes, {n} sequential checks each",
        token.len()
    );
    println!(
        "{:42} {:>9} {:>9} {:>9}",
        "check (µs per check)", "wall", "user CPU", "kernel"
    );
    measure("token: verify (decrypt + claims)", n, || {
        std::hint::black_box(
            codec
                .verify(std::hint::black_box(&token), Utc::now())
                .unwrap(),
        );
    });

    let server = TestServer::start(backend).expect("set TEST_DATABASE_URL for postgres");
    let portal = server.state.portal.clone();
    let who = server.state.api_keys.authenticate(&server.key).unwrap();
    let customer = server
        .state
        .customers
        .create(
            &who.tenant_id,
            domain::customer::NewCustomer {
                name: "Bench".into(),
                ..Default::default()
            },
        )
        .unwrap();
    // Without an idle timeout a check only reads; with one it records each use (a write).
    let session = |idle: Option<i64>| {
        portal
            .create(
                &who,
                NewSession {
                    idle_timeout_seconds: idle,
                    invalidate_existing: false,
                    ..NewSession::new(CustomerRef::Id(customer.id.clone().into()))
                },
            )
            .unwrap()
            .token
    };
    let (plain, idle) = (session(None), session(Some(3600)));
    measure(&format!("token + session row ({backend:?})"), n, || {
        std::hint::black_box(portal.authenticate(&plain, &|_| true).unwrap());
    });
    measure(
        &format!("  with an idle timeout: + write ({backend:?})"),
        n,
        || {
            std::hint::black_box(portal.authenticate(&idle, &|_| true).unwrap());
        },
    );
    let keys = server.state.api_keys.clone();
    measure(
        &format!("API key: digest + key row ({backend:?})"),
        n,
        || {
            std::hint::black_box(keys.authenticate(&server.key).unwrap());
        },
    );
}
