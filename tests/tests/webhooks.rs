//! Webhooks over HTTP, to a real receiver on loopback: deliveries verified with the Standard
//! Webhooks project's own Rust library, one event per committed change and none for a change
//! that rolled back, the delivery log with retries, 410 disabling the endpoint, secret
//! rotation, replay, the SSRF guard at send time, and the retry schedule driven by a moved
//! clock (never by waiting).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use standardwebhooks::Webhook;
use tests::fixtures::{created, customer, id, wallet};
use tests::receiver::{Received, Receiver};
use tests::{on_both_backends, send, Backend, Method, TestServer};

on_both_backends!(
    start = with_worker;
    changes_reach_the_endpoint_signed_and_once,
    a_change_that_rolls_back_sends_nothing,
    a_failing_receiver_is_retried_and_logged,
    gone_disables_the_endpoint_and_tells_the_others,
    a_rotated_secret_signs_alongside_the_new_one,
    replay_sends_the_same_events_again,
    bad_endpoint_input_is_refused_and_accounts_stay_apart,
);

on_both_backends!(
    start = without_worker;
    the_retry_schedule_follows_the_clock,
    every_wallet_movement_is_reported_and_a_low_balance_once_crossed,
    a_subscription_reports_its_life,
);

on_both_backends!(start = secure_with_worker; private_targets_are_refused_at_send_time);

fn with_worker(b: Backend) -> Option<TestServer> {
    TestServer::start_with(b, |c| c.webhooks_poll_ms = 50)
}

fn without_worker(b: Backend) -> Option<TestServer> {
    TestServer::start(b)
}

fn secure_with_worker(b: Backend) -> Option<TestServer> {
    TestServer::start_with(b, |c| {
        c.webhooks_poll_ms = 50;
        c.webhooks_allow_insecure = false;
    })
}

const WAIT: Duration = Duration::from_secs(15);

/// Registers an endpoint; its id and secret.
async fn endpoint(s: &TestServer, url: &str, types: Value) -> (String, String) {
    let r = created(
        s,
        "/v1/webhook_endpoints",
        json!({"url": url, "event_types": types, "description": "test receiver"}),
    )
    .await;
    let secret = r.body["secret"].as_str().expect("secret shown on create");
    assert!(secret.starts_with("whsec_"), "{}", r.body);
    (id(&r), secret.to_owned())
}

/// Verifies a delivery with the third-party library.
fn verifies(secret: &str, got: &Received) -> bool {
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &got.headers {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    Webhook::new(secret)
        .expect("a Standard Webhooks secret")
        .verify(got.body.as_bytes(), &headers)
        .is_ok()
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn deliveries(s: &TestServer, endpoint: &str) -> Vec<Value> {
    get(
        s,
        &format!("/v1/webhook_endpoints/{endpoint}/deliveries?limit=100"),
    )
    .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the endpoint's deliveries all left `pending` (and there are `n`).
async fn settled(s: &TestServer, endpoint: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let list = deliveries(s, endpoint).await;
        if list.len() >= n && list.iter().all(|d| d["status"] != "pending") {
            return list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not settled: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn types_of(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn changes_reach_the_endpoint_signed_and_once(s: TestServer) {
    let rx = Receiver::start();
    let invoices_only = Receiver::start();
    let (all, secret) = endpoint(&s, &rx.url, Value::Null).await;
    let (narrow, _) = endpoint(&s, &invoices_only.url, json!(["invoice.finalized"])).await;
    // Another account's endpoint never hears of this account.
    let other_key = s.other_tenant_key();
    let other_rx = Receiver::start();
    let r = send(
        s.request(Method::POST, "/v1/webhook_endpoints")
            .header("x-api-key", &other_key)
            .json(&json!({"url": other_rx.url})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let c = customer(&s, json!({"name": "Ada", "external_id": "ada"})).await;
    let got = rx.wait_for(1, WAIT).await;
    let d = &got[0];
    assert!(
        verifies(&secret, d),
        "the library verifies the delivery: {d:?}"
    );
    assert!(
        !verifies(&domain::webhook::new_secret(), d),
        "another secret does not"
    );
    assert_eq!(d.header("content-type"), "application/json");
    let body = d.json();
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["data"]["customer_id"], c.as_str());
    assert_eq!(body["data"]["external_id"], "ada");
    assert_eq!(d.header("webhook-id"), body["id"].as_str().unwrap());
    let ts: i64 = d.header("webhook-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - ts).abs() < 60);

    // The catalogue holds the event with the very payload sent.
    let events = get(&s, "/v1/webhook_events?type=customer.created").await;
    let listed = &events["data"][0];
    assert_eq!(listed["id"], body["id"]);
    assert_eq!(listed["payload"], body);
    let one = get(
        &s,
        &format!("/v1/webhook_events/{}", body["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(one["payload"], body);

    // The log: one delivery, delivered at the first attempt, with the receiver's answer.
    let log = settled(&s, &all, 1).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["event_id"], body["id"]);
    assert_eq!(log[0]["log"][0]["http_status"], 200);
    assert_eq!(log[0]["log"][0]["response_excerpt"], "answer 200");
    assert!(log[0]["next_attempt_at"].is_null());

    // An invoice: finalized reaches both endpoints; the narrow one gets nothing else.
    let inv = created(
        &s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "EUR",
               "lines": [{"description": "Setup", "quantity": "1", "unit_amount": "100.00"}]}),
    )
    .await;
    let inv_id = id(&inv);
    let r = send(s.admin(Method::POST, &format!("/v1/invoices/{inv_id}/finalize"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let narrow_got = invoices_only.wait_for(1, WAIT).await;
    assert_eq!(types_of(&narrow_got), ["invoice.finalized"]);
    let data = &narrow_got[0].json()["data"];
    assert_eq!(data["invoice_id"], inv_id.as_str());
    assert_eq!(data["total"], "100.00");
    assert_eq!(data["amount_due"], "100.00");
    assert!(data["number"].as_str().unwrap().starts_with("INV-"));
    let got = rx.wait_for(2, WAIT).await;
    assert_eq!(types_of(&got), ["customer.created", "invoice.finalized"]);
    assert_eq!(
        got[1].header("webhook-id"),
        narrow_got[0].header("webhook-id")
    );

    // Paid from outside: payment.succeeded and invoice.paid.
    let r = send(
        s.admin(Method::POST, &format!("/v1/invoices/{inv_id}/payments"))
            .json(&json!({"amount": "100.00", "method": "external", "reference": "wire-1"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = rx.wait_for(4, WAIT).await;
    let mut tail = types_of(&got[2..]);
    tail.sort();
    assert_eq!(tail, ["invoice.paid", "payment.succeeded"]);
    settled(&s, &all, 4).await;
    settled(&s, &narrow, 1).await;
    let delivered = s
        .metric(r#"webhook_deliveries_total{outcome="delivered"}"#)
        .await
        .unwrap();
    assert!(delivered >= 5.0, "deliveries are counted: {delivered}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.received().len(), 4, "each event once");
    assert_eq!(invoices_only.received().len(), 1);
    assert!(
        other_rx.received().is_empty(),
        "another account's endpoint heard nothing"
    );
}

async fn a_change_that_rolls_back_sends_nothing(s: TestServer) {
    let rx = Receiver::start();
    let (ep, _) = endpoint(
        &s,
        &rx.url,
        json!(["wallet.debited", "wallet.topped_up", "invoice.finalized"]),
    )
    .await;
    let c = customer(&s, json!({"name": "Bo"})).await;
    let w = wallet(&s, &c, "USD", "1").await;
    // Refused: more than the wallet holds; an invoice without lines.
    let r = send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/debit"))
            .json(&json!({"credits": "5"})),
    )
    .await;
    r.assert_problem(422, "insufficient_credits");
    let empty = id(&created(
        &s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "USD"}),
    )
    .await);
    let r = send(s.admin(Method::POST, &format!("/v1/invoices/{empty}/finalize"))).await;
    r.assert_problem(422, "invoice_empty");
    // A refused idempotent top-up (bad expiry) records its answer but none of its writes.
    let r = send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .header("Idempotency-Key", "refused-1")
            .json(&json!({"credits": "3", "expires_at": "2000-01-01T00:00:00Z"})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    // Then one that commits: the only event there is.
    let r = send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .json(&json!({"credits": "2.5"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = rx.wait_for(1, WAIT).await;
    settled(&s, &ep, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_now = rx.received();
    assert_eq!(got_now.len(), 1, "{:?}", types_of(&got_now));
    assert_eq!(types_of(&got), ["wallet.topped_up"]);
    let data = &got[0].json()["data"];
    assert_eq!(data["credits"], "2.5");
    assert_eq!(data["balance"], "2.5");
    let events = get(&s, "/v1/webhook_events?limit=100").await;
    let types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"wallet.debited") && !types.contains(&"invoice.finalized"),
        "{types:?}"
    );
}

async fn a_failing_receiver_is_retried_and_logged(s: TestServer) {
    let rx = Receiver::start();
    rx.answer(&[500]);
    let (ep, secret) = endpoint(&s, &rx.url, Value::Null).await;
    let r = send(s.admin(Method::POST, &format!("/v1/webhook_endpoints/{ep}/test"))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["event"]["type"], "ping");
    let delivery = r.body["delivery"]["id"].as_str().unwrap().to_owned();
    rx.wait_for(1, WAIT).await;
    // The first attempt failed: logged, and the next one is due about 5 s later (±10%).
    let deadline = std::time::Instant::now() + WAIT;
    let first = loop {
        let d = deliveries(&s, &ep).await.remove(0);
        if d["log"].as_array().unwrap().len() == 1 {
            break d;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert_eq!(first["status"], "pending", "{first}");
    let attempt = &first["log"][0];
    assert_eq!(attempt["http_status"], 500);
    assert_eq!(attempt["response_excerpt"], "answer 500");
    assert_eq!(attempt["error"], "HTTP 500");
    let failed = s
        .metric(r#"webhook_deliveries_total{outcome="failed"}"#)
        .await
        .unwrap();
    assert!(failed >= 1.0, "failed attempts are counted: {failed}");
    let at: DateTime<Utc> = attempt["attempted_at"].as_str().unwrap().parse().unwrap();
    let next: DateTime<Utc> = first["next_attempt_at"].as_str().unwrap().parse().unwrap();
    let delay = (next - at).num_milliseconds();
    assert!((4_500..=5_500).contains(&delay), "retry in {delay} ms");
    // A retry by hand goes now, outside the schedule; the receiver gets the same message.
    let r = send(s.admin(
        Method::POST,
        &format!("/v1/webhook_deliveries/{delivery}/retry"),
    ))
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    let got = rx.wait_for(2, WAIT).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert!(verifies(&secret, &got[1]));
    let log = settled(&s, &ep, 1).await;
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 2);
    let statuses: Vec<&Value> = log[0]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["http_status"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(200)]);
    // A delivery of another account is a 404.
    let other = s.other_tenant_key();
    let r = send(
        s.request(
            Method::POST,
            &format!("/v1/webhook_deliveries/{delivery}/retry"),
        )
        .header("x-api-key", other),
    )
    .await;
    r.assert_problem(404, "webhook_delivery_not_found");
}

async fn gone_disables_the_endpoint_and_tells_the_others(s: TestServer) {
    let gone = Receiver::start();
    gone.always(Some(410));
    let watcher = Receiver::start();
    let (ep, _) = endpoint(&s, &gone.url, Value::Null).await;
    let (_, _) = endpoint(&s, &watcher.url, json!(["webhook_endpoint.disabled"])).await;
    customer(&s, json!({"name": "Cy"})).await;
    gone.wait_for(1, WAIT).await;
    let got = watcher.wait_for(1, WAIT).await;
    let body = got[0].json();
    assert_eq!(body["type"], "webhook_endpoint.disabled");
    assert_eq!(body["data"]["webhook_endpoint_id"], ep.as_str());
    assert_eq!(body["data"]["disabled_reason"], "gone");
    let e = get(&s, &format!("/v1/webhook_endpoints/{ep}")).await;
    assert_eq!(e["status"], "disabled");
    assert_eq!(e["disabled_reason"], "gone");
    assert!(
        e.get("secret").is_none(),
        "the secret is shown only on create and rotate"
    );
    let log = deliveries(&s, &ep).await;
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(log[0]["log"][0]["http_status"], 410);
    // Disabled: nothing more is sent, retrying is refused until it is enabled again.
    customer(&s, json!({"name": "Di"})).await;
    let d = log[0]["id"].as_str().unwrap();
    let r = send(s.admin(Method::POST, &format!("/v1/webhook_deliveries/{d}/retry"))).await;
    r.assert_problem(409, "webhook_endpoint_disabled");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(gone.received().len(), 1);
    gone.always(None);
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/webhook_endpoints/{ep}"))
            .json(&json!({"status": "enabled"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["disabled_reason"].is_null());
    let r = send(s.admin(Method::POST, &format!("/v1/webhook_deliveries/{d}/retry"))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let got = gone.wait_for(2, WAIT).await;
    assert_eq!(got[1].json()["type"], "customer.created");
}

async fn a_rotated_secret_signs_alongside_the_new_one(s: TestServer) {
    let rx = Receiver::start();
    let (ep, old) = endpoint(&s, &rx.url, json!(["customer.created"])).await;
    let r = send(s.admin(
        Method::POST,
        &format!("/v1/webhook_endpoints/{ep}/rotate_secret"),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(r.body["previous_secret_expires_at"].is_string());
    customer(&s, json!({"name": "Ed"})).await;
    let got = rx.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    assert!(verifies(&new, &got[0]), "the new secret verifies");
    assert!(
        verifies(&old, &got[0]),
        "and the old one, during the grace period"
    );
}

async fn replay_sends_the_same_events_again(s: TestServer) {
    let rx = Receiver::start();
    let (ep, _) = endpoint(&s, &rx.url, json!(["customer.created"])).await;
    for n in ["Fay", "Gus", "Hal"] {
        customer(&s, json!({"name": n})).await;
    }
    let first = rx.wait_for(3, WAIT).await;
    settled(&s, &ep, 3).await;
    let since = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let r = send(
        s.admin(Method::POST, &format!("/v1/webhook_endpoints/{ep}/replay"))
            .json(&json!({"since": since})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["deliveries"], 3);
    let all = rx.wait_for(6, WAIT).await;
    let mut a: Vec<&str> = first.iter().map(|r| r.header("webhook-id")).collect();
    let mut b: Vec<&str> = all[3..].iter().map(|r| r.header("webhook-id")).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "a replay sends the same messages");
    let r = send(
        s.admin(Method::POST, &format!("/v1/webhook_endpoints/{ep}/replay"))
            .json(&json!({"since": "2000-01-01T00:00:00Z"})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
}

async fn bad_endpoint_input_is_refused_and_accounts_stay_apart(s: TestServer) {
    let before = s.query_texts(&s.stored_state_query());
    for body in [
        json!({"url": "ftp://hooks.example.com/x"}),
        json!({"url": "https://hooks.example.com/x", "event_types": ["invoice.exploded"]}),
        json!({"url": "https://hooks.example.com/x", "event_types": []}),
        json!({"url": "https://hooks.example.com/x", "event_types": ["ping"]}),
        json!({"url": "https://user:pw@hooks.example.com/x"}),
        json!({"url": "https://hooks.example.com/x", "secret": "whsec_mine"}),
        // Insecure targets are allowed on this server, cloud metadata never is.
        json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        json!({"url": "http://[fe80::1]/x"}),
        json!({"url": "http://[::ffff:169.254.169.254]/x"}),
        json!({"url": "http://metadata.google.internal/computeMetadata/v1/"}),
    ] {
        let r = send(s.admin(Method::POST, "/v1/webhook_endpoints").json(&body)).await;
        r.assert_problem(422, "validation_failed");
    }
    assert_eq!(
        before,
        s.query_texts(&s.stored_state_query()),
        "nothing stored"
    );
    let (ep, _) = endpoint(&s, "https://hooks.example.com/x", Value::Null).await;
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/webhook_endpoints/{ep}"))
            .json(&json!({"status": "paused", "event_types": ["nope"]})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    let other = s.other_tenant_key();
    for (m, path) in [
        (Method::GET, format!("/v1/webhook_endpoints/{ep}")),
        (Method::DELETE, format!("/v1/webhook_endpoints/{ep}")),
        (
            Method::POST,
            format!("/v1/webhook_endpoints/{ep}/rotate_secret"),
        ),
        (Method::GET, "/v1/webhook_endpoints/we_nope".to_owned()),
    ] {
        let r = send(s.request(m, &path).header("x-api-key", &other)).await;
        r.assert_problem(404, "webhook_endpoint_not_found");
    }
    let listed = send(
        s.request(Method::GET, "/v1/webhook_endpoints")
            .header("x-api-key", &other),
    )
    .await;
    assert_eq!(listed.body["data"], json!([]));
    let r = send(s.admin(Method::DELETE, &format!("/v1/webhook_endpoints/{ep}"))).await;
    assert_eq!(r.status, 204);
    let r = send(s.admin(Method::GET, &format!("/v1/webhook_endpoints/{ep}"))).await;
    r.assert_problem(404, "webhook_endpoint_not_found");
}

/// The schedule with a moved clock: the service's own steps (claim, record) at chosen times,
/// the worker off.
async fn the_retry_schedule_follows_the_clock(s: TestServer) {
    use domain::webhook::RETRY_DELAYS;
    let (ep, _) = endpoint(
        &s,
        "https://hooks.example.com/in",
        json!(["customer.created"]),
    )
    .await;
    customer(&s, json!({"name": "Ivy"})).await;
    let steps = Steps(s.state.webhooks.clone());
    let t0 = domain::clock::now();
    let fanned = steps.run(move |w| w.fan_out(t0)).await;
    assert_eq!((fanned.events, fanned.deliveries), (1, 1));
    let mut at = t0;
    for (n, delay) in std::iter::once(chrono::Duration::zero())
        .chain(RETRY_DELAYS)
        .enumerate()
    {
        let n = n as i32 + 1;
        at += delay;
        let early = steps.claim(at - chrono::Duration::milliseconds(1)).await;
        assert!(early.is_empty(), "attempt {n} is not due before its time");
        let claimed = steps.claim(at).await;
        assert_eq!(claimed.len(), 1, "attempt {n} is due at its time");
        assert_eq!(claimed[0].attempt, n);
        if n == 3 {
            // Its sender died: the claim comes due again once its lease is over.
            let later = at + domain::webhook::LEASE;
            let again = steps.claim(later).await;
            assert_eq!(again[0].attempt, n + 1, "re-claimed after the lease");
            // The late report of the dead sender is logged but decides nothing.
            steps.fail(&claimed[0], at).await;
            steps.fail(&again[0], later).await;
            let log = deliveries(&s, &ep).await;
            assert_eq!(log[0]["attempts"], 4, "{}", log[0]);
            assert_eq!(log[0]["log"].as_array().unwrap().len(), 4);
            break;
        }
        steps.fail(&claimed[0], at).await;
    }
    // The rest of the schedule, from attempt 4 on: due exactly on it (no jitter given).
    let log = deliveries(&s, &ep).await;
    let mut at: DateTime<Utc> = log[0]["next_attempt_at"].as_str().unwrap().parse().unwrap();
    for n in 5..=8 {
        let claimed = steps.claim(at).await;
        assert_eq!(claimed.len(), 1, "attempt {n}");
        assert_eq!(claimed[0].attempt, n);
        steps.fail(&claimed[0], at).await;
        let log = deliveries(&s, &ep).await;
        match log[0]["next_attempt_at"].as_str() {
            Some(next) => {
                let next: DateTime<Utc> = next.parse().unwrap();
                assert_eq!(next - at, RETRY_DELAYS[n as usize - 1], "after attempt {n}");
                at = next;
            }
            None => {
                assert_eq!(n, 8, "the schedule has 8 attempts");
                assert_eq!(log[0]["status"], "failed");
            }
        }
    }
    assert!(steps
        .claim(at + chrono::Duration::days(30))
        .await
        .is_empty());
    let e = get(&s, &format!("/v1/webhook_endpoints/{ep}")).await;
    assert_eq!(e["status"], "enabled", "38 h of failures do not disable it");
    assert!(e["failing_since"].is_string());

    // Five days after the first failure, the next failure disables it.
    customer(&s, json!({"name": "Jo"})).await;
    let later = t0 + chrono::Duration::days(5);
    steps.run(move |w| w.fan_out(later)).await;
    let claimed = steps.claim(later).await;
    assert_eq!(claimed.len(), 1);
    steps.fail(&claimed[0], later).await;
    let e = get(&s, &format!("/v1/webhook_endpoints/{ep}")).await;
    assert_eq!(e["status"], "disabled");
    assert_eq!(e["disabled_reason"], "failing");
    let events = get(&s, "/v1/webhook_events?type=webhook_endpoint.disabled").await;
    assert_eq!(
        events["data"][0]["payload"]["data"]["disabled_reason"],
        "failing"
    );
    // Past the 30-day replay window, events that went out are forgotten with their log; the
    // one not fanned out yet stays.
    let next_month = t0 + chrono::Duration::days(31);
    assert_eq!(steps.run(move |w| w.purge(next_month)).await, 2);
    let left: Vec<String> = catalogue(&s).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(left, ["webhook_endpoint.disabled"]);
    assert!(deliveries(&s, &ep).await.is_empty());
}

/// The worker's steps, run by hand at chosen times (off the async executor, as the worker does).
struct Steps(domain::services::webhooks::WebhookService);

impl Steps {
    async fn run<T: Send + 'static>(
        &self,
        step: impl FnOnce(domain::services::webhooks::WebhookService) -> domain::DomainResult<T>
            + Send
            + 'static,
    ) -> T {
        let service = self.0.clone();
        tokio::task::spawn_blocking(move || step(service))
            .await
            .unwrap()
            .unwrap()
    }

    async fn claim(&self, at: DateTime<Utc>) -> Vec<domain::webhook::Dispatch> {
        self.run(move |w| w.claim(at, 10)).await
    }

    /// Reports the claimed attempt as answered 503 at `at`.
    async fn fail(&self, claimed: &domain::webhook::Dispatch, at: DateTime<Utc>) {
        let claimed = claimed.clone();
        let attempt = domain::webhook::DeliveryAttempt {
            number: claimed.attempt,
            attempted_at: at,
            http_status: Some(503),
            duration_ms: 3,
            response_excerpt: None,
            error: Some("HTTP 503".into()),
        };
        self.run(move |w| w.record(&claimed, &attempt, 0.0)).await
    }
}

async fn private_targets_are_refused_at_send_time(s: TestServer) {
    for url in [
        "http://hooks.example.com/in",
        "https://127.0.0.1/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/in",
        "https://10.0.0.8/in",
        // Loopback inside IPv6 (NAT64, translated, 6to4, Teredo) and in other IPv4 spellings.
        "https://[64:ff9b::7f00:1]/in",
        "https://[::ffff:0:7f00:1]/in",
        "https://[2002:7f00:1::]/in",
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/in",
        "https://2130706433/in",
    ] {
        let r = send(
            s.admin(Method::POST, "/v1/webhook_endpoints")
                .json(&json!({"url": url})),
        )
        .await;
        r.assert_problem(422, "validation_failed");
    }
    // A name is accepted, but where it leads is checked at each attempt: `localhost` resolves
    // to loopback only, so nothing is sent.
    let rx = Receiver::start();
    let port = rx
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let (ep, _) = endpoint(&s, &format!("https://localhost:{port}/hook"), Value::Null).await;
    let r = send(s.admin(Method::POST, &format!("/v1/webhook_endpoints/{ep}/test"))).await;
    assert_eq!(r.status, 202);
    let deadline = std::time::Instant::now() + WAIT;
    let attempt = loop {
        let d = deliveries(&s, &ep).await.remove(0);
        if let Some(a) = d["log"].as_array().unwrap().first() {
            break a.clone();
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert!(attempt["http_status"].is_null(), "{attempt}");
    let error = attempt["error"].as_str().unwrap();
    assert!(error.contains("loopback"), "{error}");
    assert!(rx.received().is_empty());
}

/// The catalogue's events, oldest first, as (type, data).
async fn catalogue(s: &TestServer) -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = get(s, "/v1/webhook_events?limit=100").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["payload"]["data"].clone(),
            )
        })
        .collect();
    all.reverse();
    all
}

async fn every_wallet_movement_is_reported_and_a_low_balance_once_crossed(s: TestServer) {
    let c = customer(&s, json!({"name": "Kim"})).await;
    let w = id(&created(
        &s,
        "/v1/wallets",
        json!({"customer_id": c, "currency": "USD", "low_balance_threshold": "10"}),
    )
    .await);
    let top_up = |credits: &str, extra: Value| {
        let mut body = json!({"credits": credits});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        send(
            s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
                .json(&body),
        )
    };
    let debit = |credits: &str| {
        send(
            s.admin(Method::POST, &format!("/v1/wallets/{w}/debit"))
                .json(&json!({"credits": credits})),
        )
    };
    assert_eq!(top_up("12", json!({})).await.status, 201); // 0 → 12
    assert_eq!(debit("1").await.status, 201); // 12 → 11
    assert_eq!(debit("2").await.status, 201); // 11 → 9: below 10
    assert_eq!(debit("1").await.status, 201); // 9 → 8: still below, not again
    assert_eq!(top_up("5", json!({})).await.status, 201); // 8 → 13
                                                          // An invoice paid from the wallet is a debit too: 13 → 9, below again.
    let inv = id(&created(
        &s,
        "/v1/invoices",
        json!({"customer_id": c, "currency": "USD",
               "lines": [{"description": "Seats", "quantity": "1", "unit_amount": "4.00"}]}),
    )
    .await);
    let r = send(s.admin(Method::POST, &format!("/v1/invoices/{inv}/finalize"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        s.admin(Method::POST, &format!("/v1/invoices/{inv}/payments"))
            .json(&json!({"amount": "4.00", "method": "wallet", "wallet_id": w})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Credits that expire leave with an event of their own (applied when the wallet is read).
    let soon = (Utc::now() + chrono::Duration::milliseconds(700)).to_rfc3339();
    assert_eq!(top_up("3", json!({"expires_at": soon})).await.status, 201); // 9 → 12
    tokio::time::sleep(Duration::from_millis(900)).await;
    let now = get(&s, &format!("/v1/wallets/{w}")).await;
    assert_eq!(now["balance"], "9");
    assert_eq!(now["low_balance_threshold"], "10");

    let wallet_events: Vec<(String, String)> = catalogue(&s)
        .await
        .into_iter()
        .filter(|(t, _)| t.starts_with("wallet."))
        .map(|(t, d)| (t, d["balance"].as_str().unwrap().to_owned()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("wallet.topped_up", "12"),
        ("wallet.debited", "11"),
        ("wallet.debited", "9"),
        ("wallet.low_balance", "9"),
        ("wallet.debited", "8"),
        ("wallet.topped_up", "13"),
        ("wallet.debited", "9"),
        ("wallet.low_balance", "9"),
        ("wallet.topped_up", "12"),
        ("wallet.credits_expired", "9"),
        ("wallet.low_balance", "9"),
    ]
    .iter()
    .map(|(t, b)| (t.to_string(), b.to_string()))
    .collect();
    assert_eq!(wallet_events, expected);
    // Clearing the threshold stops the alerts; a bad one is refused.
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{w}"))
            .json(&json!({"low_balance_threshold": "-1"})),
    )
    .await;
    r.assert_problem(422, "validation_failed");
    let r = send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{w}"))
            .json(&json!({"low_balance_threshold": null})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["low_balance_threshold"].is_null());
}

async fn a_subscription_reports_its_life(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "amount": "20"}),
    )
    .await;
    let c = customer(&s, json!({"name": "Lu"})).await;
    wallet(&s, &c, "USD", "1").await;
    // Collected from an empty wallet at once: past due from the start.
    let sub = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": c, "plan": "pro", "collection": "wallet", "trial_days": 0}),
    )
    .await);
    let invoice = get(&s, &format!("/v1/invoices?customer_id={c}")).await["data"][0].clone();
    let inv = invoice["id"].as_str().unwrap();
    let r = send(
        s.admin(Method::POST, &format!("/v1/invoices/{inv}/payments"))
            .json(&json!({"amount": "20.00", "method": "external"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        s.admin(Method::POST, &format!("/v1/subscriptions/{sub}/cancel"))
            .json(&json!({"at": "immediately"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen: Vec<(String, String)> = catalogue(&s)
        .await
        .into_iter()
        .filter(|(t, _)| t.starts_with("subscription.") || t.starts_with("invoice."))
        .map(|(t, d)| (t, d["status"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("invoice.finalized", "finalized"),
        ("subscription.created", "past_due"),
        ("subscription.past_due", "past_due"),
        ("invoice.paid", "finalized"),
        ("subscription.changed", "active"),
        ("subscription.canceled", "canceled"),
    ]
    .iter()
    .map(|(t, st)| (t.to_string(), st.to_string()))
    .collect();
    assert_eq!(seen, expected);
}
