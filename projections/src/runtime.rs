//! The projector runtime: consume JetStream, apply to read models, checkpoint in the same transaction.
//!
//! Exactly-once application comes from Postgres, not from NATS: every batch's read-model changes and the
//! checkpoint commit together, and anything at or below the checkpoint is skipped. Messages must arrive
//! in JetStream sequence order with no hole (the relay publishes gaplessly); if a sequence is skipped —
//! a redelivery after a crash can come out of order — the runner recreates its consumer at the
//! checkpoint instead of applying out of order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::{FutureExt, StreamExt};
use sqlx::{PgConnection, Row};
use store::bus::{self, BusConfig};
use store::read::position_of;
use store::{EventStore, FeedPosition, StoredEvent};
use tokio_util::sync::CancellationToken;

use crate::{ProjectionError, Projector};

/// Tuning of one runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Most events applied in one transaction.
    pub batch_size: usize,
    /// How long a batch waits for more events after its first one arrived. Every batch costs each
    /// projector a transaction (checkpoint reads and writes, a commit); under steady traffic, events one
    /// by one would cost seven commits per event, so a few milliseconds of lag buy most of the database's
    /// time back. Zero: apply whatever has arrived at once.
    pub linger: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            linger: Duration::from_millis(10),
        }
    }
}

/// Runs projectors against JetStream until shut down: one, or several of one process through one consumer.
///
/// A group shares the consumer so that each event is delivered to the process, and decoded, once rather
/// than once per projector (with seven projectors, their consumption and the NATS client's connection task,
/// which also carries the relay's publishes, were about a third of the platform process's CPU under booking
/// load). Every projector still applies in its own transaction with its own checkpoint; the
/// consumer starts after the lowest checkpoint, and a projector skips what it has already applied. A
/// failure of one restarts the whole group's session, as it restarts a single projector's, and a stream
/// gap stops the whole group, as it stops a single projector: run a projector in its own process
/// (`voiceappoint project --name N`) to keep it apart.
pub struct ProjectorRunner {
    store: EventStore,
    js: jetstream::Context,
    bus: BusConfig,
    projectors: Vec<Arc<dyn Projector>>,
    /// The durable consumer's name: `proj_<name>` for one projector (as it always was), the names joined
    /// by `+` for a group.
    durable: String,
    cfg: RunnerConfig,
}

/// What a checkpoint row says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checkpoint {
    pub position: FeedPosition,
    pub stream_seq: u64,
}

impl ProjectorRunner {
    pub fn new(
        store: EventStore,
        js: jetstream::Context,
        bus: BusConfig,
        projector: Arc<dyn Projector>,
        cfg: RunnerConfig,
    ) -> Self {
        Self::group(store, js, bus, vec![projector], cfg)
    }

    /// Several projectors through one consumer (see [`ProjectorRunner`]).
    pub fn group(
        store: EventStore,
        js: jetstream::Context,
        bus: BusConfig,
        projectors: Vec<Arc<dyn Projector>>,
        cfg: RunnerConfig,
    ) -> Self {
        let names: Vec<&str> = projectors.iter().map(|p| p.name()).collect();
        let durable = format!("proj_{}", names.join("+"));
        Self {
            store,
            js,
            bus,
            projectors,
            durable,
            cfg,
        }
    }

    /// Consumes and applies until `shutdown`; transient NATS or Postgres failures are retried.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ProjectionError> {
        let mut backoff = Duration::from_millis(100);
        let name = &self.durable;
        while !shutdown.is_cancelled() {
            match self.consume(&shutdown).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(
                    err @ (ProjectionError::Gap { .. }
                    | ProjectionError::Bus(bus::BusError::ForeignStream { .. })),
                ) => {
                    tracing::error!(projector = %name, error = %err, "projector stopped");
                    return Err(err);
                }
                Err(err) => {
                    tracing::warn!(projector = %name, error = %err, "projector interrupted; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
        Ok(())
    }

    /// One consumer session: (re)create the durable consumer at the checkpoint, then apply batches.
    /// Returns `Ok` when the consumer must be recreated (a sequence hole) or on shutdown.
    async fn consume(&self, shutdown: &CancellationToken) -> Result<(), ProjectionError> {
        let checkpoint = self.lowest_checkpoint().await?;
        let stream = bus::ensure_stream(&self.js, &self.bus, self.store.identity()).await?;
        // The checkpoint in Postgres is the truth; the consumer is recreated to start right after it.
        let _ = stream.delete_consumer(&self.durable).await;
        let consumer: consumer::PullConsumer = stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some(self.durable.clone()),
                ack_policy: consumer::AckPolicy::All,
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: checkpoint.stream_seq + 1,
                },
                filter_subject: self.bus.all_events(),
                max_ack_pending: 20_000,
                ..Default::default()
            })
            .await
            .map_err(bus::BusError::nats)?;
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(self.cfg.batch_size)
            .heartbeat(Duration::from_secs(2))
            .messages()
            .await
            .map_err(bus::BusError::nats)?;
        let mut next_seq = checkpoint.stream_seq + 1;
        let mut last_pending_check = tokio::time::Instant::now();
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                m = messages.next() => m,
            };
            let Some(first) = first else { return Ok(()) };
            let mut batch = vec![first.map_err(bus::BusError::nats)?];
            let linger_until = tokio::time::Instant::now() + self.cfg.linger;
            while batch.len() < self.cfg.batch_size {
                let next = match messages.next().now_or_never() {
                    Some(next) => next,
                    // Nothing ready: wait for more until the linger ends (`next` is cancel-safe).
                    None => match tokio::time::timeout_at(linger_until, messages.next()).await {
                        Ok(next) => next,
                        Err(_elapsed) => break,
                    },
                };
                match next {
                    Some(Ok(m)) => batch.push(m),
                    _ => break,
                }
            }
            let mut events = Vec::with_capacity(batch.len());
            // The last message taken: where the checkpoint moves, whether or not this projector reads it.
            let mut through = None;
            for msg in &batch {
                let seq = msg.info().map_err(bus::BusError::nats)?.stream_sequence;
                if seq < next_seq {
                    continue;
                }
                if seq > next_seq {
                    tracing::warn!(
                        projector = %self.durable,
                        seq,
                        next_seq,
                        "sequence hole; recreating consumer"
                    );
                    return Ok(());
                }
                next_seq += 1;
                let (position, event) = self.decode(msg)?;
                through = Some((seq, position));
                events.extend(event);
            }
            if let Some((last_seq, through)) = through {
                self.apply(&events, through, last_seq).await?;
            }
            if let Some(last) = batch.last() {
                last.ack().await.map_err(bus::BusError::nats)?;
            }
            if last_pending_check.elapsed() > Duration::from_secs(2) {
                last_pending_check = tokio::time::Instant::now();
                if let Ok(info) = consumer.clone().info().await {
                    let pending = gauge_value(i64::try_from(info.num_pending).unwrap_or(i64::MAX));
                    for projector in &self.projectors {
                        metrics::gauge!("va_projector_pending_events", "projector" => projector.name())
                            .set(pending);
                    }
                }
            }
        }
    }

    /// The checkpoint the consumer starts after: the lowest of the runner's projectors (one further on skips
    /// what it has applied).
    async fn lowest_checkpoint(&self) -> Result<Checkpoint, ProjectionError> {
        let mut lowest: Option<Checkpoint> = None;
        for projector in &self.projectors {
            let at = load_checkpoint(self.store.pool(), projector.name()).await?;
            metrics::gauge!("va_projector_position", "projector" => projector.name())
                .set(gauge_value(at.position.global_position));
            if lowest.is_none_or(|low| at.stream_seq < low.stream_seq) {
                lowest = Some(at);
            }
        }
        Ok(lowest.unwrap_or_default())
    }

    /// Applies a batch for every projector of the runner, each in its own transaction.
    async fn apply(
        &self,
        events: &[StoredEvent],
        through: FeedPosition,
        last_seq: u64,
    ) -> Result<(), ProjectionError> {
        for projector in &self.projectors {
            let mut tx = self.store.pool().begin().await?;
            apply_batch(
                &mut tx,
                projector.as_ref(),
                projector.name(),
                events,
                through,
                Some(last_seq),
            )
            .await?;
            tx.commit().await?;
            record_lag(projector.name(), events.last());
        }
        Ok(())
    }

    /// The message's feed position, and its event when a projector of this runner reads the event's stream
    /// (the stream id is in the headers, so an event of another kind is not even parsed).
    fn decode(
        &self,
        msg: &jetstream::Message,
    ) -> Result<(FeedPosition, Option<StoredEvent>), ProjectionError> {
        let headers = msg
            .headers
            .as_ref()
            .ok_or_else(|| bus::BusError::BadHeaders("no headers".into()))?;
        let (store_id, position) = bus::position_from_headers(headers)?;
        if store_id != self.store.identity().store_id {
            return Err(ProjectionError::ForeignMessage(store_id));
        }
        let read = headers.get(bus::HEADER_STREAM_ID).is_none_or(|stream| {
            self.projectors
                .iter()
                .any(|p| crate::reads(p.as_ref(), stream.as_str()))
        });
        let event = if read {
            Some(serde_json::from_slice(&msg.payload)?)
        } else {
            None
        };
        Ok((position, event))
    }
}

use store::relay::gauge_value;

fn record_lag(name: &'static str, last: Option<&StoredEvent>) {
    if let Some(last) = last {
        #[expect(
            clippy::disallowed_methods,
            reason = "lag is measured against the wall clock"
        )]
        let lag = (chrono::Utc::now() - last.recorded_at).num_milliseconds();
        metrics::gauge!("va_projector_lag_seconds", "projector" => name)
            .set(gauge_value(lag) / 1000.0);
        metrics::gauge!("va_projector_position", "projector" => name)
            .set(gauge_value(last.global_position));
    }
}

/// Reads a projector's checkpoint (zero when it has none).
pub async fn load_checkpoint(pool: &sqlx::PgPool, key: &str) -> Result<Checkpoint, sqlx::Error> {
    let row = sqlx::query(
        "select epoch, tx_id, global_position, stream_seq from projector_checkpoints where projector = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or_else(Checkpoint::default, |r| Checkpoint {
        position: position_of(&r),
        stream_seq: u64::try_from(r.get::<i64, _>("stream_seq")).unwrap_or(0),
    }))
}

/// Applies events (in feed order) for checkpoint `key` inside the caller's transaction and moves the
/// checkpoint to `through` (the position of the last event of the batch, which this projector may not
/// read): skips events of kinds the projector does not read and what is at or below the checkpoint, and
/// refuses a hole in a stream. Returns how many events were applied.
///
/// Everything at or below the checkpoint has been handled, because events arrive in feed order; so an
/// event's previous version has been applied exactly when it comes earlier in this batch or lies at or
/// below the checkpoint. That is checked against the event store itself (one indexed read per batch, only
/// for streams whose previous version is not in the batch), instead of keeping every stream's last
/// version per projector: that table took a row per stream and projector — nine per booking, forever —
/// and its upsert was a fifth of the projectors' database time.
pub async fn apply_batch(
    conn: &mut PgConnection,
    projector: &dyn Projector,
    key: &str,
    events: &[StoredEvent],
    through: FeedPosition,
    stream_seq: Option<u64>,
) -> Result<usize, ProjectionError> {
    let checkpoint = lock_checkpoint(conn, key).await?;
    let to_apply: Vec<&StoredEvent> = events
        .iter()
        .filter(|e| crate::reads(projector, &e.stream_id) && e.position() > checkpoint)
        .collect();
    check_continuity(conn, key, &to_apply, checkpoint).await?;
    projector.apply_all(&mut *conn, &to_apply).await?;
    let seq = stream_seq.map(|seq| i64::try_from(seq).unwrap_or(i64::MAX));
    if through > checkpoint {
        sqlx::query(
            "update projector_checkpoints set epoch = $2, tx_id = $3, global_position = $4, \
               last_recorded_at = coalesce($5, last_recorded_at), updated_at = now(), \
               stream_seq = greatest(stream_seq, coalesce($6, stream_seq)) \
             where projector = $1",
        )
        .bind(key)
        .bind(through.epoch)
        .bind(through.tx_id)
        .bind(through.global_position)
        .bind(to_apply.last().map(|e| e.recorded_at))
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    } else if let Some(seq) = seq {
        sqlx::query("update projector_checkpoints set stream_seq = greatest(stream_seq, $2) where projector = $1")
            .bind(key)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
    }
    Ok(to_apply.len())
}

/// Refuses `events` (above `checkpoint`, in feed order) if one of them does not directly follow its
/// stream's previous version: that version must come earlier in the batch or lie at or below the
/// checkpoint. The gap-safe feed makes a hole impossible; this stops the projector rather than let it
/// build a read model on one.
async fn check_continuity(
    conn: &mut PgConnection,
    key: &str,
    events: &[&StoredEvent],
    checkpoint: FeedPosition,
) -> Result<(), ProjectionError> {
    let gap = |e: &StoredEvent, due: i64| ProjectionError::Gap {
        projector: key.to_owned(),
        stream_id: e.stream_id.clone(),
        due,
        got: e.stream_version,
    };
    let mut in_batch: HashMap<&str, i64> = HashMap::new();
    let mut earlier: Vec<&StoredEvent> = Vec::new();
    for event in events {
        match in_batch.insert(&event.stream_id, event.stream_version) {
            Some(previous) if event.stream_version != previous + 1 => {
                return Err(gap(event, previous + 1));
            }
            None if event.stream_version > 1 => earlier.push(event),
            Some(_) | None => {}
        }
    }
    if earlier.is_empty() {
        return Ok(());
    }
    let (streams, versions): (Vec<&str>, Vec<i64>) = earlier
        .iter()
        .map(|e| (e.stream_id.as_str(), e.stream_version - 1))
        .unzip();
    let found = store::read::feed_positions(&mut *conn, &streams, &versions).await?;
    match earlier
        .into_iter()
        .find(|e| found.get(&e.stream_id).is_none_or(|at| *at > checkpoint))
    {
        Some(e) => Err(gap(e, e.stream_version - 1)),
        None => Ok(()),
    }
}

/// Locks checkpoint `key` for this transaction (creating it at zero if missing) and enters the platform
/// row-level-security context (`va.tenant_id = '*'`, for the projector's writes). A statement that waits
/// for the lock (a rebuild swapping its result in) reads the row as the holder committed it.
pub(crate) async fn lock_checkpoint(
    conn: &mut PgConnection,
    key: &str,
) -> Result<FeedPosition, sqlx::Error> {
    const LOCK: &str = "select epoch, tx_id, global_position, set_config('va.tenant_id', '*', true) \
                        from projector_checkpoints where projector = $1 for update";
    let mut row = sqlx::query(LOCK)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    if row.is_none() {
        sqlx::query(
            "insert into projector_checkpoints (projector) values ($1) on conflict do nothing",
        )
        .bind(key)
        .execute(&mut *conn)
        .await?;
        row = sqlx::query(LOCK)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    }
    row.as_ref()
        .map(position_of)
        .ok_or(sqlx::Error::RowNotFound)
}
