//! The gap-safe feed and the relay: nothing is delivered past an open transaction, everything is
//! delivered exactly once afterwards, and the relay survives being killed and NATS going away.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

#[path = "support/jetstream.rs"]
mod jetstream_support;

use std::collections::HashSet;
use std::time::Duration;

use events::NewEvent;
use rand::Rng as _;
use serde_json::json;
use sqlx::PgPool;
use store::bus::BusConfig;
use store::relay::{Relay, RelayConfig};
use store::{EventStore, ExpectedVersion, FeedPosition, StoredEvent, StreamAppend};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use jetstream_support::{PrivateNats, stream_events, wait_for_count};

fn ev(n: u64) -> NewEvent {
    NewEvent::raw("Tested", json!({ "n": n })).with_tenant(Uuid::from_u128(u128::from(n % 3) + 1))
}

async fn read_all(store: &EventStore) -> Vec<StoredEvent> {
    let mut pos = FeedPosition::START;
    let mut all = Vec::new();
    loop {
        let batch = store.read_feed(pos, 100).await.unwrap();
        let Some(last) = batch.last() else { return all };
        pos = last.position();
        all.extend(batch);
    }
}

/// Starts an append whose transaction stays open until the returned sender fires.
async fn held_append(
    store: &EventStore,
    stream: &str,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (release, wait) = oneshot::channel::<()>();
    let (started, is_started) = oneshot::channel::<()>();
    let store = store.clone();
    let stream = stream.to_owned();
    let handle = tokio::spawn(async move {
        let hook: store::AppendHook<'static> = Box::new(move |_conn| {
            Box::pin(async move {
                let _ = started.send(());
                let _ = wait.await;
                Ok(())
            })
        });
        store
            .append_many(
                vec![StreamAppend::new(
                    stream,
                    ExpectedVersion::Any,
                    vec![ev(1000)],
                )],
                Some(hook),
            )
            .await
            .unwrap();
    });
    is_started.await.unwrap();
    (release, handle)
}

fn assert_exactly_once_in_stream_order(delivered: &[StoredEvent], expected_total: usize) {
    assert_eq!(delivered.len(), expected_total);
    let ids: HashSet<Uuid> = delivered.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), expected_total, "an event was delivered twice");
    let mut last_version = std::collections::HashMap::new();
    for e in delivered {
        let prev = last_version
            .insert(e.stream_id.clone(), e.stream_version)
            .unwrap_or(0);
        assert_eq!(
            e.stream_version,
            prev + 1,
            "stream {} out of order",
            e.stream_id
        );
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_feed_waits_for_an_open_transaction_and_then_delivers_everything_once(pool: PgPool) {
    let store = EventStore::open(pool).await.unwrap();
    store
        .append("other-before", ExpectedVersion::Any, vec![ev(1), ev(2)])
        .await
        .unwrap();
    let (release, held) = held_append(&store, "other-held").await;
    for i in 0..5 {
        store
            .append("other-after", ExpectedVersion::Any, vec![ev(10 + i)])
            .await
            .unwrap();
    }
    // Later appends committed, but the open transaction is older: the feed stops before it. (It may stop
    // even earlier: xmin is cluster-wide, and other databases' transactions hold it back too.)
    let visible = read_all(&store).await;
    assert!(
        visible.iter().all(|e| e.stream_id == "other-before"),
        "the feed delivered past an open transaction: {:?}",
        visible.iter().map(|e| &e.stream_id).collect::<Vec<_>>()
    );
    // A reader that remembered the highest position seen would now skip the held event forever.
    let highest_committed: i64 = sqlx::query_scalar("select max(global_position) from events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    release.send(()).unwrap();
    held.await.unwrap();
    // Other databases' transactions on this server can hold xmin back for a moment: wait, never skip.
    let mut all = read_all(&store).await;
    for _ in 0..200 {
        if all.len() >= 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        all = read_all(&store).await;
    }
    assert_exactly_once_in_stream_order(&all, 8);
    let held_event = all.iter().find(|e| e.stream_id == "other-held").unwrap();
    assert!(
        held_event.global_position < highest_committed,
        "the held event got an earlier position"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn batched_appends_committed_after_an_open_transaction_wait_for_it_and_arrive_once_in_order(
    pool: PgPool,
) {
    let store = EventStore::open(pool).await.unwrap();
    let (release, held) = held_append(&store, "other-held").await;
    // Four writers append batches on the one-statement path while a reader follows the feed.
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..4_u64 {
        let store = store.clone();
        writers.spawn(async move {
            for round in 0..10_u64 {
                let events = (0..25).map(|k| ev(w * 1000 + round * 25 + k)).collect();
                let expected = match round {
                    0 => ExpectedVersion::NoStream,
                    r => ExpectedVersion::Exact(i64::try_from(r * 25).unwrap()),
                };
                store
                    .append(&format!("other-batch-{w}"), expected, events)
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(r) = writers.join_next().await {
        r.unwrap();
    }
    assert!(
        read_all(&store).await.is_empty(),
        "the feed delivered batches committed after an open transaction"
    );
    release.send(()).unwrap();
    held.await.unwrap();
    let mut delivered = Vec::new();
    let mut pos = FeedPosition::START;
    for _ in 0..400 {
        let batch = store.read_feed(pos, 70).await.unwrap();
        if let Some(last) = batch.last() {
            pos = last.position();
            delivered.extend(batch);
        } else if delivered.len() >= 1001 {
            break;
        } else {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    assert_exactly_once_in_stream_order(&delivered, 1001);
    assert_eq!(delivered[0].stream_id, "other-held");
}

fn spawn_relay(
    store: &EventStore,
    js: &async_nats::jetstream::Context,
    bus: &BusConfig,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let token = CancellationToken::new();
    let relay = Relay::new(
        store.clone(),
        js.clone(),
        bus.clone(),
        RelayConfig {
            batch_size: 50,
            poll_interval: Duration::from_millis(50),
            ..RelayConfig::default()
        },
    );
    let t = token.clone();
    let handle = tokio::spawn(async move { relay.run(t).await.unwrap() });
    (token, handle)
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_relay_does_not_publish_past_an_open_transaction(pool: PgPool) {
    let store = EventStore::open(pool).await.unwrap();
    let nats = store::bus::connect("nats://127.0.0.1:4222").await.unwrap();
    let js = store::bus::jetstream(nats);
    let bus = BusConfig::unique("gap");
    let (stop, _relay) = spawn_relay(&store, &js, &bus);
    store
        .append("other-before", ExpectedVersion::Any, vec![ev(1)])
        .await
        .unwrap();
    wait_for_count(&js, &bus, 1, 10).await;
    let (release, held) = held_append(&store, "other-held").await;
    for i in 0..5 {
        store
            .append("other-after", ExpectedVersion::Any, vec![ev(10 + i)])
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stream_events(&js, &bus).await.len(),
        1,
        "relay published past the open transaction"
    );
    release.send(()).unwrap();
    held.await.unwrap();
    wait_for_count(&js, &bus, 7, 10).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let delivered = stream_events(&js, &bus).await;
    assert_exactly_once_in_stream_order(&delivered, 7);
    assert_eq!(
        delivered,
        read_all(&store).await,
        "JetStream order is the feed order"
    );
    stop.cancel();
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_relay_killed_at_random_points_and_restarted_publishes_every_event_exactly_once(
    pool: PgPool,
) {
    let store = EventStore::open(pool).await.unwrap();
    let nats = store::bus::connect("nats://127.0.0.1:4222").await.unwrap();
    let js = store::bus::jetstream(nats);
    let bus = BusConfig::unique("kill");
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..300_u64 {
                let stream = format!("other-s{}", i % 7);
                let events = (0..=(i % 3)).map(|k| ev(i * 10 + k)).collect();
                store
                    .append(&stream, ExpectedVersion::Any, events)
                    .await
                    .unwrap();
            }
        })
    };
    for _ in 0..8 {
        let (_stop, relay) = spawn_relay(&store, &js, &bus);
        let pause = rand::rng().random_range(20..250);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        relay.abort();
        let _ = relay.await;
    }
    writer.await.unwrap();
    // Every event is committed now; count them all (the feed itself may still lag the cluster-wide xmin).
    let total: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let total = usize::try_from(total).unwrap();
    let (stop, _relay) = spawn_relay(&store, &js, &bus);
    wait_for_count(&js, &bus, total as u64, 30).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivered = stream_events(&js, &bus).await;
    assert_exactly_once_in_stream_order(&delivered, total);
    stop.cancel();
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn appends_succeed_while_nats_is_down_and_the_relay_catches_up_when_it_returns(pool: PgPool) {
    let store = EventStore::open(pool).await.unwrap();
    let dir = std::env::temp_dir().join(format!("va-nats-{}", Uuid::new_v4().simple()));
    let mut nats_server = PrivateNats::start(&dir).await;
    let client = store::bus::connect(&nats_server.url()).await.unwrap();
    let js = store::bus::jetstream(client);
    let bus = BusConfig::unique("down");
    let (stop, _relay) = spawn_relay(&store, &js, &bus);
    for i in 0..10 {
        store
            .append("other-n", ExpectedVersion::Any, vec![ev(i)])
            .await
            .unwrap();
    }
    wait_for_count(&js, &bus, 10, 10).await;

    nats_server.stop().await;
    for i in 10..40 {
        store
            .append("other-n", ExpectedVersion::Any, vec![ev(i)])
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nats_server.restart().await;

    wait_for_count(&js, &bus, 40, 30).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivered = stream_events(&js, &bus).await;
    assert_exactly_once_in_stream_order(&delivered, 40);
    stop.cancel();
    nats_server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_relay_refuses_a_jetstream_stream_that_belongs_to_another_event_store(pool: PgPool) {
    let store = EventStore::open(pool).await.unwrap();
    let nats = store::bus::connect("nats://127.0.0.1:4222").await.unwrap();
    let js = store::bus::jetstream(nats);
    let bus = BusConfig::unique("foreign");
    js.create_stream(async_nats::jetstream::stream::Config {
        name: bus.stream_name.clone(),
        subjects: vec![bus.all_events()],
        description: Some("voiceappoint store 00000000-0000-0000-0000-000000000000".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let relay = Relay::new(store, js, bus, RelayConfig::default());
    let result = tokio::time::timeout(Duration::from_secs(10), relay.run(CancellationToken::new()))
        .await
        .unwrap();
    assert!(matches!(
        result,
        Err(store::relay::RelayError::Bus(
            store::bus::BusError::ForeignStream { .. }
        ))
    ));
}
