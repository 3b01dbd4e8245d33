//! The idempotency store on both backends: the claim, the work's effects and the answer commit
//! together; refusals keep their answer but not their effects; failures leave nothing; a key held
//! by a running request is in progress; retention purge.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::sync::{mpsc, Arc};

use chrono::Duration;
use domain::clock::now;
use domain::customer::NewCustomer;
use domain::idempotency::{Answer, Claim, Once, StoredResponse, RETENTION};
use domain::ports::{ApiKeyRepo, CustomerRepo, IdempotencyRepo};
use domain::services::api_keys::ApiKeyService;
use domain::services::customers::CustomerService;
use domain::{DomainError, DomainResult};
use storage::{Backend, Store};

mod common;

fn answer(status: u16, body: &str) -> StoredResponse {
    StoredResponse {
        status,
        body: body.into(),
    }
}

fn exercise(store: &Store) {
    let keys = ApiKeyService::new(Arc::new(store.clone()) as Arc<dyn ApiKeyRepo>);
    let (key, _) = keys
        .bootstrap(None)
        .unwrap()
        .expect("empty database bootstraps");
    let t = key.tenant_id.clone();
    let shared = Arc::new(store.clone());
    let events = domain::services::webhooks::Events::new(shared.clone());
    let customers = CustomerService::new(
        shared.clone() as Arc<dyn CustomerRepo>,
        shared.clone(),
        shared.clone(),
        shared.clone(),
        shared.clone(),
        events.clone(),
        domain::services::taxes::TaxService::new(shared.clone(), shared),
    );
    let count = |external_id: &str| {
        customers
            .get_by_external_id(&t, external_id)
            .map(|_| 1)
            .unwrap_or(0)
    };
    let create = |external_id: &str| -> DomainResult<()> {
        customers
            .create(
                &t,
                NewCustomer {
                    external_id: Some(external_id.into()),
                    name: "Unit".into(),
                    ..NewCustomer::default()
                },
            )
            .map(drop)
    };
    let claim = |key: &str, fingerprint: &str, at| Claim {
        tenant_id: t.clone(),
        key: key.into(),
        fingerprint: fingerprint.into(),
        now: at,
    };
    let t0 = now();
    let mut runs = 0;

    // Success: effect and answer together; then replays without running again.
    let ran = store
        .run_once(&claim("a", "f1", t0), &mut || {
            runs += 1;
            create("a")?;
            Ok(Answer::Commit(answer(201, "{\"id\":1}")))
        })
        .unwrap();
    assert_eq!(ran, Once::Ran(answer(201, "{\"id\":1}")));
    assert_eq!(count("a"), 1);
    for _ in 0..2 {
        let again = store
            .run_once(&claim("a", "f1", t0), &mut || {
                runs += 1;
                create("a-again")?;
                Ok(Answer::Commit(answer(201, "{}")))
            })
            .unwrap();
        assert_eq!(again, Once::Replay(answer(201, "{\"id\":1}")));
    }
    assert_eq!(
        store
            .run_once(&claim("a", "f2", t0), &mut || unreachable!())
            .unwrap(),
        Once::Mismatch
    );
    assert_eq!((runs, count("a-again")), (1, 0));

    // A refusal: what it wrote is undone, its answer is kept and replayed.
    let refused = store
        .run_once(&claim("r", "f", t0), &mut || {
            create("r")?;
            Ok(Answer::Refuse(answer(409, "{\"code\":\"x\"}")))
        })
        .unwrap();
    assert_eq!(refused, Once::Ran(answer(409, "{\"code\":\"x\"}")));
    assert_eq!(count("r"), 0, "a refusal's writes are undone");
    assert_eq!(
        store
            .run_once(&claim("r", "f", t0), &mut || unreachable!())
            .unwrap(),
        Once::Replay(answer(409, "{\"code\":\"x\"}"))
    );

    // A refusal after a database error inside the work (PostgreSQL aborts the transaction until
    // the savepoint is rolled back): the answer is still recorded.
    let dup = store
        .run_once(&claim("dup", "f", t0), &mut || match create("a") {
            Err(DomainError::Conflict { .. }) => Ok(Answer::Refuse(answer(409, "{}"))),
            other => panic!("expected a conflict, got {other:?}"),
        })
        .unwrap();
    assert_eq!(dup, Once::Ran(answer(409, "{}")));

    // A failure: nothing recorded, nothing kept, so the retry runs.
    let failed = store.run_once(&claim("e", "f", t0), &mut || {
        create("e")?;
        Err(DomainError::internal("boom"))
    });
    assert!(failed.is_err());
    assert_eq!(count("e"), 0, "a failure's writes are undone");
    let retried = store
        .run_once(&claim("e", "f", t0), &mut || {
            create("e")?;
            Ok(Answer::Commit(answer(201, "{}")))
        })
        .unwrap();
    assert_eq!(retried, Once::Ran(answer(201, "{}")));
    assert_eq!(count("e"), 1);

    // A key held by a running request: PostgreSQL answers "in progress" at once; SQLite, one
    // writer at a time, waits for it and replays its answer.
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let holder = {
        let (store, claim) = (store.clone(), claim("held", "f", t0));
        std::thread::spawn(move || {
            store.run_once(&claim, &mut || {
                started_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                Ok(Answer::Commit(answer(201, "{\"held\":true}")))
            })
        })
    };
    started.recv().unwrap();
    if store.backend() == Backend::Postgres {
        assert_eq!(
            store
                .run_once(&claim("held", "f", t0), &mut || unreachable!())
                .unwrap(),
            Once::InProgress
        );
        go.send(()).unwrap();
    } else {
        go.send(()).unwrap();
    }
    assert_eq!(
        holder.join().unwrap().unwrap(),
        Once::Ran(answer(201, "{\"held\":true}"))
    );
    assert_eq!(
        store
            .run_once(&claim("held", "f", t0), &mut || unreachable!())
            .unwrap(),
        Once::Replay(answer(201, "{\"held\":true}"))
    );

    // Retention: records older than 24 h are purged, newer ones kept; an expired record is
    // replaced by the next request with its key.
    let old = t0 - RETENTION - Duration::minutes(1);
    let ok = || Ok(Answer::Commit(answer(200, "{}")));
    store
        .run_once(&claim("old", "f", old), &mut ok.clone())
        .unwrap();
    assert_eq!(store.purge(t0 - RETENTION).unwrap(), 1);
    assert_eq!(
        store
            .run_once(&claim("old", "g", t0), &mut ok.clone())
            .unwrap(),
        Once::Ran(answer(200, "{}")),
        "purged key is free again"
    );
    assert_eq!(
        store
            .run_once(&claim("a", "f2", t0), &mut ok.clone())
            .unwrap(),
        Once::Mismatch,
        "recent record kept"
    );
    store
        .run_once(&claim("exp", "f", old), &mut ok.clone())
        .unwrap();
    assert_eq!(
        store
            .run_once(&claim("exp", "g", t0), &mut ok.clone())
            .unwrap(),
        Once::Ran(answer(200, "{}")),
        "an expired record is taken over"
    );
}

#[test]
fn idempotency_on_sqlite() {
    common::on_sqlite(exercise);
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL to run"
)]
fn idempotency_on_postgres() {
    common::on_postgres("idem", exercise);
}
