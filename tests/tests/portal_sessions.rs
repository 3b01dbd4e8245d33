//! Portal sessions over HTTP: creation, login-code exchange, the portal identity routes, every
//! rejection path, guards, audit, and races.

use chrono::{Duration, Utc};
use domain::portal_session::{TokenClaims, TokenCodec};
use futures_util::future::join_all;
use serde_json::json;
use tests::fixtures::{portal_session as session, token};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    session_lifecycle,
    login_codes_are_single_use_even_when_raced,
    every_bad_token_is_refused,
    ended_sessions_are_refused,
    guards_sections_permissions_and_preview,
    accounts_and_customers_are_isolated,
    revocation_racing_with_use,
    idle_timeout_is_exact,
    a_session_exists_only_with_its_audit_entry,
    guest_sessions_read_only_the_catalogue_and_the_branding,
);

async fn customer(s: &TestServer, ext: &str) -> String {
    let body = json!({"name": format!("Customer {ext}"), "external_id": ext, "email": format!("{ext}@x.test")});
    tests::fixtures::customer(s, body).await
}

fn code_of(r: &Reply) -> String {
    let url = r.body["url"].as_str().unwrap();
    url.split("code=").nth(1).unwrap().to_owned()
}

async fn whoami(s: &TestServer, token: &str) -> Reply {
    send(s.portal(Method::GET, "/v1/portal/session", token)).await
}

async fn session_lifecycle(s: TestServer) {
    let cid = customer(&s, "acme").await;
    let created = session(
        &s,
        json!({"customer_id": cid, "return_url": "https://shop.test/account", "idle_timeout_seconds": 600,
               "sections": {"payments": {"enabled": false}},
               "permissions": {"profile_update": {"allowed_fields": ["email"]}}}),
    )
    .await;
    let b = &created.body;
    assert!(b["id"].as_str().unwrap().starts_with("ps_"));
    assert_eq!(b["customer_id"], cid.as_str());
    assert_eq!(b["mode"], "customer");
    assert_eq!(b["status"], "active");
    assert_eq!(b["return_url"], "https://shop.test/account");
    assert_eq!(b["sections"]["payments"]["enabled"], false);
    assert_eq!(b["sections"]["invoices"]["enabled"], true);
    let url = b["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://portal.shop.test/login?code="),
        "{url}"
    );
    assert!(
        !url.contains(&token(&created)),
        "the URL never carries the long-lived token"
    );
    let ttl = chrono::DateTime::parse_from_rfc3339(b["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
        - Utc::now();
    assert!(
        ttl > Duration::seconds(3500) && ttl <= Duration::seconds(3600),
        "default one hour"
    );

    // The backend's token works; so does the token the browser gets for the code.
    assert_eq!(whoami(&s, &token(&created)).await.body["id"], b["id"]);
    let exchanged = send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({"code": code_of(&created)})),
    )
    .await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    let browser = exchanged.body["token"].as_str().unwrap().to_owned();
    let me = whoami(&s, &browser).await;
    assert_eq!(me.body["id"], b["id"]);
    assert_eq!(
        me.body["permissions"]["profile_update"]["allowed_fields"],
        json!(["email"])
    );
    assert!(me.body["idle_expires_at"].is_string());

    let profile = send(s.portal(Method::GET, "/v1/portal/customer", &browser)).await;
    assert_eq!(profile.body["id"], cid.as_str());
    assert!(
        profile.body.get("metadata").is_none(),
        "merchant metadata stays private"
    );
    let updated = send(
        s.portal(Method::PATCH, "/v1/portal/customer", &browser)
            .json(&json!({"email": "new@x.test"})),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        send(s.admin(Method::GET, &format!("/v1/customers/{cid}")))
            .await
            .body["email"],
        "new@x.test"
    );
    // Validation still applies to allowed fields, and changes nothing.
    send(
        s.portal(Method::PATCH, "/v1/portal/customer", &browser)
            .json(&json!({"email": "nope"})),
    )
    .await
    .assert_problem(422, "validation_failed");

    // Listed as open; logout ends it for every token of the session.
    let open = send(s.admin(
        Method::GET,
        &format!("/v1/portal_sessions?customer_id={cid}"),
    ))
    .await;
    assert_eq!(open.body["data"].as_array().unwrap().len(), 1);
    assert!(open.body["data"][0].get("token").is_none());
    let out = send(s.portal(Method::DELETE, "/v1/portal/session", &browser)).await;
    assert_eq!(out.status, 204);
    whoami(&s, &browser)
        .await
        .assert_problem(401, "session_revoked");
    whoami(&s, &token(&created))
        .await
        .assert_problem(401, "session_revoked");
    let open = send(s.admin(
        Method::GET,
        &format!("/v1/portal_sessions?customer_id={cid}"),
    ))
    .await;
    assert_eq!(open.body["data"].as_array().unwrap().len(), 0);

    // The audit log tells the story, newest first, without secrets.
    let audit = send(s.admin(Method::GET, &format!("/v1/audit_events?customer_id={cid}"))).await;
    let actions: Vec<&str> = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "portal_session.token_rejected",
            "portal_session.token_rejected",
            "portal_session.logged_out",
            "customer.profile_updated",
            "portal_session.exchanged",
            "portal_session.created"
        ]
    );
    assert!(!audit.body.to_string().contains(&browser));
    let created_event = &audit.body["data"][5];
    assert!(created_event["actor"]
        .as_str()
        .unwrap()
        .starts_with("api_key:key_"));

    // The Flexprice-compatible shortcut.
    let link = send(s.admin(Method::GET, "/v1/customers/portal/acme")).await;
    assert_eq!(link.status, 200, "{}", link.body);
    assert!(link.body["url"].as_str().unwrap().contains("code="));
    assert_eq!(
        whoami(&s, link.body["token"].as_str().unwrap()).await.body["customer_id"],
        cid.as_str()
    );
    send(s.admin(Method::GET, "/v1/customers/portal/nobody"))
        .await
        .assert_problem(404, "customer_not_found");

    // Idempotent creation.
    let body = json!({"external_customer_id": "acme", "invalidate_existing": false});
    let one = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .header("Idempotency-Key", "ps-1")
            .json(&body),
    )
    .await;
    let two = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .header("Idempotency-Key", "ps-1")
            .json(&body),
    )
    .await;
    assert_eq!(one.body["id"], two.body["id"]);
    assert_eq!(two.header("idempotent-replayed"), Some("true"));

    // Bad input.
    for bad in [
        json!({}),
        json!({"customer_id": cid, "external_customer_id": "acme"}),
        json!({"customer_id": cid, "expires_in_seconds": 86401}),
        json!({"customer_id": cid, "idle_timeout_seconds": 10}),
        json!({"customer_id": cid, "return_url": "javascript:alert(1)"}),
        json!({"customer_id": cid, "mode": "god"}),
        json!({"customer_id": cid, "permissions": {"profile_update": {"allowed_fields": ["metadata"]}}}),
    ] {
        send(s.admin(Method::POST, "/v1/portal_sessions").json(&bad))
            .await
            .assert_problem(422, "validation_failed");
    }
}

async fn login_codes_are_single_use_even_when_raced(s: TestServer) {
    let cid = customer(&s, "raced").await;
    let created = session(&s, json!({"customer_id": cid})).await;
    let code = code_of(&created);
    let racers = (0..16).map(|_| {
        send(
            s.request(Method::POST, "/v1/portal/session/exchange")
                .json(&json!({"code": code})),
        )
    });
    let replies = join_all(racers).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one exchange wins");
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_problem(401, "invalid_login_code");
    }
    // And later: still used.
    send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({"code": code})),
    )
    .await
    .assert_problem(401, "invalid_login_code");
    send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({"code": "made-up"})),
    )
    .await
    .assert_problem(401, "invalid_login_code");
    // An expired code is refused even if unused.
    let other = session(&s, json!({"customer_id": cid})).await;
    s.execute_sql(
        "UPDATE portal_sessions SET login_code_expires_at = '2000-01-01T00:00:00.000000Z'",
    );
    send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({"code": code_of(&other)})),
    )
    .await
    .assert_problem(401, "invalid_login_code");
}

async fn every_bad_token_is_refused(s: TestServer) {
    let cid = customer(&s, "tok").await;
    let created = session(&s, json!({"customer_id": cid})).await;
    let good = token(&created);

    send(s.request(Method::GET, "/v1/portal/session"))
        .await
        .assert_problem(401, "invalid_token");
    whoami(&s, "garbage")
        .await
        .assert_problem(401, "invalid_token");
    // Flip one character in the middle of the token.
    let mut bytes = good.clone().into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    whoami(&s, &String::from_utf8(bytes).unwrap())
        .await
        .assert_problem(401, "invalid_token");

    // Well-formed claims for a real session, sealed with another key: refused.
    let claims = TokenClaims {
        session_id: created.body["id"].as_str().unwrap().into(),
        tenant_id: s.state.api_keys.tenant_ids().unwrap()[0].clone(),
        customer_id: cid.clone(),
        expires_at: Utc::now() + Duration::hours(1),
    };
    let dir = tempfile::tempdir().unwrap();
    let foreign =
        api::tokens::PasetoCodec::load(Some(&api::tokens::PasetoCodec::generate_key()), dir.path())
            .unwrap();
    whoami(&s, &foreign.mint(&claims).unwrap())
        .await
        .assert_problem(401, "invalid_token");

    // The server's own key but an expired token: session_expired.
    let own = api::tokens::PasetoCodec::load(Some(&s.token_key), dir.path()).unwrap();
    let stale = own
        .mint(&TokenClaims {
            expires_at: Utc::now() - Duration::seconds(1),
            ..claims.clone()
        })
        .unwrap();
    whoami(&s, &stale)
        .await
        .assert_problem(401, "session_expired");
    // A token naming a session that does not exist.
    let ghost = own
        .mint(&TokenClaims {
            session_id: "ps_01jd3x6v9f5m2q8r7t4w0y1z3a".into(),
            ..claims.clone()
        })
        .unwrap();
    whoami(&s, &ghost)
        .await
        .assert_problem(401, "invalid_token");
    // A token claiming another customer for a real session.
    let liar = own
        .mint(&TokenClaims {
            customer_id: "cus_01jd3x6v9f5m2q8r7t4w0y1z3a".into(),
            ..claims
        })
        .unwrap();
    whoami(&s, &liar).await.assert_problem(401, "invalid_token");
    // An admin key is not a session token, and a session token is not an admin key.
    whoami(&s, &s.key)
        .await
        .assert_problem(401, "invalid_token");
    send(
        s.request(Method::GET, "/v1/customers")
            .header("x-api-key", &good),
    )
    .await
    .assert_problem(401, "unauthorized");
    // The good one still works.
    assert_eq!(whoami(&s, &good).await.status, 200);
}

async fn ended_sessions_are_refused(s: TestServer) {
    let cid = customer(&s, "ends").await;

    // Superseded: a newer session ends the older one (default invalidate_existing).
    let first = token(&session(&s, json!({"customer_id": cid})).await);
    let second = token(&session(&s, json!({"customer_id": cid})).await);
    whoami(&s, &first)
        .await
        .assert_problem(401, "session_revoked");
    assert_eq!(whoami(&s, &second).await.status, 200);
    // Unless asked to keep them.
    let third = token(
        &session(
            &s,
            json!({"customer_id": cid, "invalidate_existing": false}),
        )
        .await,
    );
    assert_eq!(whoami(&s, &second).await.status, 200);
    assert_eq!(whoami(&s, &third).await.status, 200);

    // Revoked by the merchant.
    let id = whoami(&s, &third).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = send(s.admin(Method::DELETE, &format!("/v1/portal_sessions/{id}"))).await;
    assert_eq!(r.body["status"], "revoked");
    whoami(&s, &third)
        .await
        .assert_problem(401, "session_revoked");
    assert_eq!(
        send(s.admin(Method::DELETE, &format!("/v1/portal_sessions/{id}")))
            .await
            .status,
        200,
        "idempotent"
    );
    send(s.admin(Method::DELETE, "/v1/portal_sessions/ps_nope"))
        .await
        .assert_problem(404, "portal_session_not_found");

    // Expired (the row decides, whatever the token says).
    let expiring = token(
        &session(
            &s,
            json!({"customer_id": cid, "invalidate_existing": false}),
        )
        .await,
    );
    let eid = whoami(&s, &expiring).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.execute_sql(&format!(
        "UPDATE portal_sessions SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{eid}'"
    ));
    whoami(&s, &expiring)
        .await
        .assert_problem(401, "session_expired");

    // Idle-expired: unused for longer than its idle timeout.
    let idle = token(
        &session(
            &s,
            json!({"customer_id": cid, "invalidate_existing": false, "idle_timeout_seconds": 120}),
        )
        .await,
    );
    let iid = whoami(&s, &idle).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.execute_sql(&format!("UPDATE portal_sessions SET last_seen_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{iid}'"));
    whoami(&s, &idle)
        .await
        .assert_problem(401, "session_expired");

    // Archiving the customer ends access, and no new session can be made.
    assert_eq!(whoami(&s, &second).await.status, 200);
    send(s.admin(Method::POST, &format!("/v1/customers/{cid}/archive"))).await;
    whoami(&s, &second)
        .await
        .assert_problem(401, "session_revoked");
    send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": cid})),
    )
    .await
    .assert_problem(409, "customer_archived");

    let rejected = send(s.admin(
        Method::GET,
        "/v1/audit_events?action=portal_session.token_rejected&limit=100",
    ))
    .await;
    let reasons: Vec<&str> = rejected.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["reason"].as_str().unwrap())
        .collect();
    for reason in [
        "superseded",
        "revoked",
        "expired",
        "idle_expired",
        "customer_archived",
    ] {
        assert!(
            reasons.contains(&reason),
            "{reason} not audited: {reasons:?}"
        );
    }
}

async fn guards_sections_permissions_and_preview(s: TestServer) {
    let cid = customer(&s, "guard").await;
    let no_profile = token(&session(&s, json!({"customer_id": cid, "invalidate_existing": false, "sections": {"profile": {"enabled": false}}})).await);
    send(s.portal(Method::GET, "/v1/portal/customer", &no_profile))
        .await
        .assert_problem(403, "section_disabled");

    let limited = token(&session(&s, json!({"customer_id": cid, "invalidate_existing": false, "permissions": {"profile_update": {"allowed_fields": ["phone"]}}})).await);
    let r = send(
        s.portal(Method::PATCH, "/v1/portal/customer", &limited)
            .json(&json!({"phone": "+1 555 0100", "name": "Hacker"})),
    )
    .await;
    r.assert_problem(403, "field_not_allowed");
    assert!(
        r.body["detail"].as_str().unwrap().contains("name"),
        "names the field: {}",
        r.body
    );
    let read_only = token(
        &session(
            &s,
            json!({"customer_id": cid, "invalidate_existing": false}),
        )
        .await,
    );
    send(
        s.portal(Method::PATCH, "/v1/portal/customer", &read_only)
            .json(&json!({"email": "x@y.test"})),
    )
    .await
    .assert_problem(403, "field_not_allowed");
    assert_eq!(
        send(s.admin(Method::GET, &format!("/v1/customers/{cid}")))
            .await
            .body["name"],
        "Customer guard",
        "nothing changed"
    );

    // Admin preview: sees what the customer sees, cannot write, and every request is audited.
    let preview = session(&s, json!({"customer_id": cid, "mode": "admin_preview", "permissions": {"profile_update": {"allowed_fields": ["name"]}}})).await;
    assert_eq!(
        whoami(&s, &limited).await.status,
        200,
        "a preview does not supersede the customer's sessions"
    );
    let pt = token(&preview);
    assert_eq!(
        send(s.portal(Method::GET, "/v1/portal/customer", &pt))
            .await
            .status,
        200
    );
    send(
        s.portal(Method::PATCH, "/v1/portal/customer", &pt)
            .json(&json!({"name": "Changed"})),
    )
    .await
    .assert_problem(403, "read_only_session");
    let audit = send(s.admin(
        Method::GET,
        "/v1/audit_events?action=portal_session.preview_request",
    ))
    .await;
    let events = audit.body["data"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["details"]["route"], "/v1/portal/customer");
    assert_eq!(events[1]["details"]["method"], "GET");
    assert!(
        events[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("api_key:key_"),
        "attributed to the key that made the preview"
    );

    // Leaving a preview ends the preview alone, and is audited with its mode.
    let out = send(s.portal(Method::DELETE, "/v1/portal/session", &pt)).await;
    assert_eq!(out.status, 204);
    whoami(&s, &pt).await.assert_problem(401, "session_revoked");
    assert_eq!(
        whoami(&s, &limited).await.status,
        200,
        "the customer's own session goes on"
    );
    let audit = send(s.admin(
        Method::GET,
        "/v1/audit_events?action=portal_session.logged_out",
    ))
    .await;
    assert_eq!(audit.body["data"][0]["details"]["mode"], "admin_preview");
}

async fn accounts_and_customers_are_isolated(s: TestServer) {
    let a = customer(&s, "alice").await;
    let b = customer(&s, "bob").await;
    let alice = token(&session(&s, json!({"customer_id": a})).await);
    // Alice's token only ever shows Alice.
    assert_eq!(
        send(s.portal(Method::GET, "/v1/portal/customer", &alice))
            .await
            .body["id"],
        a.as_str()
    );
    assert_ne!(a, b);

    // Another account cannot open a portal on my customers, or see or revoke my sessions.
    let other = s.other_tenant_key();
    let as_other = |m: Method, p: &str| s.request(m, p).header("x-api-key", other.clone());
    send(as_other(Method::POST, "/v1/portal_sessions").json(&json!({"customer_id": a})))
        .await
        .assert_problem(404, "customer_not_found");
    send(
        as_other(Method::POST, "/v1/portal_sessions")
            .json(&json!({"external_customer_id": "alice"})),
    )
    .await
    .assert_problem(404, "customer_not_found");
    send(as_other(Method::GET, "/v1/customers/portal/alice"))
        .await
        .assert_problem(404, "customer_not_found");
    let listed = send(as_other(
        Method::GET,
        &format!("/v1/portal_sessions?customer_id={a}"),
    ))
    .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 0);
    let sid = whoami(&s, &alice).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(as_other(
        Method::DELETE,
        &format!("/v1/portal_sessions/{sid}"),
    ))
    .await
    .assert_problem(404, "portal_session_not_found");
    let audit = send(as_other(Method::GET, "/v1/audit_events")).await;
    assert_eq!(
        audit.body["data"].as_array().unwrap().len(),
        0,
        "audit logs are per account"
    );
    assert_eq!(whoami(&s, &alice).await.status, 200);
}

async fn revocation_racing_with_use(s: TestServer) {
    let cid = customer(&s, "race").await;
    let created = session(&s, json!({"customer_id": cid})).await;
    let t = token(&created);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let uses = (0..24).map(|_| whoami(&s, &t));
    let revoke = send(s.admin(Method::DELETE, &format!("/v1/portal_sessions/{id}")));
    let (replies, revoked) = tokio::join!(join_all(uses), revoke);
    assert_eq!(revoked.status, 200);
    for r in &replies {
        assert!(
            r.status == 200 || r.body["code"] == "session_revoked",
            "{}",
            r.body
        );
    }
    // Once revocation has answered, no request gets through.
    let after = join_all((0..30).map(|_| whoami(&s, &t))).await;
    for r in after {
        r.assert_problem(401, "session_revoked");
    }
    // Hammering a dead token does not grow the audit log without bound.
    let audit = send(s.admin(
        Method::GET,
        "/v1/audit_events?action=portal_session.token_rejected&limit=100",
    ))
    .await;
    let rows = audit.body["data"].as_array().unwrap().len();
    assert!(
        (1..=10).contains(&rows),
        "{rows} refusal rows for one session"
    );
}

/// Sets a session's last use, as if the time since had passed.
fn age_session(s: &TestServer, id: &str, last_seen: chrono::DateTime<Utc>) {
    s.execute_sql(&format!(
        "UPDATE portal_sessions SET last_seen_at = '{}' WHERE id = '{id}'",
        last_seen.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    ));
}

/// With the shortest idle timeout (60 s): a use is recorded only once less than half of the
/// window (30 s) is left, so a session used every 20 s is written every other use and never idles
/// out; one whose last recorded use is 59 s old still works, one unused for 60 s is refused.
async fn idle_timeout_is_exact(s: TestServer) {
    let cid = customer(&s, "idle-exact").await;
    let t = token(&session(&s, json!({"customer_id": cid, "idle_timeout_seconds": 60})).await);
    let idle_expires = |me: &Reply| -> chrono::DateTime<Utc> {
        me.body["idle_expires_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut me = whoami(&s, &t).await;
    let id = me.body["id"].as_str().unwrap().to_owned();
    let (mut since_recorded, mut writes) = (0, 0);
    for step in 0..9 {
        // 20 s pass: the recorded use moves 20 s into the past.
        let aged = idle_expires(&me) - Duration::seconds(60 + 20);
        age_session(&s, &id, aged);
        since_recorded += 20;
        me = whoami(&s, &t).await;
        assert_eq!(me.status, 200, "used every 20 s: {}", me.body);
        let recorded = idle_expires(&me) > Utc::now() + Duration::seconds(50);
        assert_eq!(recorded, since_recorded > 30, "step {step}: {}", me.body);
        if recorded {
            since_recorded = 0;
            writes += 1;
        } else {
            assert_eq!(
                idle_expires(&me),
                aged + Duration::seconds(60),
                "not extended"
            );
        }
    }
    assert_eq!(writes, 4, "9 uses 20 s apart write the session 4 times");
    age_session(&s, &id, Utc::now() - Duration::seconds(59));
    assert_eq!(whoami(&s, &t).await.status, 200, "59 s alone");
    age_session(&s, &id, Utc::now() - Duration::seconds(60));
    whoami(&s, &t).await.assert_problem(401, "session_expired");

    // A use in the first half of the window does not extend it: the session idles out one
    // window after its last recorded use.
    let t = token(&session(&s, json!({"customer_id": cid, "idle_timeout_seconds": 60})).await);
    let id = whoami(&s, &t).await.body["id"].as_str().unwrap().to_owned();
    age_session(&s, &id, Utc::now() - Duration::seconds(20));
    assert_eq!(whoami(&s, &t).await.status, 200);
    age_session(&s, &id, Utc::now() - Duration::seconds(60));
    whoami(&s, &t).await.assert_problem(401, "session_expired");
}

/// Creating, revoking and ending a session write the session and its audit entry in one
/// transaction: when the audit log cannot be written, nothing changes.
async fn a_session_exists_only_with_its_audit_entry(s: TestServer) {
    let cid = customer(&s, "audited").await;
    let live = token(
        &session(
            &s,
            json!({"customer_id": cid, "invalidate_existing": false}),
        )
        .await,
    );
    let live_id = whoami(&s, &live).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = || s.query_texts("SELECT id AS v FROM portal_sessions WHERE ended_at IS NULL");
    let before = sessions();
    if s.sqlite_file().is_some() {
        s.execute_sql(
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END;",
        );
    } else {
        s.execute_sql(
            "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$; \
             CREATE TRIGGER audit_down BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION audit_down();",
        );
    }
    let created = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"customer_id": cid})),
    )
    .await;
    assert_eq!(created.status, 500, "{}", created.body);
    let revoked = send(s.admin(Method::DELETE, &format!("/v1/portal_sessions/{live_id}"))).await;
    assert_eq!(revoked.status, 500, "{}", revoked.body);
    let logout = send(s.portal(Method::DELETE, "/v1/portal/session", &live)).await;
    assert_eq!(logout.status, 500, "{}", logout.body);
    assert_eq!(
        sessions(),
        before,
        "no session created, revoked, superseded or ended"
    );
    assert_eq!(whoami(&s, &live).await.status, 200);
}

/// A guest session (no customer; a pricing or checkout page): created with `guest: true`,
/// exchanged like any session, it reads the public plans catalogue, the branding and itself;
/// every other portal route — each one in the served spec — answers 403 `guest_session`.
/// Revocation and logging out end it.
async fn guest_sessions_read_only_the_catalogue_and_the_branding(s: TestServer) {
    let ok = |r: &Reply, status: u16| assert_eq!(r.status, status, "{}", r.body);
    ok(
        &send(
            s.admin(Method::PATCH, "/v1/account")
                .json(&json!({"name": "Acme Shop"})),
        )
        .await,
        200,
    );
    for plan in [
        json!({"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "amount": "5.00"}),
        json!({"code": "basis", "name": "Basis", "currency": "EUR", "interval": "month", "amount": "5.00"}),
        json!({"code": "vip", "name": "VIP", "currency": "USD", "interval": "month", "amount": "500.00", "visibility": "private"}),
    ] {
        ok(
            &send(s.admin(Method::POST, "/v1/plans").json(&plan)).await,
            201,
        );
    }
    let someone = customer(&s, "someone").await;
    for bad in [
        json!({"guest": true, "customer_id": someone}),
        json!({"guest": true, "sections": {"payments": {"enabled": false}}}),
        json!({"guest": true, "return_url": "javascript:alert(1)"}),
        json!({"mode": "guest", "customer_id": someone}),
    ] {
        send(s.admin(Method::POST, "/v1/portal_sessions").json(&bad))
            .await
            .assert_problem(422, "validation_failed");
    }
    let created = send(s.admin(Method::POST, "/v1/portal_sessions").json(
        &json!({"guest": true, "return_url": "https://shop.test/pricing", "expires_in_seconds": 600}),
    ))
    .await;
    ok(&created, 201);
    assert_eq!(created.body["mode"], "guest");
    assert!(created.body["customer_id"].is_null());
    assert_eq!(created.body["return_url"], "https://shop.test/pricing");
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("gs_"), "{id}");
    // The login code in the URL trades for a token, once.
    let code = code_of(&created);
    let exchanged = send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({"code": code})),
    )
    .await;
    ok(&exchanged, 200);
    assert_eq!(exchanged.body["session"]["mode"], "guest");
    send(
        s.request(Method::POST, "/v1/portal/session/exchange")
            .json(&json!({"code": code})),
    )
    .await
    .assert_problem(401, "invalid_login_code");
    let t = exchanged.body["token"].as_str().unwrap().to_owned();

    let me = send(s.portal(Method::GET, "/v1/portal/session", &t)).await;
    ok(&me, 200);
    assert_eq!(
        (me.body["id"].as_str(), me.body["status"].as_str()),
        (Some(id.as_str()), Some("active"))
    );
    let brand = send(s.portal(Method::GET, "/v1/portal/branding", &t)).await;
    ok(&brand, 200);
    assert_eq!(brand.body["name"], "Acme Shop");
    let plans = send(s.portal(Method::GET, "/v1/portal/plans", &t)).await;
    ok(&plans, 200);
    let mut codes: Vec<&str> = plans.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        ["basic", "basis"],
        "public plans in every currency, never private ones"
    );

    // Every other portal route, as the served spec lists them.
    let spec = s.served_spec().await;
    let mut probed = 0;
    for op in tests::spec::operations(&spec) {
        let allowed = [
            "/v1/portal/plans",
            "/v1/portal/branding",
            "/v1/portal/session",
        ];
        if !op.portal() || allowed.contains(&op.path.as_str()) {
            continue;
        }
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let r = send(s.portal(method, &op.url(""), &t)).await;
        // A route with a JSON body may refuse the missing body first (extractors finish in
        // any order); it never gets further.
        if op.json_body() && r.status != 403 {
            assert!(
                r.status.is_client_error(),
                "{} {}: {}",
                op.method,
                op.path,
                r.body
            );
            continue;
        }
        assert_eq!(r.status, 403, "{} {}: {}", op.method, op.path, r.body);
        assert_eq!(r.body["code"], "guest_session", "{} {}", op.method, op.path);
        probed += 1;
    }
    assert!(probed >= 20, "{probed} customer routes probed");
    // With a body the handler would take, a write is refused for being a guest's.
    send(
        s.portal(
            Method::POST,
            "/v1/portal/invoices/inv_01jd3x6v9f5m2q8r7t4w0y1z3a/pay",
            &t,
        )
        .json(&json!({"source": "wallet"})),
    )
    .await
    .assert_problem(403, "guest_session");

    // The merchant revokes it: the token stops working at once.
    let revoked = send(s.admin(Method::DELETE, &format!("/v1/portal_sessions/{id}"))).await;
    ok(&revoked, 200);
    assert_eq!(revoked.body["status"], "revoked");
    send(s.portal(Method::GET, "/v1/portal/plans", &t))
        .await
        .assert_problem(401, "session_revoked");
    // A guest logs out like anyone.
    let other = send(
        s.admin(Method::POST, "/v1/portal_sessions")
            .json(&json!({"guest": true})),
    )
    .await;
    ok(&other, 201);
    let t2 = other.body["token"].as_str().unwrap().to_owned();
    ok(
        &send(s.portal(Method::DELETE, "/v1/portal/session", &t2)).await,
        204,
    );
    send(s.portal(Method::GET, "/v1/portal/branding", &t2))
        .await
        .assert_problem(401, "session_revoked");
}
