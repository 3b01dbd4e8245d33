//! Micro-benchmark of the portal token check:
//!
//!   cargo run --release -p tests --bin token-bench -- [sqlite|postgres] [iterations]
//!
//! 1. `verify`: PASETO v4.local decryption and claim checks alone (pure CPU).
//! 2. `authenticate`: verify + loading and checking the session row, as every portal request
//!    does, through the domain service against the chosen database (includes the round trip).
//! 3. The API-key check every admin request makes (digest, lookup by prefix, compare).
//!
//! Each line gives the wall time and this thread's CPU time per check: the CPU is what a check
//! costs the server (the database's own work and the wait for it are not in it).

use std::time::Instant;

use chrono::{Duration, Utc};
use domain::portal_session::{CustomerRef, NewSession, TokenClaims, TokenCodec};
use tests::{Backend, TestServer};

/// This thread's CPU time so far.
fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` `n` times; (wall µs, CPU µs) per run.
fn measure(n: u32, mut f: impl FnMut()) -> (f64, f64) {
    let (t, cpu) = (Instant::now(), thread_cpu());
    for _ in 0..n {
        f();
    }
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    (per(t.elapsed()), per(thread_cpu() - cpu))
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
    let (wall, cpu) = measure(n, || {
        std::hint::black_box(
            codec
                .verify(std::hint::black_box(&token), Utc::now())
                .unwrap(),
        );
    });
    println!(
        "token length {} bytes, {n} sequential checks each",
        token.len()
    );
    println!("{:46} {:>10} {:>10}", "check", "wall µs", "CPU µs");
    println!(
        "{:46} {wall:>10.2} {cpu:>10.2}",
        "token: verify (decrypt + claims)"
    );

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
    let created = portal
        .create(
            &who,
            NewSession {
                idle_timeout_seconds: Some(3600),
                ..NewSession::new(CustomerRef::Id(customer.id.into()))
            },
        )
        .unwrap();
    let (wall, cpu) = measure(n, || {
        std::hint::black_box(portal.authenticate(&created.token, &|_| true).unwrap());
    });
    let name = format!("token + session row ({backend:?})");
    println!("{name:46} {wall:>10.2} {cpu:>10.2}");
    let keys = server.state.api_keys.clone();
    let (wall, cpu) = measure(n, || {
        std::hint::black_box(keys.authenticate(&server.key).unwrap());
    });
    let name = format!("API key: digest + key row ({backend:?})");
    println!("{name:46} {wall:>10.2} {cpu:>10.2}");
}
