//! The projector runtime end to end: event store → relay → JetStream → projector → read model.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;
use std::time::Duration;

use events::{NewEvent, StreamKind};
use futures::FutureExt as _;
use futures::TryStreamExt as _;
use futures::future::BoxFuture;
use projections::event_counts::EventCounts;
use projections::{ProjectionError, Projector, ProjectorRunner, RunnerConfig};
use rand::Rng as _;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use store::bus::BusConfig;
use store::relay::{Relay, RelayConfig};
use store::{EventStore, ExpectedVersion, StoredEvent, StreamAppend};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// `event_counts`, slowed down so that a kill lands in the middle of a batch's transaction.
struct SlowCounts;

impl Projector for SlowCounts {
    fn name(&self) -> &'static str {
        "event_counts"
    }
    fn tables(&self) -> &'static [&'static str] {
        EventCounts.tables()
    }
    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            for event in events {
                tokio::time::sleep(Duration::from_millis(2)).await;
                EventCounts.apply(&mut *conn, event).await?;
            }
            Ok(())
        }
        .boxed()
    }
}

/// `event_counts` that reads booking streams only.
struct BookingCounts;

impl Projector for BookingCounts {
    fn name(&self) -> &'static str {
        "event_counts"
    }
    fn tables(&self) -> &'static [&'static str] {
        EventCounts.tables()
    }
    fn kinds(&self) -> Option<&'static [StreamKind]> {
        Some(&[StreamKind::Booking])
    }
    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        EventCounts.apply_all(conn, events)
    }
}

struct Harness {
    store: EventStore,
    js: async_nats::jetstream::Context,
    bus: BusConfig,
    stop: CancellationToken,
}

impl Harness {
    async fn new(pool: PgPool) -> Self {
        let store = EventStore::open(pool).await.unwrap();
        let nats = store::bus::connect("nats://127.0.0.1:4222").await.unwrap();
        let js = store::bus::jetstream(nats);
        let bus = BusConfig::unique("proj");
        let stop = CancellationToken::new();
        let relay = Relay::new(
            store.clone(),
            js.clone(),
            bus.clone(),
            RelayConfig {
                batch_size: 100,
                poll_interval: Duration::from_millis(50),
                ..RelayConfig::default()
            },
        );
        tokio::spawn(relay.run(stop.clone()));
        Self {
            store,
            js,
            bus,
            stop,
        }
    }

    fn projector(
        &self,
        projector: Arc<dyn Projector>,
        batch_size: usize,
    ) -> tokio::task::JoinHandle<()> {
        let runner = ProjectorRunner::new(
            self.store.clone(),
            self.js.clone(),
            self.bus.clone(),
            projector,
            RunnerConfig {
                batch_size,
                ..RunnerConfig::default()
            },
        );
        let stop = self.stop.clone();
        tokio::spawn(async move { runner.run(stop).await.unwrap() })
    }

    /// Waits until `event_counts` has applied the newest committed event.
    async fn wait_caught_up(&self) {
        wait_for(&self.store, "event_counts").await;
    }

    /// The read model, and what it must be, computed straight from the event log.
    async fn counts(&self) -> Vec<(Uuid, String, String, i64)> {
        let mut tx = self.store.pool().begin().await.unwrap();
        sqlx::query("set local va.tenant_id = '*'")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query_as(
            "select tenant_id, stream_kind, event_type, events from event_counts order by 1, 2, 3",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    }

    async fn expected_counts(&self) -> Vec<(Uuid, String, String, i64)> {
        sqlx::query_as(
            "select coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'), split_part(stream_id, '-', 1), \
               event_type, count(*) from events group by 1, 2, 3 order by 1, 2, 3",
        )
        .fetch_all(self.store.pool())
        .await
        .unwrap()
    }
}

fn ev(i: u64) -> NewEvent {
    let kinds = ["Booked", "Cancelled", "Called"];
    NewEvent::raw(kinds[(i % 3) as usize], json!({"i": i}))
        .with_tenant(Uuid::from_u128(u128::from(i % 4) + 1))
}

async fn append_many_events(store: &EventStore, n: u64) {
    for i in 0..n {
        let stream = ["booking", "call", "other"][(i % 3) as usize];
        store
            .append(
                &format!("{stream}-{}", i % 11),
                ExpectedVersion::Any,
                vec![ev(i)],
            )
            .await
            .unwrap();
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_projector_killed_mid_batch_and_restarted_ends_exactly_like_a_rebuild_from_zero(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let writer = {
        let store = h.store.clone();
        tokio::spawn(async move { append_many_events(&store, 400).await })
    };
    for _ in 0..6 {
        let p = h.projector(Arc::new(SlowCounts), 25);
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(30..200))).await;
        p.abort();
        let _ = p.await;
    }
    writer.await.unwrap();
    let _p = h.projector(Arc::new(EventCounts), 100);
    h.wait_caught_up().await;
    let live = h.counts().await;
    assert_eq!(
        live,
        h.expected_counts().await,
        "the live read model double-applied or lost events"
    );

    let report = projections::rebuild::rebuild(&h.store, &EventCounts)
        .await
        .unwrap();
    assert_eq!(report.events_applied, 400);
    assert_eq!(
        h.counts().await,
        live,
        "rebuild from zero differs from the live read model"
    );
    h.stop.cancel();
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_projector_does_not_apply_past_an_open_transaction_and_applies_everything_once_after(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let _p = h.projector(Arc::new(EventCounts), 100);
    h.store
        .append("other-a", ExpectedVersion::Any, vec![ev(0)])
        .await
        .unwrap();
    h.wait_caught_up().await;

    let (release, wait) = oneshot::channel::<()>();
    let (started, is_started) = oneshot::channel::<()>();
    let held = {
        let store = h.store.clone();
        tokio::spawn(async move {
            let hook: store::AppendHook<'static> = Box::new(move |_c| {
                Box::pin(async move {
                    let _ = started.send(());
                    let _ = wait.await;
                    Ok(())
                })
            });
            store
                .append_many(
                    vec![StreamAppend::new(
                        "other-held",
                        ExpectedVersion::Any,
                        vec![ev(1)],
                    )],
                    Some(hook),
                )
                .await
                .unwrap();
        })
    };
    is_started.await.unwrap();
    for i in 2..8 {
        h.store
            .append("other-later", ExpectedVersion::Any, vec![ev(i)])
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total: i64 = h.counts().await.iter().map(|c| c.3).sum();
    assert_eq!(
        total, 1,
        "the projector applied events committed after an open transaction"
    );

    release.send(()).unwrap();
    held.await.unwrap();
    h.wait_caught_up().await;
    assert_eq!(h.counts().await, h.expected_counts().await);
    h.stop.cancel();
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_rebuild_while_the_projector_runs_is_swapped_in_without_double_counting(pool: PgPool) {
    let h = Harness::new(pool).await;
    let _p = h.projector(Arc::new(EventCounts), 50);
    append_many_events(&h.store, 150).await;
    let writer = {
        let store = h.store.clone();
        tokio::spawn(async move {
            for i in 150..300 {
                store
                    .append("other-during", ExpectedVersion::Any, vec![ev(i)])
                    .await
                    .unwrap();
            }
        })
    };
    projections::rebuild::rebuild(&h.store, &EventCounts)
        .await
        .unwrap();
    writer.await.unwrap();
    h.wait_caught_up().await;
    assert_eq!(h.counts().await, h.expected_counts().await);
    h.stop.cancel();
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_projector_sees_only_the_stream_kinds_it_reads_and_its_checkpoint_still_passes_the_others(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let _p = h.projector(Arc::new(BookingCounts), 40);
    append_many_events(&h.store, 150).await;
    // The newest event is of a kind the projector ignores: catching up means moving past it anyway.
    h.store
        .append("call-last", ExpectedVersion::Any, vec![ev(1)])
        .await
        .unwrap();
    h.wait_caught_up().await;
    let bookings_only: Vec<_> = h
        .expected_counts()
        .await
        .into_iter()
        .filter(|(_, kind, _, _)| kind == "booking")
        .collect();
    assert_eq!(h.counts().await, bookings_only);

    let report = projections::rebuild::rebuild(&h.store, &BookingCounts)
        .await
        .unwrap();
    assert_eq!(report.events_applied, 50);
    assert_eq!(h.counts().await, bookings_only, "rebuild differs");
    h.stop.cancel();
}

/// Applies `events` as one batch of `event_counts` through the last of them, in a transaction of its own.
async fn apply(store: &EventStore, events: &[&StoredEvent]) -> Result<usize, ProjectionError> {
    let events: Vec<StoredEvent> = events.iter().map(|e| (*e).clone()).collect();
    let through = events.last().unwrap().position();
    let mut tx = store.pool().begin().await.unwrap();
    let applied = projections::runtime::apply_batch(
        &mut tx,
        &EventCounts,
        "event_counts",
        &events,
        through,
        None,
    )
    .await?;
    tx.commit().await.unwrap();
    Ok(applied)
}

/// The continuity check: an event is applied only after its stream's previous version, whether that came
/// in an earlier batch or earlier in the same one; a redelivered batch applies nothing.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_stream_version_arriving_before_the_one_it_follows_stops_the_projector(pool: PgPool) {
    let store = EventStore::open(pool).await.unwrap();
    for stream in ["booking-a", "booking-b"] {
        for i in 0..3 {
            store
                .append(stream, ExpectedVersion::Any, vec![ev(i)])
                .await
                .unwrap();
        }
    }
    // The streams as stored (the feed itself can lag behind under parallel tests: its xmin is cluster-wide).
    let mut stored = store.read_stream_all("booking-a").await.unwrap();
    stored.extend(store.read_stream_all("booking-b").await.unwrap());
    let version = |stream: &str, v: i64| {
        stored
            .iter()
            .find(|e| e.stream_id == stream && e.stream_version == v)
            .unwrap()
    };
    let (a1, a2, a3) = (
        version("booking-a", 1),
        version("booking-a", 2),
        version("booking-a", 3),
    );
    let (b1, b2, b3) = (
        version("booking-b", 1),
        version("booking-b", 2),
        version("booking-b", 3),
    );

    assert_eq!(apply(&store, &[a1]).await.unwrap(), 1);
    // Version 3 of a stream whose version 2 was never applied: refused, and nothing of it kept.
    let err = apply(&store, &[a3]).await.unwrap_err();
    assert!(
        matches!(&err, ProjectionError::Gap { stream_id, due: 2, got: 3, .. } if stream_id == "booking-a"),
        "{err}"
    );
    // The same hole inside one batch.
    let err = apply(&store, &[b1, b3]).await.unwrap_err();
    assert!(
        matches!(&err, ProjectionError::Gap { stream_id, due: 2, got: 3, .. } if stream_id == "booking-b"),
        "{err}"
    );
    // In order, from the last applied version on: accepted.
    assert_eq!(apply(&store, &[a2, a3, b1, b2, b3]).await.unwrap(), 5);
    // Delivered again: everything is at or below the checkpoint.
    assert_eq!(apply(&store, &[a1, a2, a3, b1, b2, b3]).await.unwrap(), 0);
    let counted: i64 = sqlx::query_scalar("select sum(events)::bigint from event_counts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(counted, 6);
}

/// Records every event it applies in `seen_events`, whose key refuses a second application.
struct Seen;

impl Projector for Seen {
    fn name(&self) -> &'static str {
        "seen"
    }
    fn tables(&self) -> &'static [&'static str] {
        &["seen_events"]
    }
    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            let positions: Vec<i64> = events.iter().map(|e| e.global_position).collect();
            sqlx::query("insert into seen_events (global_position) select unnest($1::bigint[])")
                .bind(&positions)
                .execute(conn)
                .await
                .map(|_| ())
        }
        .boxed()
    }
}

/// Waits until projector `name` has applied the newest committed event. (Not `feed_head`: xmin is
/// cluster-wide, so under parallel tests the readable head can lag what is committed.)
async fn wait_for(store: &EventStore, name: &str) {
    let head = store.committed_head().await.unwrap();
    for _ in 0..1200 {
        let cp = projections::runtime::load_checkpoint(store.pool(), name)
            .await
            .unwrap();
        if cp.position >= head {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} never caught up");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_group_shares_one_consumer_and_each_projector_applies_every_event_once_from_its_own_checkpoint(
    pool: PgPool,
) {
    sqlx::query("create table seen_events (global_position bigint primary key)")
        .execute(&pool)
        .await
        .unwrap();
    let h = Harness::new(pool).await;
    append_many_events(&h.store, 100).await;
    // `event_counts` alone first, so that the group's two projectors start from different checkpoints.
    let alone = h.projector(Arc::new(EventCounts), 30);
    h.wait_caught_up().await;
    alone.abort();
    let _ = alone.await;
    append_many_events(&h.store, 100).await;

    let group = ProjectorRunner::group(
        h.store.clone(),
        h.js.clone(),
        h.bus.clone(),
        vec![Arc::new(EventCounts), Arc::new(Seen)],
        RunnerConfig {
            batch_size: 40,
            ..RunnerConfig::default()
        },
    );
    let stop = h.stop.clone();
    let running = tokio::spawn(async move { group.run(stop).await.unwrap() });
    append_many_events(&h.store, 100).await;
    wait_for(&h.store, "event_counts").await;
    wait_for(&h.store, "seen").await;

    assert_eq!(
        h.counts().await,
        h.expected_counts().await,
        "event_counts double-applied what it had applied alone, or lost events"
    );
    let (seen, distinct): (i64, i64) =
        sqlx::query_as("select count(*), count(distinct global_position) from seen_events")
            .fetch_one(h.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (seen, distinct),
        (300, 300),
        "seen applied every event once"
    );
    let stream = h.js.get_stream(&h.bus.stream_name).await.unwrap();
    let mut consumers: Vec<String> = stream.consumer_names().try_collect().await.unwrap();
    consumers.sort();
    assert_eq!(
        consumers,
        ["proj_event_counts", "proj_event_counts+seen"],
        "the group reads through one consumer of its own (the first is the earlier single runner's)"
    );
    h.stop.cancel();
    running.await.unwrap();
}
