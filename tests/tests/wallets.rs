//! Wallets and the credit ledger over HTTP: exact amounts, consumption order, expiry, and the
//! invariants under concurrency and random operations.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use futures_util::future::join_all;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tests::{on_both_backends, send, Method, Reply, TestServer};

on_both_backends!(
    wallet_lifecycle,
    amounts_are_exact,
    insufficient_credits_change_nothing,
    concurrent_debits_never_overdraw,
    top_up_retries_credit_once,
    expired_credits_leave_the_balance,
    random_operations_keep_the_invariants,
    portal_sees_only_its_own_wallets,
    many_live_lots_are_drawn_in_order,
    a_debit_writes_back_the_lots_it_drew_from,
    lots_left_unwritten_are_rewritten_from_the_ledger,
    the_history_shows_each_lots_priority_and_expiry,
);

fn d(s: &str) -> BigDecimal {
    BigDecimal::from_str(s).unwrap()
}

fn dv(v: &Value) -> BigDecimal {
    d(v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}")))
}

async fn customer(s: &TestServer, ext: &str) -> String {
    tests::fixtures::customer_named(s, ext).await
}

async fn wallet(s: &TestServer, customer_id: &str, rate: &str) -> String {
    tests::fixtures::wallet(s, customer_id, "USD", rate).await
}

async fn top_up(s: &TestServer, w: &str, body: Value) -> Reply {
    send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/top_up"))
            .json(&body),
    )
    .await
}

async fn debit(s: &TestServer, w: &str, credits: &str) -> Reply {
    send(
        s.admin(Method::POST, &format!("/v1/wallets/{w}/debit"))
            .json(&json!({"credits": credits})),
    )
    .await
}

async fn balance(s: &TestServer, w: &str) -> BigDecimal {
    dv(&send(s.admin(Method::GET, &format!("/v1/wallets/{w}")))
        .await
        .body["balance"])
}

async fn all_transactions(s: &TestServer, w: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/wallets/{w}/transactions?limit=100&cursor={c}"),
            None => format!("/v1/wallets/{w}/transactions?limit=100"),
        };
        let page = send(s.admin(Method::GET, &path)).await;
        out.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    out.reverse(); // oldest first
    out
}

/// What the wallet's live lots hold, as stored.
fn lots_sum(s: &TestServer, w: &str) -> BigDecimal {
    let tenant = s.state.api_keys.tenant_ids().unwrap()[0].clone();
    s.state
        .wallets
        .live_lots(&tenant, &domain::id::parse(w).unwrap())
        .unwrap()
        .into_iter()
        .map(|l| l.available)
        .sum()
}

/// Balance = sum of live lots = replay of the ledger; every entry chains to the next.
async fn assert_invariants(s: &TestServer, w: &str) {
    let bal = balance(s, w).await;
    assert!(bal >= 0, "negative balance {bal}");
    assert_eq!(lots_sum(s, w), bal, "balance equals the sum of live lots");
    let mut replay = BigDecimal::from(0);
    for t in all_transactions(s, w).await {
        assert_eq!(dv(&t["balance_before"]), replay, "entries chain: {t}");
        let credits = dv(&t["credits"]);
        if t["type"] == "credit" {
            replay += credits;
        } else {
            replay -= credits;
        }
        assert_eq!(dv(&t["balance_after"]), replay, "entry balance_after: {t}");
    }
    assert_eq!(replay, bal, "the ledger replays to the balance");
}

async fn wallet_lifecycle(s: TestServer) {
    let c = customer(&s, "life").await;
    let w = wallet(&s, &c, "0.01").await;
    let created = send(s.admin(Method::GET, &format!("/v1/wallets/{w}"))).await;
    assert_eq!(created.body["balance"], "0");
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["currency"], "USD");

    let purchased = top_up(&s, &w, json!({"credits": "100", "reference": "order-1"})).await;
    assert_eq!(purchased.status, 201, "{}", purchased.body);
    assert_eq!(purchased.body["transaction"]["type"], "credit");
    assert_eq!(purchased.body["transaction"]["reason"], "purchased");
    assert_eq!(purchased.body["transaction"]["value"], "1");
    let promo = top_up(
        &s,
        &w,
        json!({"credits": "50", "kind": "promotional", "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(promo.body["wallet"]["balance"], "150");
    let bonus = top_up(
        &s,
        &w,
        json!({"credits": "5", "kind": "promotional", "priority": -1}),
    )
    .await;
    assert_eq!(bonus.status, 201);

    // Priority first (the -1 bonus), then the lot that expires (promotional), then the rest.
    let r = debit(&s, &w, "60").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let alloc: Vec<(String, String)> = r.body["transaction"]["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_owned(),
                a["credits"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        alloc,
        vec![
            ("promotional".into(), "5".into()),
            ("promotional".into(), "50".into()),
            ("purchased".into(), "5".into())
        ]
    );
    assert_eq!(r.body["transaction"]["balance_before"], "155");
    assert_eq!(r.body["transaction"]["balance_after"], "95");
    assert_eq!(r.body["wallet"]["balance_value"], "0.95");

    let debits = send(s.admin(
        Method::GET,
        &format!("/v1/wallets/{w}/transactions?type=debit"),
    ))
    .await;
    assert_eq!(debits.body["data"].as_array().unwrap().len(), 1);
    send(s.admin(
        Method::GET,
        &format!("/v1/wallets/{w}/transactions?type=gift"),
    ))
    .await
    .assert_problem(422, "validation_failed");

    // Frozen: keeps credits, refuses movements; unfrozen: works again.
    let frozen = send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{w}"))
            .json(&json!({"status": "frozen"})),
    )
    .await;
    assert_eq!(frozen.body["status"], "frozen");
    debit(&s, &w, "1")
        .await
        .assert_problem(409, "wallet_frozen");
    top_up(&s, &w, json!({"credits": "1"}))
        .await
        .assert_problem(409, "wallet_frozen");
    send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{w}"))
            .json(&json!({"status": "active", "name": "API credits"})),
    )
    .await;
    assert_eq!(debit(&s, &w, "1").await.status, 201);

    // Close: the rest is voided by one entry; the wallet takes nothing more.
    let closed = send(s.admin(Method::POST, &format!("/v1/wallets/{w}/close"))).await;
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["balance"], "0");
    assert_eq!(closed.body["name"], "API credits");
    let voids = send(s.admin(
        Method::GET,
        &format!("/v1/wallets/{w}/transactions?type=void"),
    ))
    .await;
    assert_eq!(voids.body["data"][0]["credits"], "94");
    top_up(&s, &w, json!({"credits": "1"}))
        .await
        .assert_problem(409, "wallet_closed");
    assert_eq!(
        send(s.admin(Method::POST, &format!("/v1/wallets/{w}/close")))
            .await
            .status,
        200,
        "idempotent"
    );
    send(
        s.admin(Method::PATCH, &format!("/v1/wallets/{w}"))
            .json(&json!({"status": "active"})),
    )
    .await
    .assert_problem(409, "wallet_closed");
    assert_invariants(&s, &w).await;

    // Bad input, isolation.
    for bad in [
        json!({"credits": "-1"}),
        json!({"credits": "0"}),
        json!({"credits": "abc"}),
        json!({"credits": 5}),
        json!({"credits": "1", "tip": 1}),
    ] {
        let w2 = wallet(&s, &c, "1").await;
        send(
            s.admin(Method::POST, &format!("/v1/wallets/{w2}/top_up"))
                .json(&bad),
        )
        .await
        .assert_problem(422, "validation_failed");
        assert_eq!(balance(&s, &w2).await, BigDecimal::from(0));
    }
    top_up(
        &s,
        &wallet(&s, &c, "1").await,
        json!({"credits": "1", "expires_at": "2000-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    for bad in [
        json!({"customer_id": c, "currency": "XXX"}),
        json!({"customer_id": c, "currency": "USD", "conversion_rate": "0"}),
    ] {
        send(s.admin(Method::POST, "/v1/wallets").json(&bad))
            .await
            .assert_problem(422, "validation_failed");
    }
    send(
        s.admin(Method::POST, "/v1/wallets")
            .json(&json!({"customer_id": "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "currency": "USD"})),
    )
    .await
    .assert_problem(404, "customer_not_found");
    let other = s.other_tenant_key();
    send(
        s.request(Method::GET, &format!("/v1/wallets/{w}"))
            .header("x-api-key", &other),
    )
    .await
    .assert_problem(404, "wallet_not_found");
    send(
        s.request(Method::POST, &format!("/v1/wallets/{w}/debit"))
            .header("x-api-key", &other)
            .json(&json!({"credits": "1"})),
    )
    .await
    .assert_problem(404, "wallet_not_found");
}

async fn amounts_are_exact(s: TestServer) {
    let c = customer(&s, "exact").await;
    let w = wallet(&s, &c, "0.01").await;
    top_up(&s, &w, json!({"credits": "0.1"})).await;
    let r = top_up(&s, &w, json!({"credits": "0.2"})).await;
    assert_eq!(r.body["wallet"]["balance"], "0.3", "0.1 + 0.2 = 0.3");
    top_up(&s, &w, json!({"credits": "1000000000000"})).await;
    top_up(&s, &w, json!({"credits": "0.000001"})).await;
    assert_eq!(balance(&s, &w).await, d("1000000000000.300001"));
    let r = debit(&s, &w, "1000000000000.000001").await;
    assert_eq!(r.body["wallet"]["balance"], "0.3");
    assert_eq!(
        r.body["transaction"]["value"], "10000000000.00000001",
        "value = credits × rate, exact"
    );
    // Display rounding: 1250.5 credits × 0.01 = 12.505 → 12.51 (half away from zero).
    let w2 = wallet(&s, &c, "0.01").await;
    let r = top_up(&s, &w2, json!({"credits": "1250.5"})).await;
    assert_eq!(r.body["wallet"]["balance_value"], "12.51");
    assert_invariants(&s, &w).await;
    // A movement and the balance stay below 10^18 credits: past that, 422 naming `credits`.
    let w3 = wallet(&s, &c, "1").await;
    let max = "999999999999999999";
    top_up(&s, &w3, json!({"credits": max})).await;
    for credits in ["1", "1000000000000000000", "99999999999999999999"] {
        let r = send(
            s.admin(Method::POST, &format!("/v1/wallets/{w3}/top_up"))
                .json(&json!({"credits": credits})),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.fields(), ["credits"], "{credits}: {}", r.body);
    }
    assert_eq!(balance(&s, &w3).await, d(max));
}

async fn insufficient_credits_change_nothing(s: TestServer) {
    let c = customer(&s, "poor").await;
    let w = wallet(&s, &c, "1").await;
    top_up(&s, &w, json!({"credits": "10"})).await;
    let before = all_transactions(&s, &w).await.len();
    let r = debit(&s, &w, "10.000001").await;
    r.assert_problem(422, "insufficient_credits");
    assert_eq!(balance(&s, &w).await, d("10"));
    assert_eq!(
        all_transactions(&s, &w).await.len(),
        before,
        "no ledger entry"
    );
    assert_eq!(
        debit(&s, &w, "10").await.status,
        201,
        "exactly the balance is fine"
    );
    debit(&s, &w, "0.000001")
        .await
        .assert_problem(422, "insufficient_credits");
    assert_invariants(&s, &w).await;
}

async fn concurrent_debits_never_overdraw(s: TestServer) {
    let c = customer(&s, "hot").await;
    let w = wallet(&s, &c, "1").await;
    top_up(&s, &w, json!({"credits": "40"})).await;
    top_up(&s, &w, json!({"credits": "0.5", "kind": "promotional"})).await;
    // 64 debits of 0.75 against 40.5: at most 54 fit; the rest must be refused.
    let replies = join_all((0..64).map(|_| debit(&s, &w, "0.75"))).await;
    let ok = replies.iter().filter(|r| r.status == 201).count();
    for r in replies.iter().filter(|r| r.status != 201) {
        r.assert_problem(422, "insufficient_credits");
    }
    assert_eq!(ok, 54, "every debit that fits succeeds");
    let left = balance(&s, &w).await;
    assert_eq!(
        left,
        d("40.5") - d("0.75") * BigDecimal::from(ok as u32),
        "the balance dropped by exactly the successful debits"
    );
    assert!(left >= 0);
    assert_invariants(&s, &w).await;
}

async fn top_up_retries_credit_once(s: TestServer) {
    let c = customer(&s, "retry").await;
    let w = wallet(&s, &c, "1").await;
    let body = json!({"credits": "25", "reference": "invoice-7"});
    let path = format!("/v1/wallets/{w}/top_up");
    let replies = join_all((0..6).map(|_| {
        send(
            s.admin(Method::POST, &path)
                .header("Idempotency-Key", "topup-1")
                .json(&body),
        )
    }))
    .await;
    assert!(replies
        .iter()
        .all(|r| r.status == 201 || r.body["code"] == "idempotency_key_in_use"));
    let again = send(
        s.admin(Method::POST, &path)
            .header("Idempotency-Key", "topup-1")
            .json(&body),
    )
    .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(balance(&s, &w).await, d("25"), "credited once");
    send(
        s.admin(Method::POST, &path)
            .header("Idempotency-Key", "topup-1")
            .json(&json!({"credits": "26"})),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    assert_eq!(balance(&s, &w).await, d("25"));
    let credits = all_transactions(&s, &w).await;
    assert_eq!(credits.len(), 1);
}

async fn expired_credits_leave_the_balance(s: TestServer) {
    let c = customer(&s, "expiry").await;
    let w = wallet(&s, &c, "1").await;
    top_up(
        &s,
        &w,
        json!({"credits": "30", "kind": "promotional", "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    top_up(&s, &w, json!({"credits": "20"})).await;
    debit(&s, &w, "10").await; // from the promotional lot: 20 left there
                               // Time passes: the promotional lot expires.
    s.execute_sql(&format!("UPDATE credit_lots SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE wallet_id = '{w}' AND kind = 'promotional'"));
    s.execute_sql(&format!(
        "UPDATE wallets SET next_expiry_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{w}'"
    ));
    // The very next read sees it gone, through an explicit expiry entry.
    assert_eq!(balance(&s, &w).await, d("20"));
    let expiries = send(s.admin(
        Method::GET,
        &format!("/v1/wallets/{w}/transactions?type=expiry"),
    ))
    .await;
    let e = &expiries.body["data"].as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["credits"], "20");
    assert_eq!(e[0]["allocations"][0]["kind"], "promotional");
    assert_eq!(balance(&s, &w).await, d("20"), "applied once");
    debit(&s, &w, "20.5")
        .await
        .assert_problem(422, "insufficient_credits");
    assert_invariants(&s, &w).await;

    // The sweeper applies expiries to wallets nobody reads.
    let w2 = wallet(&s, &c, "1").await;
    top_up(
        &s,
        &w2,
        json!({"credits": "7", "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    s.execute_sql(&format!("UPDATE credit_lots SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE wallet_id = '{w2}'"));
    s.execute_sql(&format!(
        "UPDATE wallets SET next_expiry_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{w2}'"
    ));
    assert_eq!(s.state.wallets.sweep_expired().unwrap(), 1);
    assert_eq!(
        s.state.wallets.sweep_expired().unwrap(),
        0,
        "nothing left to sweep"
    );
    let txs = all_transactions(&s, &w2).await;
    assert_eq!(txs.last().unwrap()["type"], "expiry");
    assert_invariants(&s, &w2).await;
}

async fn random_operations_keep_the_invariants(s: TestServer) {
    let c = customer(&s, "random").await;
    let w = wallet(&s, &c, "0.0125").await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261121);
    let amount = |rng: &mut rand::rngs::StdRng| {
        let units: u32 = rng.random_range(1..5000);
        let scale: u32 = rng.random_range(0..7);
        format!("{}", BigDecimal::new(units.into(), scale as i64))
    };
    for step in 0..60 {
        match rng.random_range(0..10) {
            0..=3 => {
                let kind = if rng.random_bool(0.5) {
                    "purchased"
                } else {
                    "promotional"
                };
                let mut body = json!({"credits": amount(&mut rng), "kind": kind, "priority": rng.random_range(0..3)});
                if rng.random_bool(0.4) {
                    body["expires_at"] =
                        json!(format!("2{}-01-01T00:00:00Z", rng.random_range(100..999)));
                }
                assert_eq!(top_up(&s, &w, body).await.status, 201);
            }
            4..=7 => {
                let r = debit(&s, &w, &amount(&mut rng)).await;
                assert!(
                    r.status == 201 || r.body["code"] == "insufficient_credits",
                    "{}",
                    r.body
                );
            }
            8 => {
                // Expire one random live lot.
                let tenant = s.state.api_keys.tenant_ids().unwrap()[0].clone();
                let lots = s
                    .state
                    .wallets
                    .live_lots(&tenant, &domain::id::parse(&w).unwrap())
                    .unwrap();
                if !lots.is_empty() {
                    let lot = &lots[rng.random_range(0..lots.len())];
                    s.execute_sql(&format!("UPDATE credit_lots SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{}'", lot.id));
                    s.execute_sql(&format!("UPDATE wallets SET next_expiry_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{w}'"));
                }
            }
            _ => {
                let all = balance(&s, &w).await;
                if all > 0 {
                    assert_eq!(
                        debit(&s, &w, &all.normalized().to_plain_string())
                            .await
                            .status,
                        201,
                        "the whole balance can be spent"
                    );
                }
            }
        }
        if step % 10 == 9 {
            assert_invariants(&s, &w).await;
        }
    }
    assert_invariants(&s, &w).await;
}

async fn portal_sees_only_its_own_wallets(s: TestServer) {
    let alice = customer(&s, "alice").await;
    let bob = customer(&s, "bob").await;
    let wa = wallet(&s, &alice, "0.01").await;
    let wb = wallet(&s, &bob, "0.01").await;
    top_up(&s, &wa, json!({"credits": "300"})).await;
    top_up(&s, &wa, json!({"credits": "200", "kind": "promotional", "expires_at": (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339()})).await;
    top_up(&s, &wa, json!({"credits": "50", "kind": "promotional", "expires_at": (chrono::Utc::now() + chrono::Duration::days(90)).to_rfc3339()})).await;
    top_up(&s, &wb, json!({"credits": "999"})).await;
    let token = |r: Reply| r.body["token"].as_str().unwrap().to_owned();
    let ta = token(
        send(
            s.admin(Method::POST, "/v1/portal_sessions")
                .json(&json!({"customer_id": alice})),
        )
        .await,
    );

    let list = send(s.portal(Method::GET, "/v1/portal/wallets", &ta)).await;
    let data = list.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "only Alice's wallet");
    assert_eq!(data[0]["id"], wa.as_str());
    assert_eq!(data[0]["balance"], "550");
    assert_eq!(data[0]["balance_value"], "5.50");
    assert_eq!(data[0]["credits_expiring_next_30_days"], "200");
    assert_eq!(
        send(s.portal(Method::GET, &format!("/v1/portal/wallets/{wa}"), &ta))
            .await
            .status,
        200
    );
    let txs = send(s.portal(
        Method::GET,
        &format!("/v1/portal/wallets/{wa}/transactions?type=credit"),
        &ta,
    ))
    .await;
    assert_eq!(txs.body["data"].as_array().unwrap().len(), 3);

    // Bob's wallet does not exist for Alice.
    send(s.portal(Method::GET, &format!("/v1/portal/wallets/{wb}"), &ta))
        .await
        .assert_problem(404, "wallet_not_found");
    send(s.portal(
        Method::GET,
        &format!("/v1/portal/wallets/{wb}/transactions"),
        &ta,
    ))
    .await
    .assert_problem(404, "wallet_not_found");

    // The credits section can be switched off.
    let hidden = token(
        send(
            s.admin(Method::POST, "/v1/portal_sessions")
                .json(&json!({"customer_id": alice, "sections": {"credits": {"enabled": false}}})),
        )
        .await,
    );
    send(s.portal(Method::GET, "/v1/portal/wallets", &hidden))
        .await
        .assert_problem(403, "section_disabled");
    send(s.portal(Method::GET, &format!("/v1/portal/wallets/{wa}"), &hidden))
        .await
        .assert_problem(403, "section_disabled");
}

/// Lot ids of a ledger entry's allocations, in order.
fn allocated(entry: &Value) -> Vec<String> {
    entry["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["lot_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A wallet with more live lots than a change loads at first (a debit reads the first lots in
/// consumption order, an expiry the soonest-expiring ones): debits within that first run and
/// across it, expiries of more lots than it, and closing still take exactly the right lots.
async fn many_live_lots_are_drawn_in_order(s: TestServer) {
    let c = customer(&s, "many-lots").await;
    let w = wallet(&s, &c, "1").await;
    let soon = chrono::Utc::now() + chrono::Duration::days(30);
    for i in 0..200u32 {
        let mut body = json!({"credits": format!("{}", 1 + i % 5), "priority": i % 3});
        if i % 2 == 0 {
            body["expires_at"] = json!((soon + chrono::Duration::hours(i as i64 % 7)).to_rfc3339());
        }
        assert_eq!(top_up(&s, &w, body).await.status, 201);
    }
    let tenant = s.state.api_keys.tenant_ids().unwrap()[0].clone();
    let wallet_id = domain::id::parse(&w).unwrap();
    // The documented order: priority, then expiry (never-expiring last), then oldest.
    let in_order = || {
        let mut lots = s.state.wallets.live_lots(&tenant, &wallet_id).unwrap();
        lots.sort_by_key(|l| {
            (
                l.priority,
                l.expires_at.is_none(),
                l.expires_at,
                l.created_at,
                l.id.clone(),
            )
        });
        lots
    };
    let last_entry = || async { all_transactions(&s, &w).await.pop().unwrap() };

    // Within the first lots, then far across them.
    for n in [3usize, 150] {
        let lots = in_order();
        let credits: BigDecimal = lots[..n].iter().map(|l| &l.available).sum();
        let r = debit(&s, &w, &credits.to_string()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let expected: Vec<String> = lots[..n].iter().map(|l| l.id.clone()).collect();
        assert_eq!(
            allocated(&last_entry().await),
            expected,
            "a debit of {n} lots"
        );
        assert_invariants(&s, &w).await;
    }

    // More lots fall due at once than the soonest-expiring ones first read.
    for _ in 0..150 {
        assert_eq!(
            top_up(
                &s,
                &w,
                json!({"credits": "2", "expires_at": soon.to_rfc3339()})
            )
            .await
            .status,
            201
        );
    }
    // (Listing the ledger reads the wallet too, and would apply the expiries itself.)
    let before = all_transactions(&s, &w).await.len();
    s.execute_sql(&format!("UPDATE credit_lots SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE wallet_id = '{w}' AND expires_at IS NOT NULL"));
    s.execute_sql(&format!(
        "UPDATE wallets SET next_expiry_at = '2000-01-01T00:00:00.000000Z' WHERE id = '{w}'"
    ));
    let due: Vec<String> = in_order()
        .into_iter()
        .filter(|l| l.expires_at.is_some())
        .map(|l| l.id)
        .collect();
    assert!(due.len() > 150, "{} lots fall due", due.len());
    balance(&s, &w).await; // reading the wallet applies the expiries
    let expired: Vec<String> = all_transactions(&s, &w).await[before..]
        .iter()
        .inspect(|t| assert_eq!(t["type"], "expiry"))
        .flat_map(allocated)
        .collect();
    let (mut a, mut b) = (expired.clone(), due.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "every lot past its expiry expired, once");
    assert_invariants(&s, &w).await;

    // Closing voids every live lot.
    for _ in 0..100 {
        assert_eq!(top_up(&s, &w, json!({"credits": "0.5"})).await.status, 201);
    }
    let live: Vec<String> = in_order().into_iter().map(|l| l.id).collect();
    assert!(live.len() > 64, "{} live lots", live.len());
    let r = send(s.admin(Method::POST, &format!("/v1/wallets/{w}/close"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut voided = allocated(&last_entry().await);
    voided.sort();
    let mut live = live;
    live.sort();
    assert_eq!(voided, live);
    assert_eq!(balance(&s, &w).await, BigDecimal::from(0));
    assert_invariants(&s, &w).await;
}

/// A wallet with an older lot of 3 credits (priority 1, drawn last) and a newer one of 5
/// (priority 0, drawn first), after a debit of 2: the newer lot went from 5 to 3.
async fn drawn_out_of_age_order(s: &TestServer, customer_id: &str) -> String {
    let w = wallet(s, customer_id, "1").await;
    for (credits, priority) in [("3", 1), ("5", 0)] {
        let r = top_up(s, &w, json!({"credits": credits, "priority": priority})).await;
        assert_eq!(r.status, 201);
    }
    assert_eq!(debit(s, &w, "2").await.status, 201);
    w
}

/// The lot a debit draws from is written back even when, in the order lots were read, another
/// lot held the amount it now holds (lots are read by age and drawn in priority order).
async fn a_debit_writes_back_the_lots_it_drew_from(s: TestServer) {
    let c = customer(&s, "write-back").await;
    let w = drawn_out_of_age_order(&s, &c).await;
    assert_invariants(&s, &w).await;
    assert_eq!(
        debit(&s, &w, "6").await.status,
        201,
        "every credit left can be spent"
    );
    assert_eq!(balance(&s, &w).await, d("0"));
    assert_invariants(&s, &w).await;

    // The same with more lots than a debit reads at first, so this debit reads every lot (by
    // age: 5, 3, 5, 3, …) and draws the 3s first, then 30 of the 5s and 2 from the 31st (5 → 3),
    // which then stands where a 3 stood.
    let w = wallet(&s, &c, "1").await;
    for i in 0..70 {
        let (credits, priority) = if i % 2 == 0 { ("5", 1) } else { ("3", 0) };
        let r = top_up(&s, &w, json!({"credits": credits, "priority": priority})).await;
        assert_eq!(r.status, 201);
    }
    assert_eq!(debit(&s, &w, "257").await.status, 201);
    assert_invariants(&s, &w).await;
    assert_eq!(
        debit(&s, &w, "23").await.status,
        201,
        "every credit left can be spent"
    );
    assert_invariants(&s, &w).await;
}

/// Lots an earlier version left unwritten (a drawn lot keeping its old amount, above a correct
/// balance) are rewritten from the ledger: by the check of every wallet after the upgrade, and by
/// any change that reads the whole wallet. Lots the ledger cannot account for are left alone.
async fn lots_left_unwritten_are_rewritten_from_the_ledger(s: TestServer) {
    let c = customer(&s, "repair").await;
    let damaged = |w: &str| {
        // The debit of 2 drew the priority-0 lot from 5 to 3; as the defect left it, it holds 5.
        s.execute_sql(&format!(
            "UPDATE credit_lots SET available = '5' WHERE wallet_id = '{w}' AND priority = 0"
        ));
    };
    let mut wallets = Vec::new();
    for _ in 0..2 {
        let w = drawn_out_of_age_order(&s, &c).await;
        damaged(&w);
        wallets.push(w);
    }
    assert_eq!(
        lots_sum(&s, &wallets[0]),
        d("8"),
        "the damage as the defect left it"
    );

    // The check after an upgrade.
    s.execute_sql(&format!(
        "INSERT INTO wallet_lot_checks (wallet_id, tenant_id) SELECT id, tenant_id FROM wallets WHERE id = '{}'",
        wallets[0]
    ));
    assert_eq!(s.state.wallets.check_flagged_lots().unwrap(), 1);
    assert_eq!(
        s.state.wallets.check_flagged_lots().unwrap(),
        0,
        "checked once"
    );
    assert_invariants(&s, &wallets[0]).await;

    // Any change that reads the whole wallet: the next debit, which then spends all of it.
    assert_eq!(debit(&s, &wallets[1], "6").await.status, 201);
    assert_eq!(balance(&s, &wallets[1]).await, d("0"));
    assert_invariants(&s, &wallets[1]).await;

    // Lots the ledger does not account for are not rewritten: the change is refused.
    let w = wallet(&s, &c, "1").await;
    assert_eq!(top_up(&s, &w, json!({"credits": "5"})).await.status, 201);
    s.execute_sql(&format!(
        "UPDATE credit_lots SET available = '4', granted = '4' WHERE wallet_id = '{w}'"
    ));
    assert_eq!(debit(&s, &w, "1").await.status, 500);
    assert_eq!(lots_sum(&s, &w), d("4"), "left as it was");
}

/// A credit shows the lot it made, and a debit the lots it drew from, each with the lot's draw
/// priority and expiry (what the portal's credit history shows).
async fn the_history_shows_each_lots_priority_and_expiry(s: TestServer) {
    let c = customer(&s, "lots-shown").await;
    let w = wallet(&s, &c, "0.01").await;
    top_up(&s, &w, json!({"credits": "10"})).await;
    top_up(
        &s,
        &w,
        json!({"credits": "5", "kind": "promotional", "priority": -1, "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(debit(&s, &w, "7").await.status, 201);
    let txs = all_transactions(&s, &w).await;
    let by_seq = |n: i64| txs.iter().find(|t| t["seq"] == n).unwrap();
    let lot = |t: &Value| t["allocations"].as_array().unwrap().clone();
    let plain = lot(by_seq(1));
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0]["priority"], 0);
    assert_eq!(plain[0]["expires_at"], Value::Null, "no expiry");
    let promo = lot(by_seq(2));
    assert_eq!(promo[0]["priority"], -1);
    assert_eq!(promo[0]["expires_at"], "2999-01-01T00:00:00Z");
    // The debit takes the promotional lot first (priority -1), then 2 of the plain one.
    let drawn = lot(by_seq(3));
    let shown: Vec<(String, Value, Value)> = drawn
        .iter()
        .map(|a| {
            (
                a["credits"].as_str().unwrap().to_owned(),
                a["priority"].clone(),
                a["expires_at"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("5".to_owned(), json!(-1), json!("2999-01-01T00:00:00Z")),
            ("2".to_owned(), json!(0), Value::Null),
        ]
    );
    assert_eq!(drawn[0]["lot_id"], promo[0]["lot_id"]);
    assert_eq!(drawn[1]["lot_id"], plain[0]["lot_id"]);
}
