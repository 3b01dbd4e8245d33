//! Customer scopes are enforced by the repositories, on both backends: a read scoped to one
//! customer never returns another customer's wallet or invoice, and an account scope sees all
//! of the account's (and nothing of another account's).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::sync::Arc;

use domain::customer::NewCustomer;
use domain::id::InvoiceId;
use domain::invoice::InvoiceFilter;
use domain::page::PageRequest;
use domain::ports::{ApiKeyRepo, CustomerRepo, InvoiceRepo, WalletRepo};
use domain::scope::{CustomerScope, Scope};
use domain::services::api_keys::ApiKeyService;
use domain::services::customers::CustomerService;
use domain::services::invoices::{InvoicePorts, InvoiceService, NewInvoice};
use domain::services::payments::{PaymentPorts, PaymentService};
use domain::services::wallets::{NewWallet, WalletService};
use storage::Store;

mod common;

fn exercise(store: &Store) {
    let keys = ApiKeyService::new(Arc::new(store.clone()) as Arc<dyn ApiKeyRepo>);
    let (key, _) = keys.bootstrap(None).unwrap().expect("empty database");
    let t = key.tenant_id.clone();
    let shared = Arc::new(store.clone());
    let events = domain::services::webhooks::Events::new(shared.clone());
    let taxes = domain::services::taxes::TaxService::new(shared.clone(), shared.clone());
    let customers = CustomerService::new(
        shared.clone() as Arc<dyn CustomerRepo>,
        shared.clone(),
        shared.clone(),
        shared.clone(),
        shared,
        events.clone(),
        taxes.clone(),
    );
    let repo_wallets: Arc<dyn WalletRepo> = Arc::new(store.clone());
    let repo_invoices: Arc<dyn InvoiceRepo> = Arc::new(store.clone());
    let wallets = WalletService::new(
        repo_wallets.clone(),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        events.clone(),
        domain::services::accrual::Accrual {
            dashboard: Arc::new(store.clone()),
            wallets: repo_wallets.clone(),
            events: events.clone(),
        },
    );
    let s = Arc::new(store.clone());
    let payments = PaymentService::new(PaymentPorts {
        payments: s.clone(),
        customers: s.clone(),
        subscriptions: s.clone(),
        invoices: s.clone(),
        wallets: s.clone(),
        methods: s.clone(),
        accounts: s.clone(),
        audit: s.clone(),
        units: s.clone(),
        events: events.clone(),
    });
    let invoices = InvoiceService::new(InvoicePorts {
        invoices: repo_invoices.clone(),
        customers: s.clone(),
        payments: s.clone(),
        units: s.clone(),
        audit: s,
        collector: payments,
        events,
        taxes,
    });
    let customer = |name: &str| {
        customers
            .create(
                &t,
                NewCustomer {
                    external_id: None,
                    name: name.into(),
                    ..NewCustomer::default()
                },
            )
            .unwrap()
            .id
    };
    let (alice, bob) = (customer("Alice"), customer("Bob"));
    let wallet_of = |c: &str| {
        wallets
            .create(
                &t,
                NewWallet {
                    customer_id: c.into(),
                    name: None,
                    currency: "USD".into(),
                    conversion_rate: None,
                    low_balance_threshold: None,
                },
            )
            .unwrap()
            .id
    };
    let invoice_of = |c: &str| {
        invoices
            .create(
                &t,
                NewInvoice {
                    customer_id: c.into(),
                    currency: "USD".into(),
                    due_at: None,
                    memo: None,
                    lines: vec![],
                },
            )
            .unwrap()
            .id
    };
    let (alice_wallet, bob_wallet) = (wallet_of(&alice), wallet_of(&bob));
    let (alice_invoice, bob_invoice) = (invoice_of(&alice), invoice_of(&bob));

    let as_alice: Scope = CustomerScope::new(&t, &alice).into();
    let account = Scope::account(&t);
    let elsewhere = Scope::account(&"ten_01jd3x6v9f5m2q8r7t4w0y1z3a".into());
    let page = PageRequest::new(Some(100), None).unwrap();

    // Wallets: the repository itself filters.
    assert!(repo_wallets
        .get(&as_alice, &alice_wallet)
        .unwrap()
        .is_some());
    assert!(repo_wallets.get(&as_alice, &bob_wallet).unwrap().is_none());
    assert!(repo_wallets.get(&account, &bob_wallet).unwrap().is_some());
    assert!(repo_wallets.get(&elsewhere, &bob_wallet).unwrap().is_none());
    let listed: Vec<String> = repo_wallets
        .list(&as_alice, None, &page)
        .unwrap()
        .items
        .into_iter()
        .map(|(w, _)| w.id.to_string())
        .collect();
    assert_eq!(listed, vec![alice_wallet.clone()]);
    // Narrowing a customer scope to another customer finds nothing, never the other's.
    assert!(repo_wallets
        .list(&as_alice, Some(&bob), &page)
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        repo_wallets
            .list(&account, None, &page)
            .unwrap()
            .items
            .len(),
        2
    );

    // Invoices: the same, for get and list.
    assert!(repo_invoices
        .get(&as_alice, &alice_invoice)
        .unwrap()
        .is_some());
    assert!(repo_invoices
        .get(&as_alice, &bob_invoice)
        .unwrap()
        .is_none());
    let all = InvoiceFilter::default();
    let mine: Vec<String> = repo_invoices
        .list(&as_alice, &all, &page)
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(mine, vec![alice_invoice.clone()]);
    assert_eq!(
        repo_invoices
            .list(&account, &all, &page)
            .unwrap()
            .items
            .len(),
        2
    );
    // Through the service, a customer does not see its own drafts either: not issued yet.
    let typed = InvoiceId::parse(&alice_invoice).unwrap();
    assert!(invoices.get(&as_alice, &typed).is_err());
    assert!(invoices.get(&account, &typed).is_ok());
}

#[test]
fn scopes_on_sqlite() {
    common::on_sqlite(exercise);
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
fn scopes_on_postgres() {
    common::on_postgres("scope", exercise);
}
