//! Batched appends on the one-statement path (compare-and-set and a multi-row insert in one autocommit
//! statement): conflicts, idempotent replays, metadata and the hash chain — against real Postgres.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use events::{Actor, Metadata, NewEvent};
use serde_json::json;
use sqlx::PgPool;
use store::{EventStore, ExpectedVersion, StoreError};
use uuid::Uuid;

/// A batch of `n` events whose payloads exercise the canonical JSON the chain covers: keys out of
/// order, nesting, escapes, numbers of every kind; every third event carries metadata and a tenant.
fn batch(first: u64, n: u64) -> Vec<NewEvent> {
    (first..first + n)
        .map(|i| {
            let event = NewEvent::raw(
                "Batched",
                json!({"z": i, "a": {"y": [1, 2.5, -3, null, true], "b": "quote \" and \\ and é\n"},
                       "m": {"nested": {"k2": "v", "k1": []}}}),
            );
            if i % 3 == 0 {
                event
                    .with_tenant(Uuid::from_u128(u128::from(i % 2) + 1))
                    .with_metadata(Metadata {
                        correlation_id: Some(Uuid::from_u128(u128::from(i))),
                        actor: Some(Actor::System {
                            component: "batch-test".into(),
                        }),
                        command_id: Some(format!("cmd-{i}")),
                        ..Metadata::default()
                    })
            } else {
                event
            }
        })
        .collect()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn batches_of_a_hundred_are_stored_in_order_with_their_metadata_and_a_verified_chain(
    pool: PgPool,
) {
    let store = EventStore::open(pool).await.unwrap();
    let mut sent = Vec::new();
    for round in 0..3_u64 {
        let events = batch(round * 100, 100);
        let expected = if round == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(i64::try_from(round * 100).unwrap())
        };
        let result = store
            .append("other-batched", expected, events.clone())
            .await
            .unwrap();
        assert!(result.appended);
        assert_eq!(result.version, i64::try_from(round * 100 + 100).unwrap());
        sent.extend(events);
    }
    let stored = store.read_stream_all("other-batched").await.unwrap();
    assert_eq!(stored.len(), 300);
    for (i, (s, e)) in stored.iter().zip(&sent).enumerate() {
        assert_eq!(s.stream_version, i64::try_from(i).unwrap() + 1);
        assert_eq!(s.event_id, e.event_id);
        assert_eq!(s.data, e.data);
        assert_eq!(s.metadata, e.metadata);
        assert_eq!(s.tenant_id, e.tenant_id);
    }
    assert_eq!(
        store.stream_head("other-batched").await.unwrap(),
        Some((sent[0].tenant_id, 300))
    );
    let report = store.verify_chains(Some("other-batched")).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.broken);
    assert_eq!(report.events, 300);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_batch_on_a_stale_head_is_a_conflict_and_writes_nothing(pool: PgPool) {
    // Two processes: each remembers the head it wrote last, so the first one's hint goes stale.
    let first = EventStore::open(pool.clone()).await.unwrap();
    let second = EventStore::open(pool).await.unwrap();
    first
        .append("other-stale", ExpectedVersion::NoStream, batch(0, 100))
        .await
        .unwrap();
    second
        .append("other-stale", ExpectedVersion::Exact(100), batch(100, 50))
        .await
        .unwrap();
    let err = first
        .append("other-stale", ExpectedVersion::Exact(100), batch(500, 100))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                actual: Some(150),
                ..
            }
        ),
        "{err:?}"
    );
    let err = first
        .append("other-stale", ExpectedVersion::NoStream, batch(600, 100))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        first.stream_version("other-stale").await.unwrap(),
        Some(150)
    );
    assert_eq!(
        first.read_stream_all("other-stale").await.unwrap().len(),
        150
    );
    // The conflict refreshed nothing wrongly: the right expectation still goes through.
    first
        .append("other-stale", ExpectedVersion::Exact(150), batch(700, 10))
        .await
        .unwrap();
    assert!(
        first
            .verify_chains(Some("other-stale"))
            .await
            .unwrap()
            .is_clean()
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn replaying_a_committed_batch_is_a_no_op_from_this_process_or_another(pool: PgPool) {
    let store = EventStore::open(pool.clone()).await.unwrap();
    let other = EventStore::open(pool).await.unwrap();
    let one = batch(0, 100);
    let two = batch(100, 100);
    store
        .append("other-replay", ExpectedVersion::NoStream, one.clone())
        .await
        .unwrap();
    store
        .append("other-replay", ExpectedVersion::Exact(100), two.clone())
        .await
        .unwrap();
    for handle in [&store, &other] {
        let again = handle
            .append("other-replay", ExpectedVersion::NoStream, one.clone())
            .await
            .unwrap();
        assert!(!again.appended);
        assert_eq!(again.version, 100);
        let again = handle
            .append("other-replay", ExpectedVersion::Exact(100), two.clone())
            .await
            .unwrap();
        assert!(!again.appended);
        assert_eq!(again.version, 200);
    }
    // Half old, half new ids is not a replay: the conflict stands and nothing is written.
    let mut mixed = two[50..].to_vec();
    mixed.extend(batch(900, 50));
    let err = store
        .append("other-replay", ExpectedVersion::Exact(100), mixed)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store.stream_version("other-replay").await.unwrap(),
        Some(200)
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_batch_reusing_another_streams_event_id_is_refused_whole(pool: PgPool) {
    let store = EventStore::open(pool).await.unwrap();
    let taken = batch(0, 1);
    store
        .append("other-owner", ExpectedVersion::NoStream, taken.clone())
        .await
        .unwrap();
    // Reused first: the store names the id. Reused mid-batch: the unique violation stands (only part of
    // the batch exists, so it is not a replay). Either way the statement rolled back as a whole.
    let mut first = batch(10, 99);
    first.insert(0, taken[0].clone());
    let err = store
        .append("other-thief", ExpectedVersion::NoStream, first)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateEventId(id) if id == taken[0].event_id),
        "{err:?}"
    );
    let mut middle = batch(10, 99);
    middle.insert(40, taken[0].clone());
    let err = store
        .append("other-thief", ExpectedVersion::NoStream, middle)
        .await
        .unwrap_err();
    match err {
        StoreError::Database(db) => assert_eq!(
            store::error::violated_constraint(&db),
            Some("events_event_id_key")
        ),
        other => panic!("expected the unique violation, got {other:?}"),
    }
    assert_eq!(store.stream_version("other-thief").await.unwrap(), None);
    assert!(
        store
            .read_stream_all("other-thief")
            .await
            .unwrap()
            .is_empty()
    );
}
