//! The billing cycle over HTTP, rehearsed with test clocks: renewals that invoice the fee in
//! advance and the usage in arrears once per period (the upcoming-invoice preview agreeing to
//! the cent), collection from the wallet, dunning and recovery, catch-up after downtime, plan
//! changes with proration, immediate cancellation with the unused fee credited, the worker,
//! and bad input that changes nothing.

use serde_json::{json, Value};
use tests::fixtures::{created, customer, feature, id, portal_session, token, wallet};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    renewals_bill_each_period_once_as_previewed,
    plan_changes_prorate_and_cancellation_credits_the_unused_fee,
    dunning_retries_then_cancels_and_payment_recovers,
    bad_billing_input_changes_nothing,
    a_payment_racing_a_dunning_retry_pays_once,
    a_clock_advances_in_the_background_within_its_bound,
    an_archived_customer_is_never_billed_again,
);
on_both_backends!(
    start = with_worker;
    the_worker_catches_up_missed_periods_once,
    a_clock_left_advancing_is_taken_up_again,
    a_failing_renewal_is_reported_and_blocks_no_other,
);

fn with_worker(backend: tests::Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| c.billing_interval_secs = 1)
}

async fn clock(s: &TestServer, at: &str) -> String {
    id(&created(s, "/v1/test_clocks", json!({"frozen_time": at})).await)
}

/// Advances the clock to `to` and waits until it is there (the advance runs in the
/// background: `advancing`, then `ready`).
async fn advance(s: &TestServer, clock: &str, to: &str) {
    let r = send(
        s.admin(Method::POST, &format!("/v1/test_clocks/{clock}/advance"))
            .json(&json!({"to": to})),
    )
    .await;
    assert_eq!(r.status, 200, "advance to {to}: {}", r.body);
    assert_eq!(r.body["status"], "advancing", "{}", r.body);
    assert_eq!(r.body["advancing_to"].as_str().unwrap()[..19], to[..19]);
    ready(s, clock, to).await;
}

/// Waits until the clock is `ready` at `to`.
async fn ready(s: &TestServer, clock: &str, to: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let c = get(s, &format!("/v1/test_clocks/{clock}")).await;
        if c["status"] == "ready" {
            assert_eq!(c["frozen_time"].as_str().unwrap()[..19], to[..19], "{c}");
            assert!(c["advancing_to"].is_null(), "{c}");
            return c;
        }
        assert_eq!(c["status"], "advancing", "{c}");
        assert!(std::time::Instant::now() < deadline, "still advancing: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A public USD plan billed every day at 1.00 (code `daily`): many boundaries in a short advance.
async fn daily_plan(s: &TestServer) {
    created(
        s,
        "/v1/plans",
        json!({"code": "daily", "name": "Daily", "currency": "USD", "interval": "day", "amount": "1.00"}),
    )
    .await;
}

async fn get(s: &TestServer, path: &str) -> Value {
    let r = send(s.admin(Method::GET, path)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

async fn post(s: &TestServer, path: &str, body: Value) -> Reply {
    send(s.admin(Method::POST, path).json(&body)).await
}

/// The subscription's invoices, oldest first.
async fn invoices_of(s: &TestServer, customer: &str, sub: &str) -> Vec<Value> {
    let list = get(s, &format!("/v1/invoices?customer_id={customer}&limit=100")).await;
    let mut mine: Vec<Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["subscription_id"] == sub)
        .cloned()
        .collect();
    mine.reverse();
    mine
}

async fn top_up(s: &TestServer, wallet: &str, credits: &str) {
    let r = post(
        s,
        &format!("/v1/wallets/{wallet}/top_up"),
        json!({"credits": credits}),
    )
    .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
}

async fn balance(s: &TestServer, wallet: &str) -> String {
    get(s, &format!("/v1/wallets/{wallet}")).await["balance"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn amounts(lines: &Value) -> Vec<String> {
    lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_str().unwrap().to_owned())
        .collect()
}

async fn pro_plan(s: &TestServer) {
    feature(
        s,
        json!({"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "sum",
               "value_property": "quantity", "unit_price": "0", "currency": "USD"}),
    )
    .await;
    created(
        s,
        "/v1/plans",
        json!({"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "amount": "49.00",
               "charges": [{"feature": "api_calls", "included_quantity": "100",
                            "tiers": [{"up_to": "1000", "unit_price": "0.01"}, {"up_to": null, "unit_price": "0.005"}]}]}),
    )
    .await;
}

async fn renewals_bill_each_period_once_as_previewed(s: TestServer) {
    pro_plan(&s).await;
    let c = clock(&s, "2027-01-31T10:00:00Z").await;
    let cus = customer(&s, json!({"name": "Clocked", "test_clock": c})).await;
    let w = wallet(&s, &cus, "USD", "1").await;
    top_up(&s, &w, "100").await;
    // A customer on no clock, subscribed too: advancing the clock never touches them.
    let bystander = customer(&s, json!({"name": "Real time"})).await;
    let sub = post(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "pro", "collection": "wallet"}),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let sub = id(&sub);
    assert_eq!(
        post(
            &s,
            "/v1/subscriptions",
            json!({"customer_id": bystander, "plan": "pro"})
        )
        .await
        .status,
        201
    );
    let sub_view = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert_eq!(sub_view["current_period_start"], "2027-01-31T10:00:00Z");
    assert_eq!(sub_view["current_period_end"], "2027-02-28T10:00:00Z");
    assert_eq!(sub_view["test_clock_id"], c.as_str());

    // The first period's fee, in advance, paid from the wallet at once.
    let first = invoices_of(&s, &cus, &sub).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["total"], "49.00");
    assert_eq!(first[0]["payment_status"], "paid");
    assert_eq!(balance(&s, &w).await, "51");

    // 1,600 calls in February (clock time): 900 at 0.01, 600 at 0.005 after 100 included.
    // Events are checked against the clock: February is the future until the clock gets there.
    let early = post(
        &s,
        "/v1/events",
        json!({"event_id": "feb-0", "feature": "api_calls", "customer_id": cus,
               "timestamp": "2027-02-10T12:00:00Z", "properties": {"quantity": 1}}),
    )
    .await;
    early.assert_problem(422, "event_rejected");
    advance(&s, &c, "2027-02-10T12:00:00Z").await;
    assert_eq!(
        invoices_of(&s, &cus, &sub).await.len(),
        1,
        "nothing due yet"
    );
    let ev = post(
        &s,
        "/v1/events",
        json!({"event_id": "feb-1", "feature": "api_calls", "customer_id": cus,
               "timestamp": "2027-02-10T12:00:00Z", "properties": {"quantity": 1600}}),
    )
    .await;
    assert!(
        ev.status == 200 || ev.status == 201 || ev.status == 202,
        "{}",
        ev.body
    );
    let up = get(&s, &format!("/v1/subscriptions/{sub}/upcoming_invoice")).await;
    // Line amounts are exact (canonical text); the total is rounded once.
    assert_eq!(amounts(&up["lines"]), vec!["9", "3", "49"], "{up}");
    assert_eq!(up["total"], "61.00");
    assert_eq!(up["billing_at"], "2027-02-28T10:00:00Z");

    // The boundary: exactly the previewed invoice. 51 credits cover part: past due.
    advance(&s, &c, "2027-02-28T10:00:00Z").await;
    let all = invoices_of(&s, &cus, &sub).await;
    assert_eq!(all.len(), 2);
    let renewal = &all[1];
    assert_eq!(renewal["total"], up["total"]);
    assert_eq!(renewal["subtotal"], up["subtotal"]);
    assert_eq!(amounts(&renewal["lines"]), amounts(&up["lines"]));
    assert_eq!(renewal["billing_period_start"], "2027-02-28T10:00:00Z");
    assert_eq!(renewal["amount_paid"], "51.00");
    assert_eq!(renewal["payment_status"], "partially_paid");
    let after = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert_eq!(after["status"], "past_due");
    assert_eq!(
        after["current_period_end"], "2027-03-31T10:00:00Z",
        "month-end anchor"
    );

    // A top-up, then the first dunning retry a day later collects the rest.
    top_up(&s, &w, "1000").await;
    advance(&s, &c, "2027-03-01T10:00:00Z").await;
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{sub}")).await["status"],
        "active"
    );
    assert_eq!(
        invoices_of(&s, &cus, &sub).await[1]["payment_status"],
        "paid"
    );

    // Two months at once (the most one advance may cover on a monthly subscription), then the
    // rest: Mar 31, Apr 30 and May 31 each billed once, in order.
    let too_far = post(
        &s,
        &format!("/v1/test_clocks/{c}/advance"),
        json!({"to": "2027-06-15T00:00:00Z"}),
    )
    .await;
    too_far.assert_problem(422, "validation_failed");
    advance(&s, &c, "2027-05-01T10:00:00Z").await;
    assert_eq!(invoices_of(&s, &cus, &sub).await.len(), 4);
    advance(&s, &c, "2027-06-15T00:00:00Z").await;
    let all = invoices_of(&s, &cus, &sub).await;
    let keys: Vec<&str> = all
        .iter()
        .map(|i| i["billing_period_start"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec![
            "2027-01-31T10:00:00Z",
            "2027-02-28T10:00:00Z",
            "2027-03-31T10:00:00Z",
            "2027-04-30T10:00:00Z",
            "2027-05-31T10:00:00Z"
        ]
    );
    // Advancing again over the same ground bills nothing more.
    advance(&s, &c, "2027-06-16T00:00:00Z").await;
    assert_eq!(invoices_of(&s, &cus, &sub).await.len(), 5);
    let runs = get(
        &s,
        &format!("/v1/billing_runs?subscription_id={sub}&limit=100"),
    )
    .await;
    let renewals = runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "renewal")
        .count();
    assert_eq!(renewals, 4, "{runs}");
    assert!(runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["source"] == "test_clock"));

    // The bystander still has only its first invoice.
    let theirs = get(&s, &format!("/v1/invoices?customer_id={bystander}")).await;
    assert_eq!(theirs["data"].as_array().unwrap().len(), 1, "{theirs}");
}

async fn plan_changes_prorate_and_cancellation_credits_the_unused_fee(s: TestServer) {
    for (code, amount) in [("basic", "10.00"), ("plus", "31.00")] {
        created(
            &s,
            "/v1/plans",
            json!({"code": code, "name": code, "currency": "USD", "interval": "month", "amount": amount}),
        )
        .await;
    }
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    let cus = customer(&s, json!({"name": "Changer", "test_clock": c})).await;
    let w = wallet(&s, &cus, "USD", "1").await;
    top_up(&s, &w, "1000").await;
    let sub = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "basic", "collection": "wallet"}),
    )
    .await);

    // Jan 15: 17 of January's 31 days remain. 10 × 17/31 = 5.4838… → 5.48 back; plus 31 × 17/31.
    advance(&s, &c, "2027-01-15T00:00:00Z").await;
    let preview = post(
        &s,
        &format!("/v1/subscriptions/{sub}/change/preview"),
        json!({"plan": "plus"}),
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["at"], "immediately");
    assert_eq!(preview.body["upgrade"], true);
    assert_eq!(amounts(&preview.body["lines"]), vec!["-5.48", "17"]);
    assert_eq!(preview.body["net"], "11.52");
    // The preview changed nothing.
    assert_eq!(invoices_of(&s, &cus, &sub).await.len(), 1);

    let changed = post(
        &s,
        &format!("/v1/subscriptions/{sub}/change"),
        json!({"plan": "plus"}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let all = invoices_of(&s, &cus, &sub).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["total"], "11.52");
    assert_eq!(all[1]["payment_status"], "paid");
    assert_eq!(balance(&s, &w).await, "978.48");

    // A downgrade waits for the period's end.
    let down = post(
        &s,
        &format!("/v1/subscriptions/{sub}/change"),
        json!({"plan": "basic"}),
    )
    .await;
    assert_eq!(down.status, 200, "{}", down.body);
    assert!(down.body["pending_plan_id"].is_string(), "{}", down.body);
    advance(&s, &c, "2027-02-01T00:00:00Z").await;
    let all = invoices_of(&s, &cus, &sub).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["total"], "10.00", "the renewal bills the new plan");
    let view = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert!(view["pending_plan_id"].is_null());
    assert_eq!(balance(&s, &w).await, "968.48");

    // Feb 11, cancelled at once: 18 of February's 28 days unused, 10 × 18/28 = 6.43 credited.
    advance(&s, &c, "2027-02-11T00:00:00Z").await;
    let cancel = post(
        &s,
        &format!("/v1/subscriptions/{sub}/cancel"),
        json!({"at": "immediately", "unused": "wallet_credit"}),
    )
    .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    assert_eq!(cancel.body["status"], "canceled");
    assert_eq!(cancel.body["ended_at"], "2027-02-11T00:00:00Z");
    assert_eq!(balance(&s, &w).await, "974.91");
    // Nothing more is billed.
    advance(&s, &c, "2027-04-01T00:00:00Z").await;
    assert_eq!(invoices_of(&s, &cus, &sub).await.len(), 3);
    post(
        &s,
        &format!("/v1/subscriptions/{sub}/upcoming_invoice"),
        json!({}),
    )
    .await;
    send(s.admin(
        Method::GET,
        &format!("/v1/subscriptions/{sub}/upcoming_invoice"),
    ))
    .await
    .assert_problem(409, "subscription_ended");
}

async fn dunning_retries_then_cancels_and_payment_recovers(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "basic", "name": "Basic", "currency": "EUR", "interval": "month", "amount": "10.00"}),
    )
    .await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "patient", "name": "Patient", "currency": "EUR", "interval": "month", "amount": "10.00",
               "past_due_action": "leave_unpaid"}),
    )
    .await;
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    let waits = customer(&s, json!({"name": "Waited for", "test_clock": c})).await;
    wallet(&s, &waits, "EUR", "1").await;
    let patient = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": waits, "plan": "patient", "collection": "wallet"}),
    )
    .await);
    let broke = customer(&s, json!({"name": "Broke", "test_clock": c})).await;
    wallet(&s, &broke, "EUR", "1").await;
    let payer = customer(&s, json!({"name": "Pays later", "test_clock": c})).await;
    wallet(&s, &payer, "EUR", "1").await;
    let mut subs = Vec::new();
    for cus in [&broke, &payer] {
        let r = created(
            &s,
            "/v1/subscriptions",
            json!({"customer_id": cus, "plan": "basic", "collection": "wallet"}),
        )
        .await;
        assert_eq!(r.body["status"], "past_due", "an empty wallet: {}", r.body);
        subs.push(id(&r));
    }
    // The payer settles the invoice another way on Jan 3: back to active.
    advance(&s, &c, "2027-01-03T00:00:00Z").await;
    let inv = invoices_of(&s, &payer, &subs[1]).await;
    let paid = post(
        &s,
        &format!("/v1/invoices/{}/payments", inv[0]["id"].as_str().unwrap()),
        json!({"amount": "10.00", "method": "external", "reference": "bank-42"}),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{}", subs[1])).await["status"],
        "active"
    );

    // Retries on Jan 2, 4 and 8 fail; then the subscription is canceled, the invoice open.
    advance(&s, &c, "2027-01-09T00:00:00Z").await;
    let view = get(&s, &format!("/v1/subscriptions/{}", subs[0])).await;
    assert_eq!(view["status"], "canceled", "{view}");
    assert_eq!(view["ended_at"], "2027-01-08T00:00:00Z");
    let runs = get(&s, &format!("/v1/billing_runs?subscription_id={}", subs[0])).await;
    let outcomes: Vec<&str> = runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        vec!["past_due", "past_due", "canceled_unpaid"],
        "{runs}"
    );
    assert_eq!(
        invoices_of(&s, &broke, &subs[0]).await[0]["payment_status"],
        "unpaid"
    );
    assert_eq!(
        get(&s, &format!("/v1/subscriptions/{}", subs[1])).await["status"],
        "active"
    );
    // A plan that leaves unpaid subscriptions alone: past due after the last retry, not canceled.
    let kept = get(&s, &format!("/v1/subscriptions/{patient}")).await;
    assert_eq!(kept["status"], "past_due", "{kept}");
    let runs = get(&s, &format!("/v1/billing_runs?subscription_id={patient}")).await;
    assert_eq!(runs["data"][0]["outcome"], "left_unpaid", "{runs}");
}

/// A server that was down for three daily periods: its worker (every second here) bills each
/// missed boundary once, in order, and nothing more on later passes.
async fn the_worker_catches_up_missed_periods_once(s: TestServer) {
    daily_plan(&s).await;
    let cus = customer(&s, json!({"name": "Daily"})).await;
    let sub = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "daily"}),
    )
    .await);
    // Move the subscription's start three days and an hour back, as if the server had been off.
    let start = chrono::Utc::now() - chrono::Duration::days(3) - chrono::Duration::hours(1);
    let end = start + chrono::Duration::days(1);
    let t =
        |x: chrono::DateTime<chrono::Utc>| x.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    s.execute_sql(&format!(
        "UPDATE subscriptions SET anchor_at = '{a}', started_at = '{a}', current_period_start = '{a}', \
         current_period_end = '{e}', due_at = '{e}' WHERE id = '{sub}'",
        a = t(start),
        e = t(end)
    ));
    let mut billed = Vec::new();
    for _ in 0..100 {
        billed = invoices_of(&s, &cus, &sub).await;
        if billed.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Let the worker pass a few more times: nothing is billed twice.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let billed = {
        let again = invoices_of(&s, &cus, &sub).await;
        assert_eq!(again.len(), billed.len());
        again
    };
    let keys: Vec<String> = billed[1..]
        .iter()
        .map(|i| i["billing_period_start"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (1..=3)
        .map(|n| t(start + chrono::Duration::days(n)).replace(".000000Z", "Z"))
        .collect();
    assert_eq!(billed.len(), 4, "the first invoice and three renewals");
    let steps = s
        .metric(r#"billing_steps_total{outcome="done"}"#)
        .await
        .unwrap();
    assert!(steps >= 3.0, "the worker's renewals are counted: {steps}");
    assert_eq!(
        s.metric(r#"backlog_pending{queue="billing"}"#).await,
        Some(0.0)
    );
    assert_eq!(
        keys.iter().map(|k| k[..19].to_owned()).collect::<Vec<_>>(),
        expected
            .iter()
            .map(|k| k[..19].to_owned())
            .collect::<Vec<_>>()
    );
    let view = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert!(view["current_period_end"].as_str().unwrap() > t(chrono::Utc::now()).as_str());
    let runs = get(&s, &format!("/v1/billing_runs?subscription_id={sub}")).await;
    assert!(runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["source"] == "worker"));
}

/// Three subscriptions come due together, so the worker takes them in one batch. The middle
/// one's renewal fails (its period's invoice key is already taken, as a half-restored backup
/// could leave it): that failure is undone alone, recorded with its reason and set aside for an
/// hour, while the other two renew in the same pass; later passes do not retry it in a loop.
async fn a_failing_renewal_is_reported_and_blocks_no_other(s: TestServer) {
    daily_plan(&s).await;
    let mut subs = Vec::new();
    for name in ["Ann", "Ben", "Cat"] {
        let cus = customer(&s, json!({"name": name})).await;
        let sub = id(&created(
            &s,
            "/v1/subscriptions",
            json!({"customer_id": cus, "plan": "daily"}),
        )
        .await);
        subs.push((cus, sub));
    }
    let start = chrono::Utc::now() - chrono::Duration::days(1) - chrono::Duration::hours(1);
    let end = start + chrono::Duration::days(1);
    let t =
        |x: chrono::DateTime<chrono::Utc>| x.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (ben_customer, ben) = subs[1].clone();
    // A copy of Ben's first invoice that claims the key of his next renewal.
    s.execute_sql(&format!(
        "INSERT INTO invoices (id, tenant_id, customer_id, number, status, payment_status, currency, \
         memo, lines, subtotal, total, total_minor, amount_paid, due_at, issued_at, voided_at, \
         created_at, updated_at, subscription_id, billing_period_start) \
         SELECT 'inv_01JD7P0000000000000000000A', tenant_id, customer_id, NULL, status, \
         payment_status, currency, memo, lines, subtotal, total, total_minor, amount_paid, due_at, \
         issued_at, voided_at, created_at, updated_at, subscription_id, '{e}' \
         FROM invoices WHERE subscription_id = '{ben}'",
        e = t(end)
    ));
    let ids: Vec<String> = subs.iter().map(|(_, s)| format!("'{s}'")).collect();
    s.execute_sql(&format!(
        "UPDATE subscriptions SET anchor_at = '{a}', started_at = '{a}', current_period_start = '{a}', \
         current_period_end = '{e}', due_at = '{e}' WHERE id IN ({ids})",
        a = t(start),
        e = t(end),
        ids = ids.join(", ")
    ));
    for (cus, sub) in [&subs[0], &subs[2]] {
        let mut billed = Vec::new();
        for _ in 0..100 {
            billed = invoices_of(&s, cus, sub).await;
            if billed.len() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(
            billed.len(),
            2,
            "the first invoice and the renewal of {sub}"
        );
        let view = get(&s, &format!("/v1/subscriptions/{sub}")).await;
        assert!(
            view["current_period_start"].as_str().unwrap()[..19] == t(end)[..19],
            "{view}"
        );
        assert!(view["billing_error"].is_null(), "{view}");
    }
    // Several more passes of the worker (every second).
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let view = get(&s, &format!("/v1/subscriptions/{ben}")).await;
    assert_eq!(
        view["current_period_start"].as_str().unwrap()[..19],
        t(start)[..19],
        "{view}"
    );
    assert!(
        view["billing_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{view}"
    );
    assert_eq!(
        invoices_of(&s, &ben_customer, &ben).await.len(),
        2,
        "nothing new for Ben"
    );
    let runs = get(&s, &format!("/v1/billing_runs?subscription_id={ben}")).await;
    let runs = runs["data"].as_array().unwrap();
    let failed: Vec<&Value> = runs.iter().filter(|r| r["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 1, "recorded once, then set aside: {runs:?}");
    assert_eq!(failed[0]["kind"], "failure");
    assert!(failed[0]["error"].as_str().is_some_and(|e| !e.is_empty()));
}

async fn bad_billing_input_changes_nothing(s: TestServer) {
    pro_plan(&s).await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "euro", "name": "Euro", "currency": "EUR", "interval": "month", "amount": "5"}),
    )
    .await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "yearly", "name": "Yearly", "currency": "USD", "interval": "year", "amount": "500"}),
    )
    .await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "secret", "name": "Secret", "currency": "USD", "interval": "month", "amount": "99", "visibility": "private"}),
    )
    .await;
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    // Clocks: backwards, too far, missing, out of range, unknown.
    for (body, field) in [
        (json!({"to": "2026-12-31T00:00:00Z"}), "to"),
        (json!({"to": "2031-01-01T00:00:00Z"}), "to"),
        (json!({}), "to"),
        (json!({"to": "3000-01-01T00:00:00Z"}), "to"),
    ] {
        let r = post(&s, &format!("/v1/test_clocks/{c}/advance"), body).await;
        r.assert_problem(422, "validation_failed");
        assert!(r.fields().contains(&field.to_owned()), "{}", r.body);
    }
    assert_eq!(
        get(&s, &format!("/v1/test_clocks/{c}")).await["frozen_time"],
        "2027-01-01T00:00:00Z"
    );
    post(
        &s,
        "/v1/test_clocks/clock_01jd3x6v9f5m2q8r7t4w0y1z3a/advance",
        json!({"to": "2027-02-01T00:00:00Z"}),
    )
    .await
    .assert_problem(404, "test_clock_not_found");
    post(&s, "/v1/test_clocks", json!({}))
        .await
        .assert_problem(422, "validation_failed");
    post(
        &s,
        "/v1/customers",
        json!({"name": "x", "test_clock": "clock_01jd3x6v9f5m2q8r7t4w0y1z3a"}),
    )
    .await
    .assert_problem(404, "test_clock_not_found");

    let cus = customer(&s, json!({"name": "Careful", "test_clock": c})).await;
    let sub = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "pro"}),
    )
    .await);
    let change = format!("/v1/subscriptions/{sub}/change");
    post(&s, &change, json!({"plan": "pro"}))
        .await
        .assert_problem(422, "validation_failed");
    post(&s, &change, json!({"plan": "euro"}))
        .await
        .assert_problem(422, "currency_mismatch");
    post(&s, &change, json!({"plan": "nope"}))
        .await
        .assert_problem(404, "plan_not_found");
    post(&s, &change, json!({"plan": "yearly", "at": "immediately"}))
        .await
        .assert_problem(422, "validation_failed");
    post(&s, &change, json!({"plan": "yearly", "at": "sometime"}))
        .await
        .assert_problem(422, "validation_failed");
    // An immediate downgrade credits a wallet the customer does not have.
    created(&s, "/v1/plans", json!({"code": "mini", "name": "Mini", "currency": "USD", "interval": "month", "amount": "1"})).await;
    post(&s, &change, json!({"plan": "mini", "at": "immediately"}))
        .await
        .assert_problem(422, "currency_mismatch");
    post(
        &s,
        &format!("/v1/subscriptions/{sub}/cancel"),
        json!({"at": "immediately", "unused": "wallet_credit"}),
    )
    .await
    .assert_problem(422, "currency_mismatch");
    post(
        &s,
        &format!("/v1/subscriptions/{sub}/cancel"),
        json!({"unused": "everything"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let view = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert_eq!(view["status"], "active");
    assert!(view["pending_plan_id"].is_null());
    assert_eq!(invoices_of(&s, &cus, &sub).await.len(), 1);

    // The portal: changing plans needs `plan_change`, and only public plans are offered.
    let locked = token(&portal_session(&s, json!({"customer_id": cus})).await);
    let portal_change = format!("/v1/portal/subscriptions/{sub}/change");
    send(
        s.portal(Method::POST, &portal_change, &locked)
            .json(&json!({"plan": "yearly"})),
    )
    .await
    .assert_problem(403, "action_not_allowed");
    let open = token(
        &portal_session(
            &s,
            json!({"customer_id": cus, "permissions": {"plan_change": {"enabled": true}}}),
        )
        .await,
    );
    send(
        s.portal(Method::POST, &portal_change, &open)
            .json(&json!({"plan": "secret"})),
    )
    .await
    .assert_problem(404, "plan_not_found");
    let up = send(s.portal(
        Method::GET,
        &format!("/v1/portal/subscriptions/{sub}/upcoming_invoice"),
        &open,
    ))
    .await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.body["total"], "49.00");
    // The yearly plan starts at the period's end; the change is audited.
    let ok = send(
        s.portal(Method::POST, &portal_change, &open)
            .json(&json!({"plan": "yearly"})),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["pending_plan_id"].is_string());
    let audit = get(&s, "/v1/audit_events?limit=100").await;
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "subscription.plan_changed"),
        "{audit}"
    );
    // Another customer's subscription is not found from this session.
    let other = customer(&s, json!({"name": "Other"})).await;
    let theirs = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": other, "plan": "pro"}),
    )
    .await);
    send(s.portal(
        Method::GET,
        &format!("/v1/portal/subscriptions/{theirs}/upcoming_invoice"),
        &open,
    ))
    .await
    .assert_problem(404, "subscription_not_found");
}

/// A merchant's payment of a past-due invoice while billing's dunning retry collects the same
/// invoice from the wallet: both lock the subscription first, so neither waits for what the
/// other holds (no deadlock, no 500), and the invoice is paid exactly once.
async fn a_payment_racing_a_dunning_retry_pays_once(s: TestServer) {
    created(
        &s,
        "/v1/plans",
        json!({"code": "race", "name": "Race", "currency": "EUR", "interval": "month", "amount": "10.00"}),
    )
    .await;
    for round in 0..12 {
        let c = clock(&s, "2027-01-01T00:00:00Z").await;
        let cus = customer(
            &s,
            json!({"name": format!("Racer {round}"), "test_clock": c}),
        )
        .await;
        let w = wallet(&s, &cus, "EUR", "1").await;
        let sub = created(
            &s,
            "/v1/subscriptions",
            json!({"customer_id": cus, "plan": "race", "collection": "wallet"}),
        )
        .await;
        assert_eq!(sub.body["status"], "past_due");
        let sub = id(&sub);
        let inv = invoices_of(&s, &cus, &sub).await;
        let inv = inv[0]["id"].as_str().unwrap().to_owned();
        let r = send(
            s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
                .json(&json!({"credits": "10"})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let retry = s
            .admin(Method::POST, &format!("/v1/test_clocks/{c}/advance"))
            .json(&json!({"to": "2027-01-02T12:00:00Z"}));
        let pay = s
            .admin(Method::POST, &format!("/v1/invoices/{inv}/payments"))
            .json(&json!({"amount": "10.00", "method": "external"}));
        let (retried, paid) = tokio::join!(send(retry), send(pay));
        assert_eq!(retried.status, 200, "round {round}: {}", retried.body);
        ready(&s, &c, "2027-01-02T12:00:00Z").await;
        assert!(
            paid.status == 201 || paid.body["code"] == "overpayment",
            "round {round}: {} {}",
            paid.status,
            paid.body
        );
        let invoice = get(&s, &format!("/v1/invoices/{inv}")).await;
        assert_eq!(invoice["payment_status"], "paid", "round {round}");
        assert_eq!(invoice["amount_paid"], "10.00", "round {round}: paid once");
        let balance = get(&s, &format!("/v1/wallets/{w}")).await["balance"].clone();
        let expected = if paid.status == 201 { "10" } else { "0" };
        assert_eq!(
            balance, expected,
            "round {round}: the wallet paid only if the merchant did not"
        );
        assert_eq!(
            get(&s, &format!("/v1/subscriptions/{sub}")).await["status"],
            "active"
        );
    }
}

/// The advance answers at once (`advancing`), the clock turns `ready` at the target, and one
/// advance goes at most two intervals of the shortest running subscription (two years with
/// none); another advance while one runs is refused.
async fn a_clock_advances_in_the_background_within_its_bound(s: TestServer) {
    daily_plan(&s).await;
    created(
        &s,
        "/v1/plans",
        json!({"code": "monthly", "name": "Monthly", "currency": "USD", "interval": "month", "amount": "30"}),
    )
    .await;
    // No subscription: two years at most.
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    let too_far = post(
        &s,
        &format!("/v1/test_clocks/{c}/advance"),
        json!({"to": "2029-01-01T00:00:01Z"}),
    )
    .await;
    too_far.assert_problem(422, "validation_failed");
    assert!(
        too_far.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2029-01-01T00:00:00Z"),
        "{}",
        too_far.body
    );
    advance(&s, &c, "2029-01-01T00:00:00Z").await;

    // A monthly and a daily subscription: two days at most.
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    let cus = customer(&s, json!({"name": "Stepper", "test_clock": c})).await;
    for plan in ["monthly", "daily"] {
        created(
            &s,
            "/v1/subscriptions",
            json!({"customer_id": cus, "plan": plan}),
        )
        .await;
    }
    post(
        &s,
        &format!("/v1/test_clocks/{c}/advance"),
        json!({"to": "2027-01-03T00:00:01Z"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(
        get(&s, &format!("/v1/test_clocks/{c}")).await["status"],
        "ready"
    );
    advance(&s, &c, "2027-01-03T00:00:00Z").await;
    let daily = get(&s, &format!("/v1/invoices?customer_id={cus}&limit=100")).await;
    // The two first periods at subscribing, then the daily renewals of Jan 2 and Jan 3.
    assert_eq!(daily["data"].as_array().unwrap().len(), 4, "{daily}");

    // While a worker holds the clock advancing, the clock reads as such and another advance
    // is refused.
    s.execute_sql(&format!(
        "UPDATE test_clocks SET status = 'advancing', advancing_to = frozen_time, \
         lease_until = '2999-01-01T00:00:00.000000Z' WHERE id = '{c}'"
    ));
    let held = get(&s, &format!("/v1/test_clocks/{c}")).await;
    assert_eq!(held["status"], "advancing", "{held}");
    post(
        &s,
        &format!("/v1/test_clocks/{c}/advance"),
        json!({"to": "2027-01-04T00:00:00Z"}),
    )
    .await
    .assert_problem(409, "test_clock_advancing");
}

/// A clock left `advancing` by a worker that went away (its lease ran out) is taken up by the
/// billing worker and reaches its target, billing each boundary once.
async fn a_clock_left_advancing_is_taken_up_again(s: TestServer) {
    daily_plan(&s).await;
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    let cus = customer(&s, json!({"name": "Orphan", "test_clock": c})).await;
    created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "daily"}),
    )
    .await;
    // As a crashed worker leaves it: advancing to Jan 3, its lease long over.
    s.execute_sql(&format!(
        "UPDATE test_clocks SET status = 'advancing', \
         advancing_to = '2027-01-03T00:00:00.000000Z', lease_until = created_at WHERE id = '{c}'"
    ));
    ready(&s, &c, "2027-01-03T00:00:00Z").await;
    let runs = get(&s, "/v1/billing_runs?limit=100").await;
    let renewals = runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "renewal")
        .count();
    assert_eq!(renewals, 2, "Jan 2 and Jan 3, once each: {runs}");
}

/// A customer archived before archiving refused running subscriptions (here: by hand in the
/// database) is never billed again: the next boundary ends the subscription, no invoice.
async fn an_archived_customer_is_never_billed_again(s: TestServer) {
    daily_plan(&s).await;
    let c = clock(&s, "2027-01-01T00:00:00Z").await;
    let cus = customer(&s, json!({"name": "Gone", "test_clock": c})).await;
    let sub = id(&created(
        &s,
        "/v1/subscriptions",
        json!({"customer_id": cus, "plan": "daily"}),
    )
    .await);
    let before = invoices_of(&s, &cus, &sub).await.len();
    s.execute_sql(&format!(
        "UPDATE customers SET status = 'archived', archived_at = updated_at WHERE id = '{cus}'"
    ));
    advance(&s, &c, "2027-01-03T00:00:00Z").await;
    assert_eq!(
        invoices_of(&s, &cus, &sub).await.len(),
        before,
        "no new invoice"
    );
    let ended = get(&s, &format!("/v1/subscriptions/{sub}")).await;
    assert_eq!(ended["status"], "canceled", "{ended}");
    assert_eq!(ended["ended_at"], "2027-01-02T00:00:00Z", "{ended}");
}
