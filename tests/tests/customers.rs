//! Customers over HTTP: create, read, update, archive, search, pagination, validation,
//! uniqueness under concurrency, isolation between accounts.

use std::collections::HashSet;

use futures_util::future::join_all;
use serde_json::{json, Value};
use tests::fixtures::{created, id, pdf_text, portal_session, token};
use tests::{on_both_backends, send, Method, TestServer};

on_both_backends!(
    the_customers_language_is_a_canonical_bcp47_tag,
    customer_lifecycle,
    validation_names_fields_and_changes_nothing,
    external_id_is_unique_even_under_concurrency,
    search_filters_and_pagination,
    accounts_cannot_see_each_other,
    billing_details_address_the_invoices,
);

async fn create(s: &TestServer, body: Value) -> Value {
    let r = send(s.admin(Method::POST, "/v1/customers").json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn customer_lifecycle(s: TestServer) {
    let c = create(
        &s,
        json!({"external_id": "acme-42", "name": "  Acme Corp ", "email": "Billing@Acme.test", "phone": "+49 30 1234567",
               "address": {"line1": "1 Main St", "city": "Berlin", "country": "de"}, "timezone": "Europe/Berlin",
               "metadata": {"plan": "pro"}}),
    )
    .await;
    let id = c["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cus_"));
    assert_eq!(c["name"], "Acme Corp");
    assert_eq!(c["address"]["country"], "DE");
    assert_eq!(c["status"], "active");
    assert_eq!(c["metadata"]["plan"], "pro");

    // Read back, by id and by external id: identical to what create returned.
    let got = send(s.admin(Method::GET, &format!("/v1/customers/{id}"))).await;
    assert_eq!(got.body, c);
    let by_ext = send(s.admin(Method::GET, "/v1/customers/external/acme-42")).await;
    assert_eq!(by_ext.body, c);
    send(s.admin(Method::GET, "/v1/customers/external/nobody"))
        .await
        .assert_problem(404, "customer_not_found");
    send(s.admin(Method::GET, "/v1/customers/cus_01jd3x6v9f5m2q8r7t4w0y1z3a"))
        .await
        .assert_problem(404, "customer_not_found");
    send(s.admin(Method::GET, "/v1/customers/garbage"))
        .await
        .assert_problem(404, "customer_not_found");

    // PATCH: given fields change, null clears, absent fields stay.
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{id}"))
            .json(&json!({"email": "ap@acme.test", "phone": null})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["email"], "ap@acme.test");
    assert_eq!(r.body["phone"], Value::Null);
    assert_eq!(r.body["name"], "Acme Corp");
    assert_eq!(r.body["timezone"], "Europe/Berlin");
    assert_ne!(r.body["updated_at"], c["updated_at"]);
    send(
        s.admin(Method::PATCH, &format!("/v1/customers/{id}"))
            .json(&json!({})),
    )
    .await
    .assert_problem(422, "validation_failed");

    // Archive: read-only afterwards, hidden from the default list, idempotent.
    let r = send(s.admin(Method::POST, &format!("/v1/customers/{id}/archive"))).await;
    assert_eq!(r.body["status"], "archived");
    assert!(r.body["archived_at"].is_string());
    let again = send(s.admin(Method::POST, &format!("/v1/customers/{id}/archive"))).await;
    assert_eq!(again.body["archived_at"], r.body["archived_at"]);
    send(
        s.admin(Method::PATCH, &format!("/v1/customers/{id}"))
            .json(&json!({"name": "X"})),
    )
    .await
    .assert_problem(409, "customer_archived");
    let active = send(s.admin(Method::GET, "/v1/customers")).await;
    assert_eq!(active.body["data"].as_array().unwrap().len(), 0);
    let archived = send(s.admin(Method::GET, "/v1/customers?status=archived")).await;
    assert_eq!(archived.body["data"][0]["id"], id.as_str());
    send(s.admin(Method::GET, "/v1/customers?status=gone"))
        .await
        .assert_problem(422, "validation_failed");
}

async fn validation_names_fields_and_changes_nothing(s: TestServer) {
    let r = send(s.admin(Method::POST, "/v1/customers").json(&json!({
        "name": "", "email": "not-an-email", "external_id": "has space", "phone": "call me",
        "address": {"country": "XX"}, "timezone": "Mars/Olympus",
        "metadata": (0..51).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()
    })))
    .await;
    r.assert_problem(422, "validation_failed");
    let fields: HashSet<_> = r.fields().into_iter().collect();
    for f in [
        "name",
        "email",
        "external_id",
        "phone",
        "address.country",
        "timezone",
        "metadata",
    ] {
        assert!(fields.contains(f), "{f} not reported in {fields:?}");
    }

    let c = create(&s, json!({"name": "Keep", "email": "keep@x.test"})).await;
    let id = c["id"].as_str().unwrap();
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{id}"))
            .json(&json!({"name": "New", "email": "bad"})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["email"]);
    let after = send(s.admin(Method::GET, &format!("/v1/customers/{id}"))).await;
    assert_eq!(after.body, c, "a refused PATCH changed nothing");
    let list = send(s.admin(Method::GET, "/v1/customers?status=all")).await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "refused creates stored nothing"
    );
}

async fn external_id_is_unique_even_under_concurrency(s: TestServer) {
    create(&s, json!({"name": "First", "external_id": "dup"})).await;
    send(
        s.admin(Method::POST, "/v1/customers")
            .json(&json!({"name": "Second", "external_id": "dup"})),
    )
    .await
    .assert_problem(409, "external_id_taken");

    // 16 racing creates of one new external id: exactly one wins.
    let racers = (0..16).map(|i| {
        send(
            s.admin(Method::POST, "/v1/customers")
                .json(&json!({"name": format!("R{i}"), "external_id": "race"})),
        )
    });
    let replies = join_all(racers).await;
    let won = replies.iter().filter(|r| r.status == 201).count();
    let lost = replies
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "external_id_taken")
        .count();
    assert_eq!(
        (won, lost),
        (1, 15),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );

    // Taking an existing external id by PATCH is refused too, and changes nothing.
    let other = create(&s, json!({"name": "Other", "external_id": "other"})).await;
    let id = other["id"].as_str().unwrap();
    send(
        s.admin(Method::PATCH, &format!("/v1/customers/{id}"))
            .json(&json!({"external_id": "dup"})),
    )
    .await
    .assert_problem(409, "external_id_taken");
    assert_eq!(
        send(s.admin(Method::GET, &format!("/v1/customers/{id}")))
            .await
            .body["external_id"],
        "other"
    );
}

async fn search_filters_and_pagination(s: TestServer) {
    create(
        &s,
        json!({"name": "Ada Lovelace", "email": "ada@analytical.test", "external_id": "ada"}),
    )
    .await;
    create(
        &s,
        json!({"name": "Grace Hopper", "email": "grace@navy.test", "external_id": "cobol-1"}),
    )
    .await;
    create(&s, json!({"name": "100% Pure", "email": "pure@x.test"})).await;
    for i in 0..7 {
        create(&s, json!({"name": format!("Bulk {i}")})).await;
    }
    let names = |r: &tests::Reply| -> Vec<String> {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?q=LOVELACE")).await),
        vec!["Ada Lovelace"]
    );
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?q=navy.test")).await),
        vec!["Grace Hopper"]
    );
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?q=cobol")).await),
        vec!["Grace Hopper"]
    );
    // `%` is literal, not a wildcard.
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?q=%25")).await),
        vec!["100% Pure"]
    );
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?q=0%25%20P")).await),
        vec!["100% Pure"]
    );
    assert!(names(&send(s.admin(Method::GET, "/v1/customers?q=%22%20OR%20%22")).await).is_empty());
    // The search follows changes (on SQLite its trigram index is kept by triggers).
    let grace = send(s.admin(Method::GET, "/v1/customers?q=cobol"))
        .await
        .body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{grace}"))
            .json(&json!({"name": "Rear Admiral Hopper", "external_id": "fortran-2"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(names(&send(s.admin(Method::GET, "/v1/customers?q=cobol")).await).is_empty());
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?q=ADMIRAL")).await),
        vec!["Rear Admiral Hopper"]
    );
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?q=fortran")).await),
        vec!["Rear Admiral Hopper"]
    );
    assert_eq!(
        names(&send(s.admin(Method::GET, "/v1/customers?email=ADA@analytical.test")).await),
        vec!["Ada Lovelace"]
    );
    let future = send(s.admin(
        Method::GET,
        "/v1/customers?created_from=2999-01-01T00:00:00Z",
    ))
    .await;
    assert_eq!(future.body["data"].as_array().unwrap().len(), 0);
    let past = send(s.admin(
        Method::GET,
        "/v1/customers?created_to=2999-01-01T00:00:00Z&limit=100",
    ))
    .await;
    assert_eq!(past.body["data"].as_array().unwrap().len(), 10);
    send(s.admin(Method::GET, "/v1/customers?created_from=yesterday"))
        .await
        .assert_problem(422, "validation_failed");

    // Walk all pages of 3: every customer once, newest first, then has_more = false.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/customers?limit=3&cursor={c}"),
            None => "/v1/customers?limit=3".to_owned(),
        };
        let page = send(s.admin(Method::GET, &path)).await;
        let items = page.body["data"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        if page.body["has_more"] == false {
            assert_eq!(page.body["next_cursor"], Value::Null);
            break;
        }
        cursor = Some(page.body["next_cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 10);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, no duplicates");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 10);
}

async fn accounts_cannot_see_each_other(s: TestServer) {
    let mine = create(&s, json!({"name": "Mine", "external_id": "shared-ext"})).await;
    let id = mine["id"].as_str().unwrap();
    let other = s.other_tenant_key();
    let as_other = |m: Method, p: &str| s.request(m, p).header("x-api-key", other.clone());

    send(as_other(Method::GET, &format!("/v1/customers/{id}")))
        .await
        .assert_problem(404, "customer_not_found");
    send(as_other(Method::GET, "/v1/customers/external/shared-ext"))
        .await
        .assert_problem(404, "customer_not_found");
    send(as_other(Method::PATCH, &format!("/v1/customers/{id}")).json(&json!({"name": "Stolen"})))
        .await
        .assert_problem(404, "customer_not_found");
    send(as_other(
        Method::POST,
        &format!("/v1/customers/{id}/archive"),
    ))
    .await
    .assert_problem(404, "customer_not_found");
    let list = send(as_other(Method::GET, "/v1/customers?status=all&q=Mine")).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 0);
    // External ids are unique per account, not globally.
    let theirs = send(
        as_other(Method::POST, "/v1/customers")
            .json(&json!({"name": "Theirs", "external_id": "shared-ext"})),
    )
    .await;
    assert_eq!(theirs.status, 201);
    // Mine is untouched.
    assert_eq!(
        send(s.admin(Method::GET, &format!("/v1/customers/{id}")))
            .await
            .body,
        mine
    );
}

/// The text of a finalized invoice's PDF for `customer`.
async fn invoice_pdf_text(s: &TestServer, customer: &str) -> String {
    let inv = id(&created(
        s,
        "/v1/invoices",
        json!({"customer_id": customer, "currency": "GBP",
               "lines": [{"description": "Plan", "quantity": "1", "unit_amount": "10"}]}),
    )
    .await);
    let f = send(s.admin(Method::POST, &format!("/v1/invoices/{inv}/finalize"))).await;
    assert_eq!(f.status, 200, "{}", f.body);
    let pdf = s
        .admin(Method::GET, &format!("/v1/invoices/{inv}/pdf"))
        .send()
        .await
        .unwrap();
    pdf_text(&pdf.bytes().await.unwrap()).1
}

async fn billing_details_address_the_invoices(s: TestServer) {
    let c = create(
        &s,
        json!({"name": "Ada Lovelace", "email": "ada@home.test",
               "billing": {"legal_name": "Analytical Engines Ltd", "tax_id": "GB 123 4567 89",
                           "email": "ap@engines.test",
                           "address": {"line1": "12 Baker St", "city": "London", "postal_code": "NW1", "country": "gb"}}}),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["billing"]["address"]["country"], "GB");
    let text = invoice_pdf_text(&s, &cid).await;
    for expected in [
        "Analytical Engines Ltd",
        "Tax ID: GB 123 4567 89",
        "ap@engines.test",
        "12 Baker St",
    ] {
        assert!(text.contains(expected), "{expected} missing from: {text}");
    }
    assert!(!text.contains("ada@home.test"), "{text}");

    // The customer edits them in the portal when the session allows the `billing` field.
    let path = "/v1/portal/customer";
    let phone_only = token(
        &portal_session(
            &s,
            json!({"customer_id": cid,
        "permissions": {"profile_update": {"allowed_fields": ["phone"]}}}),
        )
        .await,
    );
    let change = json!({"billing": {"legal_name": "Engines Ltd", "tax_id": "GB999"}});
    send(s.portal(Method::PATCH, path, &phone_only).json(&change))
        .await
        .assert_problem(403, "field_not_allowed");
    let t = token(
        &portal_session(
            &s,
            json!({"customer_id": cid,
        "permissions": {"profile_update": {"allowed_fields": ["billing"]}}}),
        )
        .await,
    );
    let r = send(s.portal(Method::PATCH, path, &t).json(&change)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["billing"],
        json!({"legal_name": "Engines Ltd", "tax_id": "GB999", "tax_ids": [], "email": null, "address": null})
    );
    // The object replaced the details as a whole: the contact address is used again.
    let text = invoice_pdf_text(&s, &cid).await;
    assert!(
        text.contains("Engines Ltd") && text.contains("Tax ID: GB999"),
        "{text}"
    );
    assert!(
        text.contains("ada@home.test") && !text.contains("12 Baker St"),
        "{text}"
    );

    // null clears them: the invoice is addressed to the contact.
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{cid}"))
            .json(&json!({"billing": null})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["billing"]["legal_name"], Value::Null);
    let text = invoice_pdf_text(&s, &cid).await;
    assert!(
        text.contains("Ada Lovelace") && !text.contains("Tax ID"),
        "{text}"
    );

    // Bad billing details are refused, naming the field, and change nothing.
    let before = s.query_texts(&s.stored_state_query());
    for (billing, field) in [
        (json!({"tax_id": "DE#1"}), "billing.tax_id"),
        (json!({"email": "nobody"}), "billing.email"),
        (
            json!({"address": {"country": "XX1"}}),
            "billing.address.country",
        ),
        (json!({"legal_name": "a\u{0000}b"}), "billing.legal_name"),
    ] {
        let r = send(
            s.admin(Method::PATCH, &format!("/v1/customers/{cid}"))
                .json(&json!({"billing": billing})),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), [field.to_owned()], "{billing}: {}", r.body);
    }
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{cid}"))
            .json(&json!({"billing": {"vat": "x"}})),
    )
    .await;
    assert_eq!(r.status, 422, "unknown fields are refused: {}", r.body);
    assert_eq!(s.query_texts(&s.stored_state_query()), before);
}

/// `locale`: a BCP 47 tag, stored in canonical case; anything else is a 422 naming the field
/// with nothing stored; the customer may change it in the portal when the session allows.
async fn the_customers_language_is_a_canonical_bcp47_tag(s: TestServer) {
    let c = created(
        &s,
        "/v1/customers",
        json!({"name": "Ada", "locale": "de-de"}),
    )
    .await;
    assert_eq!(c.body["locale"], "de-DE");
    let cid = id(&c);
    for bad in [
        "english",
        "de_DE!",
        "",
        "x-private-only-1234567890abcdefghijklmnop",
    ] {
        let r = send(
            s.admin(Method::POST, "/v1/customers")
                .json(&json!({"name": "B", "locale": bad})),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), ["locale"], "{bad}");
        let p = send(
            s.admin(Method::PATCH, &format!("/v1/customers/{cid}"))
                .json(&json!({"locale": bad})),
        )
        .await;
        p.assert_problem(422, "validation_failed");
    }
    let got = send(s.admin(Method::GET, &format!("/v1/customers/{cid}"))).await;
    assert_eq!(
        got.body["locale"], "de-DE",
        "a refused change stored nothing"
    );
    let rtl = send(
        s.admin(Method::PATCH, &format!("/v1/customers/{cid}"))
            .json(&json!({"locale": "AR"})),
    )
    .await;
    assert_eq!(rtl.body["locale"], "ar", "{}", rtl.body);

    // In the portal: only with the permission; `null` clears it.
    let without = token(&portal_session(&s, json!({"customer_id": cid})).await);
    send(
        s.portal(Method::PATCH, "/v1/portal/customer", &without)
            .json(&json!({"locale": "fr"})),
    )
    .await
    .assert_problem(403, "field_not_allowed");
    let with = token(
        &portal_session(
            &s,
            json!({"customer_id": cid, "permissions": {"profile_update": {"allowed_fields": ["locale"]}}}),
        )
        .await,
    );
    let fr = send(
        s.portal(Method::PATCH, "/v1/portal/customer", &with)
            .json(&json!({"locale": "fr-ca"})),
    )
    .await;
    assert_eq!(fr.status, 200, "{}", fr.body);
    assert_eq!(fr.body["locale"], "fr-CA");
    let cleared = send(
        s.portal(Method::PATCH, "/v1/portal/customer", &with)
            .json(&json!({"locale": null})),
    )
    .await;
    assert_eq!(cleared.body["locale"], Value::Null, "{}", cleared.body);
}
