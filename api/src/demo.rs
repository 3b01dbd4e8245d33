//! `portal-api serve --demo` (or `PORTAL_DEMO=1`): seeds one demo customer of the first account
//! with something on every portal screen, then opens a portal session for it, so Swagger UI and a
//! frontend show real data in the first minute.
//!
//! Seeding is idempotent: the customer is found by its external id `demo-acme`; wallets and
//! invoices are only created when the customer has none; usage events sit on a fixed grid of
//! hours with deterministic `event_id`s, so a restart adds only the hours that passed since.
//! Every start opens a new session (ending the previous demo session).

use domain::id::parse;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::customer::{Address, BillingDetails, NewCustomer};
use domain::page::PageRequest;
use domain::payment::{PaymentMethod, PaymentState};
use domain::portal_session::{CustomerRef, NewSession};
use domain::ports::InvoiceFilter;
use domain::scope::{CustomerScope, Scope};
use domain::services::api_keys::Principal;
use domain::services::invoices::NewInvoice;
use domain::services::payments::NewPayment;
use domain::services::usage::NewFeature;
use domain::services::wallets::{Debit, NewWallet, TopUp};
use domain::usage::{Aggregation, IncomingEvent};
use domain::wallet::LotKind;
use domain::{clock, DomainError, DomainResult};

use crate::state::AppState;

pub const DEMO_EXTERNAL_ID: &str = "demo-acme";

/// What the operator needs to open the demo portal.
pub struct DemoLogin {
    pub customer_id: String,
    pub customer_name: String,
    /// The session's `url`: the portal frontend with a single-use login code.
    pub url: String,
    /// The session token, for `X-Session-Token` in Swagger UI or curl.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

fn dec(s: &str) -> BigDecimal {
    BigDecimal::from_str(s).expect("literal decimal")
}

/// Seeds the demo data (idempotently) and opens a portal session for the demo customer.
pub fn seed(state: &AppState) -> DomainResult<DemoLogin> {
    let tenant = state
        .api_keys
        .tenant_ids()?
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::Internal("no account exists".into()))?;
    let first = PageRequest::new(Some(100), None)?;
    let key = state
        .api_keys
        .list(&tenant, &first)?
        .items
        .into_iter()
        .find(|k| k.revoked_at.is_none())
        .ok_or_else(|| DomainError::Internal("the account has no active API key".into()))?;
    let who = Principal {
        tenant_id: tenant.clone(),
        key_id: key.id,
    };

    let customer = match state
        .customers
        .get_by_external_id(&tenant, DEMO_EXTERNAL_ID)
    {
        Ok(c) => c,
        Err(DomainError::NotFound { .. }) => state.customers.create(
            &tenant,
            NewCustomer {
                external_id: Some(DEMO_EXTERNAL_ID.into()),
                name: "Acme Robotics (demo)".into(),
                email: Some("billing@acme-robotics.test".into()),
                phone: Some("+49 30 1234567".into()),
                address: Some(Address {
                    line1: Some("Invalidenstraße 117".into()),
                    line2: None,
                    city: Some("Berlin".into()),
                    state: None,
                    postal_code: Some("10115".into()),
                    country: Some("DE".into()),
                }),
                billing: BillingDetails {
                    legal_name: Some("Acme Robotics GmbH".into()),
                    tax_id: Some("DE123456789".into()),
                    ..BillingDetails::default()
                },
                auto_pay: false,
                timezone: Some("Europe/Berlin".into()),
                metadata: [("demo".to_owned(), "true".to_owned())].into(),
                test_clock: None,
            },
        )?,
        Err(e) => return Err(e),
    };
    let cus = customer.id.clone();
    let theirs: Scope = CustomerScope::new(&tenant, &cus).into();

    let wallet_id = match state.wallets.list(&theirs, None, &first)?.items.first() {
        Some(w) => w.id.to_string(),
        None => seed_wallet(state, &tenant, &cus)?,
    };
    if state
        .invoices
        .list(&theirs, &InvoiceFilter::default(), &first)?
        .items
        .is_empty()
    {
        seed_invoices(state, &tenant, &cus, &wallet_id)?;
    }
    seed_usage(state, &tenant, &cus)?;

    let created = state
        .portal
        .create(&who, NewSession::new(CustomerRef::Id(cus.to_string())))?;
    Ok(DemoLogin {
        customer_id: cus.into(),
        customer_name: customer.name,
        url: created.url,
        token: created.token,
        expires_at: created.session.expires_at,
    })
}

/// A USD wallet (1 credit = 0.01 USD): purchased and expiring promotional credits, one debit.
fn seed_wallet(state: &AppState, tenant: &str, cus: &str) -> DomainResult<String> {
    let w = state.wallets.create(
        tenant,
        NewWallet {
            customer_id: cus.into(),
            name: Some("Prepaid credits".into()),
            currency: "USD".into(),
            conversion_rate: Some(dec("0.01")),
            low_balance_threshold: Some(dec("500")),
        },
    )?;
    let top_up = |credits: &str, kind, priority, expires_at, reason: &str| TopUp {
        credits: dec(credits),
        kind,
        priority,
        expires_at,
        reason: Some(reason.into()),
        description: None,
        reference: None,
        idempotency_key: None,
    };
    state.wallets.top_up(
        tenant,
        &parse(&w.id)?,
        top_up("20000", LotKind::Purchased, None, None, "purchase"),
    )?;
    state.wallets.top_up(
        tenant,
        &parse(&w.id)?,
        top_up(
            "2500",
            LotKind::Promotional,
            Some(1),
            Some(clock::now() + Duration::days(20)),
            "welcome bonus",
        ),
    )?;
    state.wallets.debit(
        tenant,
        &parse(&w.id)?,
        Debit {
            credits: dec("1200"),
            reason: Some("usage".into()),
            description: Some("API overage, last month".into()),
            reference: None,
            idempotency_key: None,
        },
    )?;
    Ok(w.id.into())
}

/// Three finalized invoices: one paid from the wallet, one partly paid, one overdue.
fn seed_invoices(state: &AppState, tenant: &str, cus: &str, wallet: &str) -> DomainResult<()> {
    let now = clock::now();
    let invoice = |memo: &str, due_in_days: i64, lines: &[(&str, &str, &str)]| {
        let created = state.invoices.create(
            tenant,
            NewInvoice {
                customer_id: cus.into(),
                currency: "USD".into(),
                due_at: Some(now + Duration::days(due_in_days)),
                memo: Some(memo.into()),
                lines: lines
                    .iter()
                    .map(|(description, quantity, unit)| domain::invoice::NewLine {
                        description: (*description).into(),
                        quantity: dec(quantity),
                        unit_amount: dec(unit),
                        feature: None,
                        period_start: None,
                        period_end: None,
                    })
                    .collect(),
            },
        )?;
        state.invoices.finalize(tenant, &parse(&created.id)?)
    };
    let payment = |amount: &str, method, wallet_id: Option<&str>| NewPayment {
        amount: dec(amount),
        method,
        wallet_id: wallet_id.map(str::to_owned),
        reference: None,
        status: PaymentState::Succeeded,
        failure_reason: None,
    };
    let paid = invoice(
        "Pro plan, September",
        -40,
        &[("Pro plan", "1", "49.00"), ("Extra seats", "2", "12.50")],
    )?;
    state.payments.pay(
        tenant,
        &parse(&paid.id)?,
        payment("74.00", PaymentMethod::Wallet, Some(wallet)),
    )?;
    invoice(
        "Pro plan, October",
        -5,
        &[
            ("Pro plan", "1", "49.00"),
            ("API calls over plan", "18250", "0.002"),
        ],
    )?;
    let partly = invoice(
        "Pro plan, November",
        14,
        &[("Pro plan", "1", "49.00"), ("Storage", "120", "0.25")],
    )?;
    state.payments.pay(
        tenant,
        &parse(&partly.id)?,
        payment("30.00", PaymentMethod::External, None),
    )?;
    Ok(())
}

/// Two features and 30 days of usage on a grid of four hours a day.
fn seed_usage(state: &AppState, tenant: &str, cus: &str) -> DomainResult<()> {
    let features = [
        (
            "api_calls",
            "API calls",
            "call",
            Aggregation::Sum,
            "calls",
            "0.002",
        ),
        (
            "storage_gb",
            "Storage",
            "GB",
            Aggregation::Max,
            "gb",
            "0.25",
        ),
    ];
    let existing: Vec<String> = state
        .usage
        .list_features(tenant, &PageRequest::new(Some(100), None)?)?
        .items
        .into_iter()
        .map(|f| f.key)
        .collect();
    for (key, name, unit, aggregation, property, price) in features {
        if !existing.iter().any(|k| k == key) {
            state.usage.create_feature(
                tenant,
                NewFeature {
                    key: key.into(),
                    name: name.into(),
                    unit: unit.into(),
                    aggregation,
                    value_property: Some(property.into()),
                    unit_price: dec(price),
                    currency: "USD".into(),
                },
            )?;
        }
    }
    let now = clock::now();
    let today = now.duration_trunc(Duration::days(1)).expect("day");
    let mut events = Vec::new();
    for day in 0..30i64 {
        for hour in [2i64, 8, 14, 20] {
            let at = today - Duration::days(day) + Duration::hours(hour);
            if at > now {
                continue;
            }
            // Deterministic, varied values: a weekly rhythm with a slow rise.
            let calls = 400 + (29 - day) * 15 + ((day * 7 + hour) % 11) * 40;
            let gb = 80 + (29 - day) * 2;
            let stamp = at.format("%Y%m%dT%H");
            for (key, property, value) in [("api_calls", "calls", calls), ("storage_gb", "gb", gb)]
            {
                events.push(IncomingEvent {
                    event_id: format!("demo-{key}-{stamp}"),
                    customer_id: Some(cus.into()),
                    external_customer_id: None,
                    feature: key.into(),
                    timestamp: Some(at),
                    properties: [(property.to_owned(), value.into())].into_iter().collect(),
                });
            }
        }
    }
    state
        .usage
        .ingest(tenant, events.into_iter().map(Ok).collect())?;
    Ok(())
}
