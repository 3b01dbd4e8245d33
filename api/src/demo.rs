//! `portal-api serve --demo` (or `PORTAL_DEMO=1`): a showcase in the first minute. It seeds a
//! named merchant (Northwind Cloud, with its colours and support contacts, unless the account
//! was already named), a catalogue of three monthly plans, and one demo customer with something
//! on every portal screen: a prepaid wallet with purchased and expiring credits, a subscription
//! to Pro with Starter and Scale to change to, a saved card, a paid, an overdue and a partly paid
//! bill (each issued, due and paid at its own date in the past weeks, so no bill is due before
//! it was issued), and 30 days of usage. It then opens a portal session that allows every
//! action (paying bills, cancelling at period end, changing plan, managing payment methods,
//! editing the profile).
//!
//! Seeding is idempotent: the customer is found by its external id `demo-acme`; the merchant's
//! name and colours, plans, wallet, invoices, subscription and card are only created when
//! missing; usage events sit on a fixed grid of hours with deterministic `event_id`s, so a
//! restart adds only the hours that passed since. Every start opens a new session (ending the
//! previous demo session). The history is written through the services as it would have been
//! at its dates (`domain::clock::as_of`).

use domain::id::{parse, TenantId};
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::account::AccountPatch;
use domain::actor::Actor;
use domain::customer::{Address, BillingDetails, NewCustomer};
use domain::invoice::InvoiceFilter;
use domain::page::PageRequest;
use domain::payment::{PaymentMethod, PaymentState};
use domain::payment_method::MethodFilter;
use domain::payment_method::{Display, MethodType, NewPaymentMethod};
use domain::plan::PlanFilter;
use domain::plan::{Interval, PastDueAction, Visibility};
use domain::portal_session::{
    CancelMode, CustomerRef, NewSession, PaymentMethodManage, PlanChangePermission, ProfileField,
    SubscriptionCancel,
};
use domain::scope::{CustomerScope, Scope};
use domain::services::api_keys::Principal;
use domain::services::invoices::NewInvoice;
use domain::services::payments::{NewPayment, PaymentSource};
use domain::services::plans::NewPlan;
use domain::services::subscriptions::NewSubscription;
use domain::services::usage::NewFeature;
use domain::services::wallets::{Debit, NewWallet, TopUp};
use domain::subscription::{BillingAnchor, Collection};
use domain::usage::{Aggregation, IncomingEvent};
use domain::wallet::LotKind;
use domain::{clock, DomainError, DomainResult};

use crate::state::AppState;

pub const DEMO_EXTERNAL_ID: &str = "demo-acme";

/// What the operator needs to open the demo portal.
pub struct DemoLogin {
    pub merchant_name: String,
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
    let merchant = seed_merchant(state, &tenant)?;
    seed_plans(state, &tenant)?;

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
                tax_exempt: Default::default(),
                tax_rate_ids: Vec::new(),
                billing: BillingDetails {
                    legal_name: Some("Acme Robotics GmbH".into()),
                    tax_id: Some("DE123456789".into()),
                    ..BillingDetails::default()
                },
                auto_pay: false,
                timezone: Some("Europe/Berlin".into()),
                locale: None,
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
    let owner = CustomerScope::new(&tenant, &cus);
    if state.subscriptions.running(&owner)?.is_empty() {
        state.subscriptions.create(
            &tenant,
            NewSubscription {
                customer: CustomerRef::Id(cus.to_string()),
                plan: "demo-pro".into(),
                trial_days: Some(0),
                billing_anchor: BillingAnchor::Anniversary,
                collection: Collection::Wallet,
                quantity: None,
                discount: None,
            },
        )?;
    }
    let cards = state
        .payment_methods
        .list(&owner, &MethodFilter::default(), &first)?;
    if cards.items.is_empty() {
        seed_card(state, &owner)?;
    }

    let mut session = NewSession::new(CustomerRef::Id(cus.to_string()));
    let p = &mut session.permissions;
    p.invoice_pay.enabled = true;
    p.subscription_cancel = SubscriptionCancel {
        enabled: true,
        mode: CancelMode::AtPeriodEnd,
    };
    p.plan_change = PlanChangePermission { enabled: true };
    p.payment_method_manage = PaymentMethodManage { enabled: true };
    p.alerts_manage.enabled = true;
    p.profile_update.allowed_fields = vec![
        ProfileField::Name,
        ProfileField::Email,
        ProfileField::Phone,
        ProfileField::Address,
        ProfileField::Timezone,
        ProfileField::Locale,
        ProfileField::Billing,
        ProfileField::AutoPay,
    ];
    let created = state.portal.create(&who, session)?;
    Ok(DemoLogin {
        merchant_name: merchant,
        customer_id: cus.into(),
        customer_name: customer.name,
        url: created.url,
        token: created.token,
        expires_at: created.session.expires_at,
    })
}

/// The merchant's name, colours and support contacts, when the account still has the name it
/// was created with (a merchant's own branding is never overwritten). Returns the name.
fn seed_merchant(state: &AppState, tenant: &TenantId) -> DomainResult<String> {
    let account = state.accounts.get(tenant)?;
    if account.name != domain::account::FIRST_ACCOUNT_NAME {
        return Ok(account.name);
    }
    let named = state.accounts.update(
        tenant,
        AccountPatch {
            name: Some("Northwind Cloud".into()),
            legal_address: Some(Some(
                "Northwind Cloud GmbH\nFriedrichstraße 68\n10117 Berlin".into(),
            )),
            support_email: Some(Some("support@northwind.test".into())),
            support_url: Some(Some("https://northwind.test/help".into())),
            primary_color: Some(Some("#3730a3".into())),
            accent_color: Some(Some("#0f766e".into())),
            invoice_footer: Some(Some("Thank you for building with Northwind Cloud.".into())),
            ..AccountPatch::default()
        },
    )?;
    Ok(named.name)
}

/// Three public monthly plans in USD, Starter, Pro and Scale, unless their codes exist.
fn seed_plans(state: &AppState, tenant: &TenantId) -> DomainResult<()> {
    let existing: Vec<String> = state
        .plans
        .list(
            tenant,
            &PlanFilter::default(),
            &PageRequest::new(Some(100), None)?,
        )?
        .items
        .into_iter()
        .map(|p| p.code)
        .collect();
    for (code, name, amount, description) in [
        (
            "demo-starter",
            "Starter",
            "19.00",
            "For side projects: 10,000 API calls a month.",
        ),
        (
            "demo-pro",
            "Pro",
            "49.00",
            "For production: 100,000 API calls, email support.",
        ),
        (
            "demo-scale",
            "Scale",
            "149.00",
            "For teams: 1M API calls, priority support, SSO.",
        ),
    ] {
        if existing.iter().any(|c| c == code) {
            continue;
        }
        state.plans.create(
            tenant,
            NewPlan {
                code: code.into(),
                name: name.into(),
                description: Some(description.into()),
                currency: "USD".into(),
                interval: Interval::Month,
                interval_count: 1,
                amount: dec(amount),
                trial_days: 0,
                charges: Vec::new(),
                entitlements: Vec::new(),
                visibility: Visibility::Public,
                past_due_action: PastDueAction::Cancel,
                tax_rate_ids: Vec::new(),
                quantity: Default::default(),
                purchase: domain::plan::Purchase::SelfServe,
                contact_url: None,
                license_keys: None,
            },
        )?;
    }
    Ok(())
}

/// A saved Visa card, as the merchant's backend records one after its provider's setup flow.
fn seed_card(state: &AppState, owner: &CustomerScope) -> DomainResult<()> {
    use chrono::Datelike;
    state.payment_methods.add(
        owner,
        NewPaymentMethod {
            kind: MethodType::Card,
            provider: "stripe".into(),
            provider_reference: "pm_demo_visa".into(),
            display: Display {
                brand: Some("visa".into()),
                last4: Some("4242".into()),
                exp_month: Some(12),
                exp_year: Some(clock::now().year() + 3),
                holder_name: Some("Ada Lovelace".into()),
                bank_name: None,
            },
            make_default: true,
        },
    )?;
    Ok(())
}

/// A USD wallet (1 credit = 0.01 USD): purchased and expiring promotional credits, one debit,
/// each at its date in the past weeks.
fn seed_wallet(state: &AppState, tenant: &TenantId, cus: &str) -> DomainResult<String> {
    let now = clock::now();
    let days_ago = |d: i64| now - Duration::days(d);
    let w = clock::as_of(days_ago(45), || {
        state.wallets.create(
            tenant,
            NewWallet {
                customer_id: cus.into(),
                name: Some("Prepaid credits".into()),
                currency: "USD".into(),
                conversion_rate: Some(dec("0.01")),
                low_balance_threshold: Some(dec("500")),
            },
        )
    })?;
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
    let id = parse(&w.id)?;
    clock::as_of(days_ago(45), || {
        state.wallets.top_up(
            tenant,
            &id,
            top_up("20000", LotKind::Purchased, None, None, "purchase"),
        )
    })?;
    clock::as_of(days_ago(44), || {
        state.wallets.top_up(
            tenant,
            &id,
            top_up(
                "2500",
                LotKind::Promotional,
                Some(1),
                Some(now + Duration::days(20)),
                "welcome bonus",
            ),
        )
    })?;
    clock::as_of(days_ago(30), || {
        state.wallets.debit(
            tenant,
            &id,
            Debit {
                credits: dec("1200"),
                reason: Some("usage".into()),
                description: Some("API overage".into()),
                reference: None,
                idempotency_key: None,
            },
        )
    })?;
    Ok(w.id.into())
}

/// Three finalized invoices, each issued, due and paid at its own date: one paid from the
/// wallet, one overdue, one partly paid and due in a few days.
fn seed_invoices(state: &AppState, tenant: &TenantId, cus: &str, wallet: &str) -> DomainResult<()> {
    let now = clock::now();
    let days_ago = |d: i64| now - Duration::days(d);
    // Issued `issued` days ago, due `due` days ago (negative: still to come).
    let invoice = |memo: &str, issued: i64, due: i64, lines: &[(&str, &str, &str)]| {
        clock::as_of(days_ago(issued), || {
            let created = state.invoices.create(
                tenant,
                NewInvoice {
                    customer_id: cus.into(),
                    currency: "USD".into(),
                    due_at: Some(days_ago(due)),
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
                            tax_rate_ids: None,
                        })
                        .collect(),
                },
            )?;
            state.invoices.finalize(tenant, &parse(&created.id)?)
        })
    };
    let payment = |amount: &str, method, wallet_id: Option<&str>| {
        PaymentSource::Recorded(NewPayment {
            amount: dec(amount),
            method,
            wallet_id: wallet_id.map(str::to_owned),
            reference: None,
            status: PaymentState::Succeeded,
            failure_reason: None,
        })
    };
    let paid = invoice(
        "Onboarding",
        40,
        26,
        &[
            ("Setup and onboarding", "1", "49.00"),
            ("Extra seats", "2", "12.50"),
        ],
    )?;
    clock::as_of(days_ago(35), || {
        state.payments.pay(
            &Actor::Merchant,
            tenant,
            &parse(&paid.id)?,
            payment("74.00", PaymentMethod::Wallet, Some(wallet)),
        )
    })?;
    invoice(
        "API usage",
        20,
        6,
        &[
            ("Platform fee", "1", "49.00"),
            ("API calls over plan", "18250", "0.002"),
        ],
    )?;
    let partly = invoice(
        "Storage and support",
        2,
        -12,
        &[("Support plan", "1", "49.00"), ("Storage", "120", "0.25")],
    )?;
    clock::as_of(days_ago(1), || {
        state.payments.pay(
            &Actor::Merchant,
            tenant,
            &parse(&partly.id)?,
            payment("30.00", PaymentMethod::External, None),
        )
    })?;
    Ok(())
}

/// Two features and 30 days of usage on a grid of four hours a day.
fn seed_usage(state: &AppState, tenant: &TenantId, cus: &str) -> DomainResult<()> {
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
