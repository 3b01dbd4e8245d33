//! Micro-benchmark of the portal token check:
//!
//!   cargo run --release -p tests --bin token-bench -- [sqlite|postgres] [iterations]
//!
//! 1. `verify`: PASETO v4.local decryption and claim checks alone (pure CPU).
//! 2. `authenticate`: verify + loading and checking the session row, as every portal request
//!    does, through the domain service against the chosen database (includes the round trip).

use std::time::Instant;

use chrono::{Duration, Utc};
use domain::portal_session::{CustomerRef, NewSession, TokenClaims, TokenCodec};
use tests::{Backend, TestServer};

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
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            codec
                .verify(std::hint::black_box(&token), Utc::now())
                .unwrap(),
        );
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("token length {} bytes", token.len());
    println!(
        "verify (decrypt + claims)            {verify_us:>8.2} µs/check  ({n} checks, one core)"
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
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(portal.authenticate(&created.token, &|_| true).unwrap());
    }
    let auth_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("authenticate (verify + session row), {backend:?}  {auth_us:>8.2} µs/check  ({n} checks, sequential)");
}
