//! The relay: tails the gap-safe feed and publishes every event to JetStream, exactly once, in order.
//!
//! - One leader per event store, elected with a Postgres session advisory lock; others wait.
//! - Resumes from the last message in the JetStream stream (its position headers), so a restart neither
//!   loses nor repeats events.
//! - Each publish carries `Nats-Expected-Last-Sequence`: if anything was lost or reordered in flight (or
//!   a stale leader still publishes), JetStream refuses the rest of the batch and the relay re-syncs from
//!   what the stream actually holds. `Nats-Msg-Id` = event id lets JetStream drop a rare duplicate too.
//! - Woken by `LISTEN va_events`, with polling as a fallback; while NATS is down it retries with backoff
//!   and catches up when NATS returns. Appends never depend on NATS.

use std::time::Duration;

use async_nats::jetstream::{self, context::Publish};
use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgListener};
use tokio_util::sync::CancellationToken;

use crate::bus::{self, BusConfig, BusError};
use crate::{EventStore, FeedPosition, StoreError, StoredEvent};

/// Tuning of the relay loop.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub batch_size: i64,
    /// How often to look at the feed when no notification arrives.
    pub poll_interval: Duration,
    /// After a read that found events but fewer than a batch, how long to let more gather before the next
    /// read. Under steady traffic every read found an event or two (the append notification comes every
    /// few milliseconds), so the feed was read and published once per commit or so; a few milliseconds
    /// of delay make that a read per several commits. The first event after a quiet spell is not delayed.
    pub linger: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(250),
            linger: Duration::from_millis(5),
        }
    }
}

/// Why the relay stopped for good (everything else is retried).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Publishes the event store's feed to JetStream.
pub struct Relay {
    store: EventStore,
    js: jetstream::Context,
    bus: BusConfig,
    cfg: RelayConfig,
}

/// Where JetStream stands: the feed position of its last message and that message's sequence.
#[derive(Debug, Clone, Copy)]
struct Synced {
    cursor: FeedPosition,
    last_seq: u64,
}

const LEADER_LOCK: &str = "select pg_try_advisory_lock(hashtextextended('voiceappoint-relay', 0))";

impl Relay {
    pub fn new(
        store: EventStore,
        js: jetstream::Context,
        bus: BusConfig,
        cfg: RelayConfig,
    ) -> Self {
        Self {
            store,
            js,
            bus,
            cfg,
        }
    }

    /// Runs until `shutdown` is cancelled. Returns an error only for what retrying cannot fix.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RelayError> {
        let Some(mut leader) = self.become_leader(&shutdown).await? else {
            return Ok(());
        };
        tracing::info!(stream = %self.bus.stream_name, "relay is the leader");
        metrics::counter!("va_relay_published_total").increment(0);
        let mut listener = PgListener::connect_with(self.store.pool())
            .await
            .map_err(StoreError::from)?;
        listener
            .listen("va_events")
            .await
            .map_err(StoreError::from)?;
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            match self.sync().await {
                Ok(synced) => {
                    backoff = Duration::from_millis(100);
                    self.pump(synced, &mut listener, &mut leader, &shutdown)
                        .await?;
                }
                Err(err @ RelayError::Bus(BusError::ForeignStream { .. })) => return Err(err),
                Err(err) => {
                    tracing::warn!(error = %err, "relay cannot reach JetStream yet; retrying");
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

    /// Waits for the advisory lock; `None` when shut down first.
    async fn become_leader(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<Option<PgConnection>, RelayError> {
        let mut conn = PgConnection::connect_with(&self.store.pool().connect_options())
            .await
            .map_err(StoreError::from)?;
        loop {
            let got: bool = sqlx::query_scalar(LEADER_LOCK)
                .fetch_one(&mut conn)
                .await
                .map_err(StoreError::from)?;
            if got {
                return Ok(Some(conn));
            }
            tracing::info!("another relay is the leader; waiting");
            tokio::select! {
                () = shutdown.cancelled() => return Ok(None),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Reads where JetStream stands, from its last message's headers.
    async fn sync(&self) -> Result<Synced, RelayError> {
        let mut stream = bus::ensure_stream(&self.js, &self.bus, self.store.identity()).await?;
        let last_seq = stream
            .info()
            .await
            .map_err(BusError::nats)?
            .state
            .last_sequence;
        if last_seq == 0 {
            return Ok(Synced {
                cursor: FeedPosition::START,
                last_seq,
            });
        }
        let msg = stream
            .get_raw_message(last_seq)
            .await
            .map_err(BusError::nats)?;
        let (store_id, cursor) = bus::position_from_headers(&msg.headers)?;
        let ours = self.store.identity().store_id;
        if store_id != ours {
            return Err(BusError::ForeignStream {
                stream: self.bus.stream_name.clone(),
                found: store_id.to_string(),
                ours,
            }
            .into());
        }
        Ok(Synced { cursor, last_seq })
    }

    /// Publishes feed batches until JetStream refuses something (then the caller re-syncs).
    async fn pump(
        &self,
        mut synced: Synced,
        listener: &mut PgListener,
        leader: &mut PgConnection,
        shutdown: &CancellationToken,
    ) -> Result<(), RelayError> {
        let mut last_leader_check = tokio::time::Instant::now();
        // When the last read found a partial batch: not before this instant is the feed read again.
        let mut next_read: Option<tokio::time::Instant> = None;
        while !shutdown.is_cancelled() {
            if let Some(at) = next_read.take() {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep_until(at) => {}
                }
            }
            if last_leader_check.elapsed() > Duration::from_secs(5) {
                // A dead lock connection means the lock is gone: stop rather than race a new leader.
                leader.ping().await.map_err(StoreError::from)?;
                last_leader_check = tokio::time::Instant::now();
            }
            let batch = match self
                .store
                .read_feed(synced.cursor, self.cfg.batch_size)
                .await
            {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, "relay cannot read the feed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    _ = listener.recv() => {}
                    () = tokio::time::sleep(self.cfg.poll_interval) => {}
                }
                continue;
            }
            if i64::try_from(batch.len()).is_ok_and(|n| n < self.cfg.batch_size) {
                next_read = Some(tokio::time::Instant::now() + self.cfg.linger);
            }
            match self.publish(&batch, synced.last_seq).await {
                Ok(last_seq) => {
                    synced = Synced {
                        cursor: batch.last().map_or(synced.cursor, StoredEvent::position),
                        last_seq,
                    };
                    metrics::gauge!("va_relay_last_position")
                        .set(gauge_value(synced.cursor.global_position));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "publish to JetStream failed; re-syncing");
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Publishes a batch pipelined, each message expecting the previous one's sequence.
    async fn publish(&self, batch: &[StoredEvent], mut last_seq: u64) -> Result<u64, RelayError> {
        let identity = self.store.identity();
        let mut acks = Vec::with_capacity(batch.len());
        for (i, event) in (0_u64..).zip(batch) {
            let payload = serde_json::to_vec(event).map_err(StoreError::from)?;
            let publish = Publish::build()
                .headers(bus::headers_for(event, identity))
                .message_id(event.event_id.to_string())
                .expected_last_sequence(last_seq + i)
                .payload(payload.into());
            let ack = self
                .js
                .send_publish(self.bus.subject_for(event), publish)
                .await
                .map_err(BusError::nats)?;
            acks.push(ack);
        }
        for ack in acks {
            let ack = ack.await.map_err(BusError::nats)?;
            if ack.duplicate {
                return Err(
                    BusError::Nats("JetStream reported a duplicate; re-syncing".into()).into(),
                );
            }
            last_seq = ack.sequence;
        }
        metrics::counter!("va_relay_published_total").increment(batch.len() as u64);
        Ok(last_seq)
    }
}

/// Metrics gauges are `f64`; feed positions stay far below 2^52, where the conversion is exact.
#[expect(clippy::cast_precision_loss, reason = "positions stay below 2^52")]
pub fn gauge_value(position: i64) -> f64 {
    position as f64
}
