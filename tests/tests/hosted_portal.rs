//! The hosted portal's files: served under a strict Content-Security-Policy, and not at all when
//! turned off. What the portal does in a browser is checked in headless Chromium
//! (`tests/contract/portal.ts`).

use tests::{on_both_backends, Backend, Method, TestServer};

on_both_backends!(serves_the_portal_under_a_strict_policy);
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
    assert!(app.contains("sessionStorage.setItem(STORED, t)"));
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
