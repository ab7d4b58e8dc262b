//! Appending: optimistic concurrency under contention, idempotency, multi-stream atomicity, hooks,
//! immutability and upcasting — against a fresh real Postgres database per test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use events::{NewEvent, Upcasters};
use serde_json::json;
use sqlx::PgPool;
use store::{EventStore, ExpectedVersion, StoreError, StreamAppend};
use uuid::Uuid;

async fn open(pool: PgPool) -> EventStore {
    EventStore::open(pool).await.unwrap()
}

fn ev(n: u64) -> NewEvent {
    NewEvent::raw("Tested", json!({ "n": n }))
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn sixteen_exact_writers_on_one_stream_get_every_version_once_and_losers_get_conflict(
    pool: PgPool,
) {
    let store = open(pool).await;
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..16_u64 {
        let store = store.clone();
        tasks.spawn(async move {
            let (mut won, mut lost) = (0, 0);
            for attempt in 0..25 {
                let version = store
                    .stream_version("other-race")
                    .await
                    .unwrap()
                    .unwrap_or(0);
                let expected = if version == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(version)
                };
                match store
                    .append("other-race", expected, vec![ev(writer * 100 + attempt)])
                    .await
                {
                    Ok(r) => {
                        assert!(r.appended);
                        won += 1;
                    }
                    Err(StoreError::Conflict { .. }) => lost += 1,
                    Err(other) => panic!("only conflicts may fail, got {other}"),
                }
            }
            (won, lost)
        });
    }
    let (mut won, mut lost) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (w, l) = r.unwrap();
        won += w;
        lost += l;
    }
    assert!(lost > 0, "16 writers racing must produce conflicts");
    let events = store.read_stream_all("other-race").await.unwrap();
    let versions: Vec<i64> = events.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, (1..=won).collect::<Vec<i64>>());
    assert!(
        store
            .verify_chains(Some("other-race"))
            .await
            .unwrap()
            .is_clean()
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_conflict_names_the_stream_the_expectation_and_the_actual_version(pool: PgPool) {
    let store = open(pool).await;
    store
        .append("other-a", ExpectedVersion::NoStream, vec![ev(1), ev(2)])
        .await
        .unwrap();
    let err = store
        .append("other-a", ExpectedVersion::Exact(1), vec![ev(3)])
        .await
        .unwrap_err();
    match err {
        StoreError::Conflict { stream, actual, .. } => {
            assert_eq!(stream, "other-a");
            assert_eq!(actual, Some(2));
        }
        other => panic!("expected a conflict, got {other}"),
    }
    let err = store
        .append("other-a", ExpectedVersion::NoStream, vec![ev(4)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }));
    let err = store
        .append("other-b", ExpectedVersion::Exact(3), vec![ev(5)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { actual: None, .. }));
    assert_eq!(store.read_stream_all("other-a").await.unwrap().len(), 2);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn re_appending_the_same_event_ids_is_a_no_op_success(pool: PgPool) {
    let store = open(pool).await;
    let batch = vec![ev(1), ev(2)];
    let first = store
        .append("other-idem", ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert!(first.appended);
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Any,
        ExpectedVersion::Exact(0),
    ] {
        let again = store
            .append("other-idem", expected, batch.clone())
            .await
            .unwrap();
        assert!(!again.appended);
        assert_eq!(again.version, 2);
    }
    assert_eq!(store.read_stream_all("other-idem").await.unwrap().len(), 2);

    // The same id on another stream is not a retry: it is refused.
    let err = store
        .append(
            "other-elsewhere",
            ExpectedVersion::Any,
            vec![batch[0].clone()],
        )
        .await;
    assert!(matches!(err, Err(StoreError::DuplicateEventId(id)) if id == batch[0].event_id));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_lost_race_sharing_one_deterministic_event_id_keeps_its_conflict(pool: PgPool) {
    // Two writers of the same command: each has its own fresh events, and one event whose id both derive
    // from the command (a booking's usage). The loser is not a retry of the winner: it gets its conflict,
    // not "duplicate event id", so the caller can replay the winner's answer.
    let store = open(pool).await;
    let shared = ev(9);
    let batches = |fresh: NewEvent| {
        vec![
            StreamAppend::new("other-cmd", ExpectedVersion::NoStream, vec![fresh]),
            StreamAppend::new(
                "other-cmd-usage",
                ExpectedVersion::NoStream,
                vec![shared.clone()],
            ),
        ]
    };
    store.append_many(batches(ev(1)), None).await.unwrap();
    let err = store.append_many(batches(ev(2)), None).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // And the winner's own retry is still a no-op success.
    assert_eq!(store.read_stream_all("other-cmd").await.unwrap().len(), 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn concurrent_any_appends_all_land_in_order(pool: PgPool) {
    let store = open(pool).await;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..10 {
                store
                    .append("other-any", ExpectedVersion::Any, vec![ev(w * 10 + i)])
                    .await
                    .unwrap();
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let events = store.read_stream_all("other-any").await.unwrap();
    assert_eq!(events.len(), 80);
    assert!(store.verify_chains(None).await.unwrap().is_clean());
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_multi_stream_append_is_all_or_nothing(pool: PgPool) {
    let store = open(pool).await;
    store
        .append("other-y", ExpectedVersion::NoStream, vec![ev(0)])
        .await
        .unwrap();
    // The second stream's expectation fails: the first stream must not have been written either.
    let err = store
        .append_many(
            vec![
                StreamAppend::new("other-x", ExpectedVersion::NoStream, vec![ev(1)]),
                StreamAppend::new("other-y", ExpectedVersion::NoStream, vec![ev(2)]),
            ],
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }));
    assert!(store.read_stream_all("other-x").await.unwrap().is_empty());

    let ok = store
        .append_many(
            vec![
                StreamAppend::new("other-x", ExpectedVersion::NoStream, vec![ev(1)]),
                StreamAppend::new("other-y", ExpectedVersion::Exact(1), vec![ev(2)]),
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(ok.iter().map(|r| r.version).collect::<Vec<_>>(), vec![1, 2]);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn new_streams_open_together_and_one_that_exists_is_appended_to_or_reported(pool: PgPool) {
    // Another process wrote `other-client` (this one has no hint that it exists), as another booking of
    // the same caller would have.
    let elsewhere = open(pool.clone()).await;
    elsewhere
        .append("other-client", ExpectedVersion::NoStream, vec![ev(0)])
        .await
        .unwrap();
    let store = open(pool).await;
    let booking = |n: u64, client: ExpectedVersion| {
        vec![
            StreamAppend::new(
                format!("other-booking-{n}"),
                ExpectedVersion::NoStream,
                vec![ev(n), ev(n + 1)],
            ),
            StreamAppend::new("other-client", client, vec![ev(n + 2)]),
            StreamAppend::new(
                format!("other-usage-{n}"),
                ExpectedVersion::NoStream,
                vec![ev(n + 3)],
            ),
        ]
    };
    // All three are tried as new: the existing `Any` stream takes the event as its version 2.
    let done = store
        .append_many(booking(10, ExpectedVersion::Any), None)
        .await
        .unwrap();
    let versions: Vec<(&str, i64)> = done
        .iter()
        .map(|r| (r.stream_id.as_str(), r.version))
        .collect();
    assert_eq!(
        versions,
        vec![
            ("other-booking-10", 2),
            ("other-client", 2),
            ("other-usage-10", 1)
        ]
    );
    // A stream that must be new but exists fails the whole append with its actual version.
    let fresh = open(store.pool().clone()).await;
    let err = fresh
        .append_many(booking(10, ExpectedVersion::Any), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { stream, actual: Some(2), .. } if stream == "other-booking-10"),
        "{err:?}"
    );
    let err = fresh
        .append_many(booking(20, ExpectedVersion::NoStream), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { stream, actual: Some(2), .. } if stream == "other-client"),
        "{err:?}"
    );
    assert!(
        fresh
            .read_stream_all("other-booking-20")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fresh.read_stream_all("other-client").await.unwrap().len(),
        2
    );
    assert!(fresh.verify_chains(None).await.unwrap().is_clean());
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_hook_runs_in_the_append_transaction_and_its_failure_rolls_everything_back(
    pool: PgPool,
) {
    let store = open(pool.clone()).await;
    sqlx::query("create table guard (slot int constraint guard_slot_key unique)")
        .execute(&pool)
        .await
        .unwrap();
    let book = |slot: i32| -> store::AppendHook<'static> {
        Box::new(move |conn| {
            Box::pin(async move {
                sqlx::query("insert into guard values ($1)")
                    .bind(slot)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
    };
    store
        .append_many(
            vec![StreamAppend::new(
                "other-b1",
                ExpectedVersion::NoStream,
                vec![ev(1)],
            )],
            Some(book(7)),
        )
        .await
        .unwrap();
    let err = store
        .append_many(
            vec![StreamAppend::new(
                "other-b2",
                ExpectedVersion::NoStream,
                vec![ev(2)],
            )],
            Some(book(7)),
        )
        .await
        .unwrap_err();
    match err {
        StoreError::Hook(db) => assert_eq!(
            store::error::violated_constraint(&db),
            Some("guard_slot_key")
        ),
        other => panic!("expected the hook's error, got {other}"),
    }
    assert!(store.read_stream_all("other-b2").await.unwrap().is_empty());
    assert_eq!(store.stream_version("other-b2").await.unwrap(), None);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn stored_events_cannot_be_updated_or_deleted(pool: PgPool) {
    let store = open(pool.clone()).await;
    store
        .append("other-imm", ExpectedVersion::NoStream, vec![ev(1)])
        .await
        .unwrap();
    let update = sqlx::query("update events set data = '{}'")
        .execute(&pool)
        .await;
    let delete = sqlx::query("delete from events").execute(&pool).await;
    let truncate = sqlx::query("truncate events").execute(&pool).await;
    for result in [update, delete, truncate] {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("events are immutable"), "{err}");
    }
    assert_eq!(store.read_stream_all("other-imm").await.unwrap().len(), 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn tampering_with_a_stored_event_is_caught_and_the_event_named(pool: PgPool) {
    let store = open(pool.clone()).await;
    store
        .append(
            "other-t",
            ExpectedVersion::NoStream,
            vec![ev(1), ev(2), ev(3)],
        )
        .await
        .unwrap();
    store
        .append("other-u", ExpectedVersion::NoStream, vec![ev(9)])
        .await
        .unwrap();
    assert!(store.verify_chains(None).await.unwrap().is_clean());
    let target = store.read_stream_all("other-t").await.unwrap()[1].event_id;

    // A superuser can bypass the immutability trigger; the hash chain still tells.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("set session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("update events set data = '{\"n\": 999}' where event_id = $1")
        .bind(target)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("set session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let report = store.verify_chains(None).await.unwrap();
    assert_eq!(report.broken.len(), 1, "{:?}", report.broken);
    assert_eq!(report.broken[0].stream_id, "other-t");
    assert_eq!(report.broken[0].stream_version, 2);
    assert_eq!(report.broken[0].event_id, Some(target));
    assert!(
        store
            .verify_chains(Some("other-u"))
            .await
            .unwrap()
            .is_clean()
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn removing_the_last_event_of_a_stream_is_caught(pool: PgPool) {
    let store = open(pool.clone()).await;
    store
        .append("other-r", ExpectedVersion::NoStream, vec![ev(1), ev(2)])
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("set session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("delete from events where stream_id = 'other-r' and stream_version = 2")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let report = store.verify_chains(Some("other-r")).await.unwrap();
    assert!(!report.is_clean());
    assert!(
        report.broken[0].problem.contains("stream head"),
        "{:?}",
        report.broken
    );
}

fn v1_to_v2(mut data: serde_json::Value) -> serde_json::Value {
    let n = data["n"].as_u64().unwrap_or(0);
    data["n_doubled"] = json!(n * 2);
    data
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn old_payloads_are_upcast_when_read(pool: PgPool) {
    let store = open(pool)
        .await
        .with_upcasters(Upcasters::new().with("Tested", 1, v1_to_v2));
    store
        .append("other-up", ExpectedVersion::NoStream, vec![ev(21)])
        .await
        .unwrap();
    let read = store.read_stream_all("other-up").await.unwrap();
    assert_eq!(read[0].schema_version, 2);
    assert_eq!(read[0].data, json!({"n": 21, "n_doubled": 42}));
    // The chain covers what was written, not the upcast view.
    assert!(store.verify_chains(None).await.unwrap().is_clean());
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn every_event_carries_its_metadata_and_tenant(pool: PgPool) {
    let store = open(pool).await;
    let tenant = Uuid::now_v7();
    let meta = events::Metadata {
        correlation_id: Some(Uuid::now_v7()),
        causation_id: Some(Uuid::now_v7()),
        actor: Some(events::Actor::System {
            component: "test".into(),
        }),
        command_id: Some("cmd-1".into()),
        traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
    };
    let event = ev(1).with_tenant(tenant).with_metadata(meta.clone());
    store
        .append("other-m", ExpectedVersion::NoStream, vec![event])
        .await
        .unwrap();
    let read = store.read_stream_all("other-m").await.unwrap();
    assert_eq!(read[0].metadata, meta);
    assert_eq!(read[0].tenant_id, Some(tenant));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_shared_stream_written_second_in_concurrent_transactions_reaches_the_feed_in_version_order(
    pool: PgPool,
) {
    // Each transaction writes its own stream first (that write gives it its transaction id), then `Any`
    // on a shared stream: a transaction that got its id earlier must not take a later version of the
    // shared stream, or the feed (ordered by transaction id) would show version n+1 before n — and every
    // projector stops on the gap.
    let store = open(pool).await;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..16_u64 {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..15_u64 {
                store
                    .append_many(
                        vec![
                            StreamAppend::new(
                                format!("other-a{w}-{i}"),
                                ExpectedVersion::NoStream,
                                vec![ev(i)],
                            ),
                            StreamAppend::new("other-zshared", ExpectedVersion::Any, vec![ev(i)]),
                        ],
                        None,
                    )
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let committed = store.committed_head().await.unwrap();
    while store.feed_head().await.unwrap() < committed {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut pos = store::FeedPosition::START;
    let mut shared = Vec::new();
    loop {
        let batch = store.read_feed(pos, 500).await.unwrap();
        let Some(last) = batch.last() else { break };
        pos = last.position();
        shared.extend(
            batch
                .iter()
                .filter(|e| e.stream_id == "other-zshared")
                .map(|e| e.stream_version),
        );
    }
    assert_eq!(shared, (1..=240).collect::<Vec<i64>>());
}
