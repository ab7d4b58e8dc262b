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

/// Runs one projector against JetStream until shut down.
pub struct ProjectorRunner {
    store: EventStore,
    js: jetstream::Context,
    bus: BusConfig,
    projector: Arc<dyn Projector>,
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
        Self {
            store,
            js,
            bus,
            projector,
            cfg,
        }
    }

    /// Consumes and applies until `shutdown`; transient NATS or Postgres failures are retried.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ProjectionError> {
        let name = self.projector.name();
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            match self.consume(&shutdown).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(
                    err @ (ProjectionError::Gap { .. }
                    | ProjectionError::Bus(bus::BusError::ForeignStream { .. })),
                ) => {
                    tracing::error!(projector = name, error = %err, "projector stopped");
                    return Err(err);
                }
                Err(err) => {
                    tracing::warn!(projector = name, error = %err, "projector interrupted; retrying");
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
        let name = self.projector.name();
        let checkpoint = load_checkpoint(self.store.pool(), name).await?;
        let stream = bus::ensure_stream(&self.js, &self.bus, self.store.identity()).await?;
        let durable = format!("proj_{name}");
        // The checkpoint in Postgres is the truth; the consumer is recreated to start right after it.
        let _ = stream.delete_consumer(&durable).await;
        let consumer: consumer::PullConsumer = stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some(durable),
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
        metrics::gauge!("va_projector_position", "projector" => name)
            .set(gauge_value(checkpoint.position.global_position));
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
                        projector = name,
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
                let mut tx = self.store.pool().begin().await?;
                apply_batch(
                    &mut tx,
                    self.projector.as_ref(),
                    name,
                    &events,
                    through,
                    Some(last_seq),
                )
                .await?;
                tx.commit().await?;
                record_lag(name, events.last());
            }
            if let Some(last) = batch.last() {
                last.ack().await.map_err(bus::BusError::nats)?;
            }
            if last_pending_check.elapsed() > Duration::from_secs(2) {
                last_pending_check = tokio::time::Instant::now();
                if let Ok(info) = consumer.clone().info().await {
                    metrics::gauge!("va_projector_pending_events", "projector" => name).set(
                        gauge_value(i64::try_from(info.num_pending).unwrap_or(i64::MAX)),
                    );
                }
            }
        }
    }

    /// The message's feed position, and its event when this projector reads the event's stream (the
    /// stream id is in the headers, so an event of another kind is not even parsed).
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
        let read = headers
            .get(bus::HEADER_STREAM_ID)
            .is_none_or(|stream| crate::reads(self.projector.as_ref(), stream.as_str()));
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
        position: FeedPosition {
            epoch: r.get("epoch"),
            tx_id: r.get("tx_id"),
            global_position: r.get("global_position"),
        },
        stream_seq: u64::try_from(r.get::<i64, _>("stream_seq")).unwrap_or(0),
    }))
}

/// Applies events (in feed order) for checkpoint `key` inside the caller's transaction and moves the
/// checkpoint to `through` (the position of the last event of the batch, which this projector may not
/// read): skips events of kinds the projector does not read, what is at or below the checkpoint and what
/// was already applied to its stream, and refuses a hole in a stream. Returns how many events were applied.
pub async fn apply_batch(
    conn: &mut PgConnection,
    projector: &dyn Projector,
    key: &str,
    events: &[StoredEvent],
    through: FeedPosition,
    stream_seq: Option<u64>,
) -> Result<usize, ProjectionError> {
    let events: Vec<&StoredEvent> = events
        .iter()
        .filter(|e| crate::reads(projector, &e.stream_id))
        .collect();
    let mut streams: Vec<&str> = events.iter().map(|e| e.stream_id.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    let locked = lock_checkpoint(conn, key, &streams).await?;
    let (checkpoint, mut versions) = if let Some(found) = locked {
        found
    } else {
        // The row is missing, or another transaction holds it (a rebuild swapping its result in). Wait
        // for it in a statement of its own, then read again: a statement that waited for the lock would
        // see the checkpoint as the holder left it but the stream versions as they were before, and the
        // two must agree.
        sqlx::query(
            "insert into projector_checkpoints (projector) values ($1) on conflict do nothing",
        )
        .bind(key)
        .execute(&mut *conn)
        .await?;
        sqlx::query("select 1 from projector_checkpoints where projector = $1 for update")
            .bind(key)
            .execute(&mut *conn)
            .await?;
        lock_checkpoint(conn, key, &streams)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?
    };
    let mut to_apply = Vec::with_capacity(events.len());
    let mut moved: HashMap<&str, i64> = HashMap::new();
    for event in events {
        if event.position() <= checkpoint {
            continue;
        }
        let known = versions.get(&event.stream_id).copied().unwrap_or(0);
        if event.stream_version <= known {
            continue;
        }
        if event.stream_version != known + 1 {
            return Err(ProjectionError::Gap {
                projector: key.to_owned(),
                stream_id: event.stream_id.clone(),
                applied: known,
                got: event.stream_version,
            });
        }
        versions.insert(event.stream_id.clone(), event.stream_version);
        moved.insert(event.stream_id.as_str(), event.stream_version);
        to_apply.push(event);
    }
    projector.apply_all(&mut *conn, &to_apply).await?;
    let seq = stream_seq.map(|seq| i64::try_from(seq).unwrap_or(i64::MAX));
    if through > checkpoint {
        let (ids, vers): (Vec<&str>, Vec<i64>) = moved.into_iter().unzip();
        // The streams' versions and the checkpoint move in one statement (a data-modifying `with` always
        // runs to completion).
        sqlx::query(
            "with versions as ( \
               insert into projector_stream_versions (projector, stream_id, version) \
               select $1, * from unnest($2::text[], $3::bigint[]) \
               on conflict (projector, stream_id) do update set version = excluded.version \
               returning 1) \
             update projector_checkpoints set epoch = $4, tx_id = $5, global_position = $6, \
               last_recorded_at = coalesce($7, last_recorded_at), updated_at = now(), \
               stream_seq = greatest(stream_seq, coalesce($8, stream_seq)) \
             where projector = $1",
        )
        .bind(key)
        .bind(&ids)
        .bind(&vers)
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

/// Locks checkpoint `key` for this transaction, enters the platform row-level-security context
/// (`va.tenant_id = '*'`, for the projector's writes) and reads the applied versions of `streams`, in one
/// statement. `None` when the checkpoint row does not exist yet or another transaction holds it (`skip
/// locked`: waiting inside this statement would mix a checkpoint read after the wait with versions read
/// before it).
///
/// Each stream's version is its own sub-select on the full primary key. The earlier join on
/// `stream_id = any($2)` let Postgres keep a generic plan made while the table was small: an index scan on
/// `projector` alone that filtered every stream the projector had ever seen (2.7 ms a batch after a few
/// thousand bookings, growing with the table; found with `auto_explain`). A lookup by the whole key has
/// one plan whatever the table's size.
const LOCK_CHECKPOINT: &str = "with cp as ( \
       select epoch, tx_id, global_position, set_config('va.tenant_id', '*', true) as context \
       from projector_checkpoints where projector = $1 for update skip locked) \
     select cp.epoch, cp.tx_id, cp.global_position, cp.context, s.stream_id, \
       (select v.version from projector_stream_versions v \
        where v.projector = $1 and v.stream_id = s.stream_id) as version \
     from cp left join unnest($2::text[]) as s(stream_id) on true";

/// Runs [`LOCK_CHECKPOINT`].
async fn lock_checkpoint(
    conn: &mut PgConnection,
    key: &str,
    streams: &[&str],
) -> Result<Option<(FeedPosition, HashMap<String, i64>)>, sqlx::Error> {
    let rows = sqlx::query(LOCK_CHECKPOINT)
        .bind(key)
        .bind(streams)
        .fetch_all(&mut *conn)
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let checkpoint = FeedPosition {
        epoch: first.get("epoch"),
        tx_id: first.get("tx_id"),
        global_position: first.get("global_position"),
    };
    let versions = rows
        .iter()
        .filter_map(|r| {
            Some((
                r.get::<Option<String>, _>("stream_id")?,
                r.get::<Option<i64>, _>("version")?,
            ))
        })
        .collect();
    Ok(Some((checkpoint, versions)))
}

#[cfg(test)]
mod tests {
    use sqlx::PgPool;

    use super::LOCK_CHECKPOINT;

    /// Buffers a plan of [`LOCK_CHECKPOINT`] touches for one stream, per `explain (analyze, buffers)`.
    async fn pages_touched(conn: &mut sqlx::PgConnection) -> i64 {
        let plan: serde_json::Value = sqlx::query_scalar(
            "explain (analyze, buffers, format json) execute lock_checkpoint('p', array['s-7'])",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let top = &plan[0]["Plan"];
        ["Shared Hit Blocks", "Shared Read Blocks"]
            .iter()
            .map(|k| top[*k].as_i64().unwrap_or(0))
            .sum()
    }

    /// The regression behind the statement's shape: a generic plan made while the versions table is small
    /// must still read one stream's version by its whole key once the table is large, not walk every
    /// stream of the projector.
    #[sqlx::test(migrator = "store::MIGRATOR")]
    async fn the_checkpoint_lookup_stays_a_key_lookup_in_a_plan_made_on_a_small_table(
        pool: PgPool,
    ) {
        let mut conn = pool.acquire().await.unwrap();
        for sql in [
            "insert into projector_checkpoints (projector) values ('p')",
            "insert into projector_stream_versions select 'p', 's-' || i, 1 \
             from generate_series(1, 20) i",
            "set plan_cache_mode = force_generic_plan",
        ] {
            sqlx::query(sql).execute(&mut *conn).await.unwrap();
        }
        sqlx::query(&format!(
            "prepare lock_checkpoint(text, text[]) as {LOCK_CHECKPOINT}"
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
        let small = pages_touched(&mut conn).await;
        sqlx::query(
            "insert into projector_stream_versions select 'p', 's-' || i, 1 \
             from generate_series(21, 20000) i",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let large = pages_touched(&mut conn).await;
        // 20,000 versions of one projector fill well over a hundred pages; a key lookup reads a few.
        assert!(
            large <= small + 4,
            "the lookup read {large} pages on a large table, {small} on a small one"
        );
    }
}
