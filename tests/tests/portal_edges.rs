//! Browser access (CORS) and rate limits of portal routes.

use serde_json::json;
use tests::{on_both_backends, send, Backend, Method, TestServer};

on_both_backends!(start = server; cors_allows_only_configured_origins, rate_limits_answer_429_with_retry_after);

fn server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.cors_origins = "https://billing.shop.test, http://localhost:3000".into();
        c.limits.session_create_per_minute = 3;
        c.limits.exchange_per_minute = 2;
        c.limits.portal_per_minute = 4;
    })
}

async fn cors_allows_only_configured_origins(s: TestServer) {
    let preflight = |origin: &str| {
        s.request(Method::OPTIONS, "/v1/portal/session")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "x-session-token")
    };
    let ok = preflight("https://billing.shop.test").send().await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(
        h.get("access-control-allow-origin").unwrap(),
        "https://billing.shop.test"
    );
    assert!(h
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase()
        .contains("x-session-token"));
    assert!(
        h.get("access-control-allow-credentials").is_none(),
        "no cookies involved"
    );

    let other = preflight("https://evil.test").send().await.unwrap();
    assert!(
        other.headers().get("access-control-allow-origin").is_none(),
        "unknown origins get no CORS grant"
    );

    // Actual portal requests from an allowed origin carry the grant; never `*`.
    let r = s
        .request(Method::GET, "/v1/portal/session")
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("access-control-allow-origin").unwrap(),
        "http://localhost:3000"
    );
    assert_eq!(r.status(), 401);
    // A frontend can read the PDF's file name and the request id.
    let exposed = r
        .headers()
        .get("access-control-expose-headers")
        .map(|v| v.to_str().unwrap().to_lowercase())
        .unwrap_or_default();
    assert!(
        exposed.contains("content-disposition") && exposed.contains("x-request-id"),
        "exposed: {exposed}"
    );
    // Admin routes are not for browsers: no CORS grant at all.
    let admin = s
        .admin(Method::GET, "/v1/customers")
        .header("Origin", "https://billing.shop.test")
        .send()
        .await
        .unwrap();
    assert!(admin.headers().get("access-control-allow-origin").is_none());
}

async fn rate_limits_answer_429_with_retry_after(s: TestServer) {
    let c = send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "Limited"})),
    )
    .await;
    let cid = c.body["id"].as_str().unwrap().to_owned();
    let mut created = Vec::new();
    for _ in 0..3 {
        let r = send(
            s.admin(Method::POST, "/v1/portal_sessions")
                .json(&json!({"customer_id": cid, "invalidate_existing": false})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        created.push(r);
    }
    let over = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": cid})),
    )
    .await;
    over.assert_problem(429, "rate_limited");
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=61).contains(&retry), "Retry-After {retry}");

    // Exchanges per client address.
    let code = |r: &tests::Reply| {
        r.body["url"]
            .as_str()
            .unwrap()
            .split("code=")
            .nth(1)
            .unwrap()
            .to_owned()
    };
    for r in &created[..2] {
        let x = send(
            s.request(Method::POST, "/v1/portal/session/exchange")
                .json(&json!({"code": code(r)})),
        )
        .await;
        assert_eq!(x.status, 200, "{}", x.body);
    }
    send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({"code": code(&created[2])})),
    )
    .await
    .assert_problem(429, "rate_limited");

    // Portal requests per session: one session's burst does not affect another's.
    let t1 = created[0].body["token"].as_str().unwrap();
    let t2 = created[1].body["token"].as_str().unwrap();
    for _ in 0..4 {
        assert_eq!(
            send(s.portal(Method::GET, "/v1/portal/session", t1))
                .await
                .status,
            200
        );
    }
    send(s.portal(Method::GET, "/v1/portal/session", t1))
        .await
        .assert_problem(429, "rate_limited");
    assert_eq!(
        send(s.portal(Method::GET, "/v1/portal/session", t2))
            .await
            .status,
        200
    );
}

/// A configuration that starts (no workers, no CORS, no SMTP) on `dir`: each start-up check
/// below changes the settings it is about.
fn start_config(dir: &std::path::Path) -> api::config::Config {
    api::config::Config {
        database_url: None,
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        bootstrap_api_key: None,
        db_pool_size: 1,
        max_body_bytes: 1024,
        token_key: None,
        url_base: Some("https://x.test".into()),
        hosted_portal: false,
        cors_origins: String::new(),
        event_max_age_days: 35,
        limits: Default::default(),
        workers: None,
        demo: false,
        billing_interval_secs: 0,
        billing_concurrency: 2,
        webhooks_poll_ms: 0,
        webhooks_concurrency: 1,
        webhooks_timeout_secs: 1,
        webhooks_allow_insecure: false,
        smtp_url: None,
        smtp_password: None,
        mail_from: None,
        mail_poll_ms: 0,
        shutdown_timeout_seconds: 30,
        log_format: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cors_configuration_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = start_config(dir.path());
    config.cors_origins = "*".into();
    assert!(api::server::prepare(&config).is_err(), "`*` is refused");
    config.cors_origins = "https://ok.test/path".into();
    assert!(
        api::server::prepare(&config).is_err(),
        "an origin has no path"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_smtp_configuration_is_refused_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = start_config(dir.path());
    config.smtp_url = Some("mail.example.com:25".into());
    config.mail_from = Some("billing@shop.test".into());
    let refusal = |config: &api::config::Config| match api::server::prepare(config) {
        Ok(_) => panic!(
            "{:?} / {:?} must be refused",
            config.smtp_url, config.mail_from
        ),
        Err(e) => e.to_string(),
    };
    assert!(refusal(&config).contains("PORTAL_SMTP_URL"), "not a URL");
    config.smtp_url = Some("ftp://mail.example.com".into());
    assert!(refusal(&config).contains("PORTAL_SMTP_URL"), "not smtp(s)");
    config.smtp_url = Some("smtp://mail.example.com:2525?tls=sometimes".into());
    assert!(
        refusal(&config).contains("PORTAL_SMTP_URL"),
        "an unknown tls mode"
    );
    config.smtp_url = Some("smtp://127.0.0.1:2525".into());
    config.mail_from = None;
    assert!(refusal(&config).contains("PORTAL_MAIL_FROM"), "no sender");
    config.mail_from = Some("billing at shop".into());
    assert!(
        refusal(&config).contains("PORTAL_MAIL_FROM"),
        "not an address"
    );
    config.smtp_password = Some("secret".into());
    config.mail_from = Some("billing@shop.test".into());
    assert!(
        refusal(&config).contains("PORTAL_SMTP_PASSWORD"),
        "no user for it"
    );
    config.smtp_url = Some("smtps://mailer@127.0.0.1:2465".into());
    assert!(api::server::prepare(&config).is_ok(), "a complete setting");
}
