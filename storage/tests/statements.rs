//! Round trips of the merchant's hot path, counted on both backends: an entitlement check reads
//! the customer, the feature, the running subscriptions, their plans and the period counters in
//! one statement (`UsageRepo::check_view`), whether or not the customer has anything. Counted
//! with diesel's connection instrumentation, per thread.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::cell::Cell;
use std::sync::Arc;

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use domain::customer::NewCustomer;
use domain::ports::{ApiKeyRepo, CustomerRepo, UsageRepo};
use domain::scope::CustomerScope;
use domain::services::api_keys::ApiKeyService;
use domain::services::customers::CustomerService;
use storage::Store;

mod common;

thread_local! {
    static STATEMENTS: Cell<usize> = const { Cell::new(0) };
}

/// Counts the statements this thread's connections start (not the pool's liveness probe).
fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            if query.to_string().trim() != "SELECT 1" {
                STATEMENTS.with(|n| n.set(n.get() + 1));
            }
        }
    }))
}

fn statements_of<T>(work: impl FnOnce() -> T) -> (T, usize) {
    STATEMENTS.with(|n| n.set(0));
    let out = work();
    (out, STATEMENTS.with(Cell::get))
}

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
        events,
        taxes,
    );
    let c = customers
        .create(
            &t,
            NewCustomer {
                name: "Counted".into(),
                ..NewCustomer::default()
            },
        )
        .unwrap()
        .id;
    let theirs = CustomerScope::new(&t, &c);
    let (view, n) = statements_of(|| store.check_view(&theirs, "api_calls").unwrap());
    let view = view.expect("the customer is found");
    assert!(view.feature.is_none() && view.grants.is_empty());
    assert_eq!(n, 1, "a check is one statement");
    let other = CustomerScope::new(&t, &domain::id::CustomerId::new());
    let (view, n) = statements_of(|| store.check_view(&other, "api_calls").unwrap());
    assert!(view.is_none(), "another customer is not found");
    assert_eq!(n, 1);
}

#[test]
fn a_check_is_one_statement() {
    set_default_instrumentation(counting).unwrap();
    common::on_sqlite(exercise);
    common::on_postgres("statements", exercise);
}
