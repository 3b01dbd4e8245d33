//! The idempotency store's state machine and retention purge, on both backends.

use chrono::Duration;
use domain::clock::now;
use domain::idempotency::{Begin, StoredResponse, RETENTION, STALE_LOCK};
use domain::ports::{ApiKeyRepo, IdempotencyRepo};
use domain::services::api_keys::ApiKeyService;
use std::sync::Arc;
use storage::Store;

mod common;

fn exercise(store: &Store) {
    let keys = ApiKeyService::new(Arc::new(store.clone()) as Arc<dyn ApiKeyRepo>);
    let (key, _) = keys
        .bootstrap(None)
        .unwrap()
        .expect("empty database bootstraps");
    let t = key.tenant_id.as_str();
    let t0 = now();

    assert_eq!(store.begin(t, "a", "f1", t0).unwrap(), Begin::Started);
    assert_eq!(store.begin(t, "a", "f1", t0).unwrap(), Begin::InProgress);
    assert_eq!(store.begin(t, "a", "f2", t0).unwrap(), Begin::Mismatch);
    let done = StoredResponse {
        status: 201,
        body: "{\"id\":1}".into(),
    };
    store.complete(t, "a", &done).unwrap();
    assert_eq!(
        store.begin(t, "a", "f1", t0).unwrap(),
        Begin::Replay(done.clone())
    );
    // release() only forgets unfinished requests.
    store.release(t, "a").unwrap();
    assert_eq!(store.begin(t, "a", "f1", t0).unwrap(), Begin::Replay(done));

    // A claim whose owner died is taken over once the lock is stale.
    assert_eq!(store.begin(t, "b", "f", t0).unwrap(), Begin::Started);
    assert_eq!(
        store
            .begin(t, "b", "f", t0 + STALE_LOCK - Duration::seconds(1))
            .unwrap(),
        Begin::InProgress
    );
    assert_eq!(
        store.begin(t, "b", "f", t0 + STALE_LOCK).unwrap(),
        Begin::Started
    );

    // Retention: records older than 24 h are purged, newer ones kept.
    let old = t0 - RETENTION - Duration::minutes(1);
    assert_eq!(store.begin(t, "old", "f", old).unwrap(), Begin::Started);
    assert_eq!(store.purge(t0 - RETENTION).unwrap(), 1);
    assert_eq!(
        store.begin(t, "old", "g", t0).unwrap(),
        Begin::Started,
        "purged key is free again"
    );
    assert_eq!(
        store.begin(t, "a", "f2", t0).unwrap(),
        Begin::Mismatch,
        "recent record kept"
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
