//! The hosted portal's files: served under a strict Content-Security-Policy, and not at all when
//! turned off. What the portal does in a browser is checked in headless Chromium
//! (`tests/contract/portal.ts`).

use tests::{on_both_backends, Backend, Method, TestServer};

on_both_backends!(
    serves_the_portal_under_a_strict_policy,
    only_the_accounts_sites_may_frame_it,
);
on_both_backends!(start = without_portal; can_be_turned_off);

fn without_portal(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| c.hosted_portal = false)
}

async fn get(s: &TestServer, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = s.request(Method::GET, path).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn serves_the_portal_under_a_strict_policy(s: TestServer) {
    // The session URL is `<base>?code=…`, with or without the trailing slash.
    for path in ["/portal/", "/portal", "/portal/?code=abc"] {
        let (status, headers, body) = get(&s, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp} lacks {directive}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        // Assets by absolute path (so `/portal` works too); no inline script or style.
        assert!(body.contains(r#"src="/portal/app.js""#));
        assert!(!body.contains("<script>") && !body.contains(" style="));
    }
    for (path, kind, contains) in [
        ("/portal/app.js", "text/javascript", "X-Session-Token"),
        ("/portal/app.css", "text/css", "--primary"),
        (
            "/portal/vendor/uPlot.iife.min.js",
            "text/javascript",
            "uPlot",
        ),
        ("/portal/vendor/uPlot.LICENSE", "text/plain", "MIT License"),
        // The message catalogues, one per language.
        ("/portal/i18n/en.json", "application/json", "Billing portal"),
        ("/portal/i18n/ar.json", "application/json", "بوابة الفواتير"),
    ] {
        let (status, headers, body) = get(&s, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert!(headers.contains_key("content-security-policy"));
        assert!(body.contains(contains), "{path}");
    }
    let (status, _, _) = get(&s, "/portal/missing.js").await;
    assert_eq!(status, 404);
    // The token never lives in persistent storage, a cookie or the URL: only in the tab's
    // sessionStorage (for a reload of that tab), and no API text is ever parsed as HTML.
    let (_, _, app) = get(&s, "/portal/app.js").await;
    for leak in ["localStorage", "document.cookie", "innerHTML"] {
        assert!(!app.contains(leak), "app.js uses {leak}");
    }
    assert!(app.contains("sessionStorage.setItem(STORED, tok)"));
}

async fn can_be_turned_off(s: TestServer) {
    let r = s.request(Method::GET, "/portal/").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = s
        .request(Method::GET, "/portal/app.js")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// `portal_frame_ancestors` → `frame-ancestors` for the account of the login code in the
/// address (never the account named beside it), or the account named when there is no code;
/// `X-Frame-Options: DENY` only when no site may frame it.
async fn only_the_accounts_sites_may_frame_it(s: TestServer) {
    use serde_json::json;
    use tests::fixtures::{customer, portal_session};
    let bad = tests::send(s.admin(Method::PATCH, "/v1/account").json(&json!({
        "portal_frame_ancestors": ["http://shop.example.com"]})))
    .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.fields(), ["portal_frame_ancestors"]);
    let injected = tests::send(s.admin(Method::PATCH, "/v1/account").json(&json!({
        "portal_frame_ancestors": ["https://shop.example.com; script-src *"]})))
    .await;
    injected.assert_problem(422, "validation_failed");
    let ok = tests::send(s.admin(Method::PATCH, "/v1/account").json(&json!({
        "portal_frame_ancestors": ["https://Shop.Example.com", "https://app.example.com:8443"]})))
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        ok.body["portal_frame_ancestors"],
        json!(["https://shop.example.com", "https://app.example.com:8443"])
    );
    let account = ok.body["id"].as_str().unwrap().to_owned();

    let c = customer(&s, json!({"name": "Ada"})).await;
    let url = portal_session(&s, json!({"customer_id": c})).await.body["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = url.split("code=").nth(1).unwrap().to_owned();
    let allowed = "frame-ancestors https://shop.example.com https://app.example.com:8443";
    // Another account that lets anyone's site frame it.
    let other = s.other_tenant_key();
    let theirs = tests::send(
        s.request(Method::PATCH, "/v1/account")
            .header("x-api-key", &other)
            .json(&json!({"portal_frame_ancestors": ["https://evil.example.net"]})),
    )
    .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    let evil = theirs.body["id"].as_str().unwrap().to_owned();
    for (path, expected) in [
        (format!("/portal/?code={code}"), allowed),
        (format!("/portal/?code={code}&account={evil}"), allowed),
        (format!("/portal/?account={account}"), allowed),
        (format!("/portal/login?account={account}"), allowed),
        (
            format!("/portal/?account={evil}"),
            "frame-ancestors https://evil.example.net",
        ),
        ("/portal/?code=unknown".to_owned(), "frame-ancestors 'none'"),
        (
            "/portal/?account=ten_nope".to_owned(),
            "frame-ancestors 'none'",
        ),
        ("/portal/".to_owned(), "frame-ancestors 'none'"),
    ] {
        let (status, headers, _) = get(&s, &path).await;
        assert_eq!(status, 200, "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.ends_with(expected), "{path}: {csp}");
        assert_eq!(
            headers.contains_key("x-frame-options"),
            expected.ends_with("'none'"),
            "{path}: X-Frame-Options only when no site may frame it"
        );
    }
}
