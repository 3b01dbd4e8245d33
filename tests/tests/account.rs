//! The merchant's account over HTTP: renamed and branded with the admin key, printed on invoice
//! PDFs (read back by a third-party PDF reader), shown to portal frontends as branding, another
//! account untouched, and bad input that changes nothing.

use serde_json::{json, Value};
use tests::fixtures::{created, customer, id, pdf_text, portal_session, token};
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    the_account_names_the_merchant_on_invoices_and_in_the_portal,
    new_sessions_start_from_the_account_defaults,
    bad_account_settings_change_nothing,
    new_sessions_link_to_the_accounts_portal,
);

async fn patch(s: &TestServer, body: Value) -> tests::Reply {
    send(s.admin(Method::PATCH, "/v1/account").json(&body)).await
}

async fn the_account_names_the_merchant_on_invoices_and_in_the_portal(s: TestServer) {
    let before = send(s.admin(Method::GET, "/v1/account")).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert!(before.body["id"].as_str().unwrap().starts_with("ten_"));
    assert_eq!(before.body["logo_url"], Value::Null);

    let r = patch(
        &s,
        json!({"name": "Acme Billing GmbH", "legal_address": "Hauptstraße 1\n10115 Berlin",
               "support_email": "billing@acme.test", "support_url": "https://acme.test/help",
               "logo_url": "https://cdn.acme.test/logo.svg", "primary_color": "#1a2b3c",
               "accent_color": "#FFAA00", "invoice_footer": "IBAN DE89 3704 0044 0532 0130 00"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Acme Billing GmbH");
    assert_eq!(send(s.admin(Method::GET, "/v1/account")).await.body, r.body);

    // The PDF prints the name, the address and the footer.
    let c = customer(&s, json!({"name": "Ada"})).await;
    let inv = id(&created(
        &s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "EUR", "lines": [{"description": "Plan", "quantity": "1", "unit_amount": "10"}]}),
    )
    .await);
    let f = send(s.admin(Method::POST, &format!("/v1/invoices/{inv}/finalize"))).await;
    assert_eq!(f.status, 200);
    let pdf = s
        .admin(Method::GET, &format!("/v1/invoices/{inv}/pdf"))
        .send()
        .await
        .unwrap();
    let (_, text) = pdf_text(&pdf.bytes().await.unwrap());
    for expected in [
        "Acme Billing GmbH",
        "Hauptstraße 1",
        "10115 Berlin",
        "billing@acme.test",
        "IBAN DE89 3704 0044 0532 0130 00",
    ] {
        assert!(text.contains(expected), "{expected} missing from: {text}");
    }

    // A portal frontend reads the branding with any session.
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": c, "sections": {"overview": {"enabled": false}}}),
        )
        .await,
    );
    let b = send(s.portal(Method::GET, "/v1/portal/branding", &t)).await;
    assert_eq!(b.status, 200, "{}", b.body);
    let account = send(s.admin(Method::GET, "/v1/account")).await.body["id"].clone();
    assert_eq!(
        b.body,
        json!({"account_id": account, "name": "Acme Billing GmbH", "logo_url": "https://cdn.acme.test/logo.svg",
               "primary_color": "#1a2b3c", "accent_color": "#FFAA00",
               "support_email": "billing@acme.test", "support_url": "https://acme.test/help"})
    );

    // null clears; fields left out stay.
    let r = patch(&s, json!({"logo_url": null})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["logo_url"], Value::Null);
    assert_eq!(r.body["primary_color"], "#1a2b3c");

    // Another account is its own.
    let other = s.other_tenant_key();
    let theirs = send(
        s.request(Method::GET, "/v1/account")
            .header("x-api-key", &other),
    )
    .await;
    assert_eq!(theirs.body["name"], "other merchant");
    assert_eq!(theirs.body["primary_color"], Value::Null);
}

async fn new_sessions_start_from_the_account_defaults(s: TestServer) {
    let c = customer(&s, json!({"name": "Ada", "external_id": "ada"})).await;
    let r = patch(
        &s,
        json!({"portal_sections": {"payments": {"enabled": false}, "usage": {"enabled": false}},
               "portal_permissions": {"invoice_pay": {"enabled": true}}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["portal_sections"]["payments"]["enabled"], false);
    assert_eq!(r.body["portal_sections"]["invoices"]["enabled"], true);
    assert_eq!(r.body["portal_permissions"]["invoice_pay"]["enabled"], true);
    assert_eq!(
        r.body["portal_permissions"]["plan_change"]["enabled"],
        false
    );

    let settings = |t: String| {
        let s = &s;
        async move {
            send(s.portal(Method::GET, "/v1/portal/session", &t))
                .await
                .body
        }
    };
    // Nothing said: the account's defaults.
    let plain = settings(token(&portal_session(&s, json!({"customer_id": c})).await)).await;
    assert_eq!(plain["sections"]["payments"]["enabled"], false);
    assert_eq!(plain["sections"]["usage"]["enabled"], false);
    assert_eq!(plain["sections"]["invoices"]["enabled"], true);
    assert_eq!(plain["permissions"]["invoice_pay"]["enabled"], true);
    // What the creator says wins, one section or permission at a time.
    let mixed = settings(token(
        &portal_session(
            &s,
            json!({"customer_id": c, "sections": {"payments": {"enabled": true}},
                   "permissions": {"plan_change": {"enabled": true}}}),
        )
        .await,
    ))
    .await;
    assert_eq!(mixed["sections"]["payments"]["enabled"], true);
    assert_eq!(mixed["sections"]["usage"]["enabled"], false);
    assert_eq!(mixed["permissions"]["plan_change"]["enabled"], true);
    assert_eq!(mixed["permissions"]["invoice_pay"]["enabled"], true);
    // The Flexprice-compatible shortcut too.
    let link = send(s.admin(Method::GET, "/v1/customers/portal/ada")).await;
    assert_eq!(link.status, 200, "{}", link.body);
    let short = settings(link.body["token"].as_str().unwrap().to_owned()).await;
    assert_eq!(short["sections"]["payments"]["enabled"], false);
    assert_eq!(short["permissions"]["invoice_pay"]["enabled"], true);

    // null: back to the built-in defaults.
    let r = patch(
        &s,
        json!({"portal_sections": null, "portal_permissions": null}),
    )
    .await;
    assert_eq!(r.body["portal_sections"]["payments"]["enabled"], true);
    assert_eq!(
        r.body["portal_permissions"]["invoice_pay"]["enabled"],
        false
    );
    let back = settings(token(&portal_session(&s, json!({"customer_id": c})).await)).await;
    assert_eq!(back["sections"]["payments"]["enabled"], true);
    assert_eq!(back["permissions"]["invoice_pay"]["enabled"], false);
}

async fn bad_account_settings_change_nothing(s: TestServer) {
    patch(&s, json!({"name": "Acme", "primary_color": "#000000"})).await;
    let before = s.query_texts(&s.stored_state_query());
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (
            json!({"logo_url": "http://cdn.acme.test/logo.svg"}),
            "logo_url",
        ),
        (json!({"logo_url": "javascript:alert(1)"}), "logo_url"),
        (json!({"support_url": "ftp://acme.test"}), "support_url"),
        (json!({"primary_color": "#12345"}), "primary_color"),
        (json!({"accent_color": "red"}), "accent_color"),
        (json!({"support_email": "nobody"}), "support_email"),
        (json!({"invoice_footer": "a\u{0007}b"}), "invoice_footer"),
        (
            json!({"portal_permissions": {"profile_update": {"allowed_fields": ["phone", "phone"]}}}),
            "portal_permissions.profile_update.allowed_fields",
        ),
    ];
    for (body, field) in cases {
        let r = patch(&s, body.clone()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field.to_owned()], "{body}: {}", r.body);
    }
    // One bad field refuses the whole change.
    let r = patch(&s, json!({"name": "Renamed", "accent_color": "blue"})).await;
    r.assert_problem(422, "validation_failed");
    for unknown in [
        json!({"colour": "#ffffff"}),
        json!({"portal_sections": {"billing": {"enabled": false}}}),
    ] {
        let r = patch(&s, unknown.clone()).await;
        assert_eq!(
            r.status, 422,
            "unknown fields are refused: {unknown} {}",
            r.body
        );
    }
    assert_eq!(s.query_texts(&s.stored_state_query()), before);
}

/// An account with its own portal frontend: new sessions' login URLs (customer, shortcut and
/// guest) lead there; without one, to the server's `PORTAL_URL_BASE`.
async fn new_sessions_link_to_the_accounts_portal(s: TestServer) {
    let c = customer(&s, json!({"name": "Linked", "external_id": "linked-1"})).await;
    let url = |r: &tests::Reply| r.body["url"].as_str().unwrap().to_owned();
    let before = url(&portal_session(&s, json!({"customer_id": c})).await);
    assert!(
        !before.starts_with("https://billing.acme.test/"),
        "{before}"
    );
    for bad in [
        "ftp://billing.acme.test",
        "billing.acme.test/portal",
        "https://user@evil.test",
    ] {
        patch(&s, json!({"portal_url_base": bad}))
            .await
            .assert_problem(422, "validation_failed");
    }
    let r = patch(
        &s,
        json!({"portal_url_base": "https://billing.acme.test/portal"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["portal_url_base"],
        "https://billing.acme.test/portal"
    );
    let own = url(&portal_session(&s, json!({"customer_id": c})).await);
    assert!(
        own.starts_with("https://billing.acme.test/portal?code="),
        "{own}"
    );
    let shortcut = send(s.admin(Method::GET, "/v1/customers/portal/linked-1")).await;
    assert!(
        url(&shortcut).starts_with("https://billing.acme.test/portal?code="),
        "{}",
        shortcut.body
    );
    let guest = portal_session(&s, json!({"guest": true})).await;
    assert!(
        url(&guest).starts_with("https://billing.acme.test/portal?code="),
        "{}",
        guest.body
    );
    // `null` goes back to the server's.
    assert_eq!(
        patch(&s, json!({"portal_url_base": null})).await.status,
        200
    );
    let back = url(&portal_session(&s, json!({"customer_id": c})).await);
    assert_eq!(back.split("?code=").next(), before.split("?code=").next());
}
