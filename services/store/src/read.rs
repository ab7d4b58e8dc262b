//! Reading: one stream from a version, and the global feed in gap-safe order.
//!
//! The feed is ordered by `(epoch, tx_id, global_position)` and only returns events of transactions
//! older than the oldest one still running (`pg_snapshot_xmin`). Identity values are handed out when a
//! row is inserted but become visible at commit, out of order; a reader that checkpointed "highest
//! position seen" would skip an event committed late, forever. Reading below xmin instead waits for it.

use std::collections::HashMap;

use futures::TryStreamExt as _;
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::{EventStore, FeedPosition, StoreError, StoredEvent};

/// The columns every event read selects, in the order [`EventStore::decode_stored`] reads them by
/// index (a lookup by name hashes the name on every row). `tx_id` travels as the binary `xid8`, an
/// unsigned 64-bit integer; ids stay far below 2^63, so it decodes as an `i64` without a cast in SQL.
const COLUMNS: &str = "global_position, epoch, tx_id, event_id, stream_id, stream_version, event_type, \
    schema_version, tenant_id, data, metadata, recorded_at, prev_hash, hash";

/// The feed position in a row's `epoch`, `tx_id` (as `bigint`) and `global_position` columns: an event's
/// (`tx_id::text::bigint as tx_id` when read from `events`) or a projector checkpoint's.
pub fn position_of(row: &PgRow) -> FeedPosition {
    FeedPosition {
        epoch: row.get("epoch"),
        tx_id: row.get("tx_id"),
        global_position: row.get("global_position"),
    }
}

/// Where the events `(stream, version)` lie in the feed, by stream; an event not stored is absent. One
/// indexed read (projectors check with it that a stream continuing from an earlier batch does continue).
pub async fn feed_positions<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    streams: &[&str],
    versions: &[i64],
) -> Result<HashMap<String, FeedPosition>, sqlx::Error> {
    let rows = sqlx::query(
        "select e.stream_id, e.epoch, e.tx_id::text::bigint as tx_id, e.global_position \
         from unnest($1::text[], $2::bigint[]) as w(s, v) \
         join events e on e.stream_id = w.s and e.stream_version = w.v",
    )
    .bind(streams)
    .bind(versions)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("stream_id"), position_of(r)))
        .collect())
}

impl EventStore {
    /// Events of one stream with version greater than `after_version`, oldest first.
    pub async fn read_stream(
        &self,
        stream_id: &str,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_stream_with(&self.pool, stream_id, after_version, limit)
            .await
    }

    async fn read_stream_with<'e>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
        stream_id: &str,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from events where stream_id = $1 and stream_version > $2 \
             order by stream_version limit $3"
        );
        let rows = sqlx::query(&sql)
            .bind(stream_id)
            .bind(after_version)
            .bind(limit)
            .fetch_all(executor)
            .await?;
        rows.iter().map(|r| self.decode(r)).collect()
    }

    /// Events of the streams `stream_ids`, by stream then version, exactly as stored: no upcasting, so
    /// `data` and `schema_version` are what the hash chain covers (the auditors' view).
    pub async fn read_streams_as_stored(
        &self,
        stream_ids: &[String],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from events where stream_id = any($1) order by stream_id, stream_version"
        );
        let rows = sqlx::query(&sql)
            .bind(stream_ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Self::decode_stored(r, None)).collect()
    }

    /// Like [`EventStore::read_stream`], exactly as stored (no upcasting; see
    /// [`EventStore::read_streams_as_stored`]).
    pub async fn read_stream_as_stored(
        &self,
        stream_id: &str,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from events where stream_id = $1 and stream_version > $2 \
             order by stream_version limit $3"
        );
        let rows = sqlx::query(&sql)
            .bind(stream_id)
            .bind(after_version)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Self::decode_stored(r, None)).collect()
    }

    /// The tenant recorded for a stream (that of its first event) and its version; `None` when the
    /// stream has no events.
    pub async fn stream_head(
        &self,
        stream_id: &str,
    ) -> Result<Option<(Option<uuid::Uuid>, i64)>, StoreError> {
        let row = sqlx::query("select tenant_id, version from streams where stream_id = $1")
            .bind(stream_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get("tenant_id"), r.get("version"))))
    }

    /// Every event of a stream, oldest first.
    pub async fn read_stream_all(&self, stream_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_stream(stream_id, 0, i64::MAX).await
    }

    /// The next events of the global feed after `after`, in gap-safe order, at most `limit`.
    /// (`order by events.tx_id`, qualified: the bare name would sort by the `bigint` output column and
    /// lose the index.)
    pub async fn read_feed(
        &self,
        after: FeedPosition,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // The snapshot bound is an init plan, computed once per page rather than once per row.
        let sql = format!(
            "select {COLUMNS} from events \
             where (epoch, tx_id, global_position) > ($1, ($2::bigint)::text::xid8, $3) \
               and (epoch < $4 or tx_id < (select pg_snapshot_xmin(pg_current_snapshot()))) \
             order by events.epoch, events.tx_id, events.global_position limit $5"
        );
        // Rows are decoded as they arrive, while Postgres is still sending the rest of the page.
        let mut rows = sqlx::query(&sql)
            .bind(after.epoch)
            .bind(after.tx_id)
            .bind(after.global_position)
            .bind(self.identity.epoch)
            .bind(limit)
            .fetch(&self.pool);
        let mut events = Vec::with_capacity(usize::try_from(limit.clamp(0, 10_000)).unwrap_or(0));
        while let Some(row) = rows.try_next().await? {
            events.push(self.decode(&row)?);
        }
        Ok(events)
    }

    /// The feed position of the newest event readable now (what a fully caught-up reader has seen).
    pub async fn feed_head(&self) -> Result<FeedPosition, StoreError> {
        let row = sqlx::query(
            "select epoch, tx_id::text::bigint as tx_id, global_position from events \
             where epoch < $1 or tx_id < pg_snapshot_xmin(pg_current_snapshot()) \
             order by events.epoch desc, events.tx_id desc, events.global_position desc limit 1",
        )
        .bind(self.identity.epoch)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or(FeedPosition::START, |r| position_of(&r)))
    }

    /// The position of the newest committed event, ignoring the feed's xmin bound. Transaction ids are
    /// cluster-wide, so `feed_head` can lag events already committed here while transactions in other
    /// databases run; this is what "caught up with everything committed" waits for (tests, drills).
    pub async fn committed_head(&self) -> Result<FeedPosition, StoreError> {
        let row = sqlx::query(
            "select epoch, tx_id::text::bigint as tx_id, global_position from events \
             order by events.epoch desc, events.tx_id desc, events.global_position desc limit 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or(FeedPosition::START, |r| position_of(&r)))
    }

    /// The current version of a stream, `None` when it has no events.
    pub async fn stream_version(&self, stream_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("select version from streams where stream_id = $1")
                .bind(stream_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    fn decode(&self, row: &PgRow) -> Result<StoredEvent, StoreError> {
        Self::decode_stored(row, Some(&self.upcasters))
    }

    /// Decodes a row selected with [`COLUMNS`], upcasting its payload when `upcasters` are given.
    fn decode_stored(
        row: &PgRow,
        upcasters: Option<&events::Upcasters>,
    ) -> Result<StoredEvent, StoreError> {
        let event_type: String = row.try_get(6)?;
        let (schema_version, data) = match upcasters {
            Some(u) => u.upcast(&event_type, row.try_get(7)?, row.try_get(9)?),
            None => (row.try_get(7)?, row.try_get(9)?),
        };
        Ok(StoredEvent {
            global_position: row.try_get(0)?,
            epoch: row.try_get(1)?,
            // `xid8` has no Rust type in sqlx; its binary form is a big-endian 64-bit integer.
            tx_id: row.try_get_unchecked(2)?,
            event_id: row.try_get(3)?,
            stream_id: row.try_get(4)?,
            stream_version: row.try_get(5)?,
            event_type,
            schema_version,
            tenant_id: row.try_get(8)?,
            data,
            metadata: row.try_get::<sqlx::types::Json<events::Metadata>, _>(10)?.0,
            recorded_at: row.try_get(11)?,
            prev_hash: row.try_get(12)?,
            hash: row.try_get(13)?,
        })
    }
}

impl EventStore {
    /// Folds a whole stream into its aggregate; returns the state and the stream's version (0 = none).
    pub async fn load<A: events::Aggregate>(
        &self,
        stream_id: &str,
    ) -> Result<(A, i64), StoreError> {
        self.load_with(&self.pool, stream_id).await
    }

    /// [`EventStore::load`] through `executor`: a connection the caller holds for a whole command (see
    /// [`EventStore::append_many_on`]).
    pub async fn load_with<'e, A: events::Aggregate>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
        stream_id: &str,
    ) -> Result<(A, i64), StoreError> {
        let events = self
            .read_stream_with(executor, stream_id, 0, i64::MAX)
            .await?;
        let version = events.last().map_or(0, |e| e.stream_version);
        let mut state = A::default();
        for stored in &events {
            let event: A::Event =
                events::aggregate::decode_tagged(&stored.event_type, &stored.data)?;
            state = state.evolve(&event);
        }
        Ok((state, version))
    }
}
