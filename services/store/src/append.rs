//! Appending events: optimistic concurrency per stream, several streams in one transaction, idempotency
//! by event id, the hash chain, and a hook for extra SQL (the booking guard) in the same transaction.
//!
//! Ordering rule: the stream-head compare-and-set is the transaction's first write. Postgres assigns a
//! transaction id at the first write, so a later version of a stream always has a larger `tx_id` than an
//! earlier one, and the feed — ordered by `tx_id` — delivers each stream in order.

use std::fmt;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::violated_constraint;
use crate::hash::{self, GENESIS, Hashed};
use crate::{EventStore, NewEvent, StoreError};

/// What the caller believes about a stream's version before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be exactly at this version (its last event's version).
    Exact(i64),
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Events to append to one stream.
#[derive(Debug, Clone)]
pub struct StreamAppend {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

impl StreamAppend {
    pub fn new(
        stream_id: impl Into<String>,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Self {
        Self {
            stream_id: stream_id.into(),
            expected,
            events,
        }
    }

    /// How many events the batch appends.
    fn count(&self) -> i64 {
        i64::try_from(self.events.len()).unwrap_or(i64::MAX)
    }

    /// The tenant its stream head records: that of its first event that has one.
    fn tenant(&self) -> Option<Uuid> {
        self.events.iter().find_map(|e| e.tenant_id)
    }
}

/// Where one stream stands after an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    pub stream_id: String,
    /// The version of the stream's last event after the append.
    pub version: i64,
    /// False when every event was already stored (an idempotent retry).
    pub appended: bool,
}

/// Extra SQL run in the append transaction after the events are written; an error rolls everything back.
pub type AppendHook<'h> = Box<
    dyn for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<(), sqlx::Error>> + Send + 'h,
>;

/// How often an `Any` append retries after losing a compare-and-set race.
const ANY_RETRIES: usize = 20;

enum Attempt {
    Done(Vec<AppendResult>),
    LostRace,
    /// The streams could not all be created by one statement: append them one by one.
    OneByOne,
}

impl EventStore {
    /// Appends events to one stream.
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let mut results = self
            .append_many(vec![StreamAppend::new(stream_id, expected, events)], None)
            .await?;
        results
            .pop()
            .ok_or_else(|| StoreError::Invariant("append returned no result".into()))
    }

    /// Appends to several streams atomically, then runs `hook` in the same transaction.
    pub async fn append_many(
        &self,
        batches: Vec<StreamAppend>,
        hook: Option<AppendHook<'_>>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.append_many_on(&mut conn, batches, hook).await
    }

    /// [`EventStore::append_many`] on a connection the caller holds, so that a command which reads before it
    /// writes takes one connection from the pool, not one per statement: sqlx checks every connection it
    /// takes back with a round trip. `conn` must not be inside a transaction.
    pub async fn append_many_on(
        &self,
        conn: &mut PgConnection,
        mut batches: Vec<StreamAppend>,
        hook: Option<AppendHook<'_>>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        // A fixed lock order across streams keeps concurrent multi-stream appends from deadlocking.
        batches.sort_by(|a, b| a.stream_id.cmp(&b.stream_id));
        if let ([batch], None) = (batches.as_slice(), &hook)
            && !batch.events.is_empty()
            && let Some((base, prev)) = self.known_head(batch)
        {
            match self.try_fast(&mut *conn, batch, base, &prev).await {
                Ok(Some(result)) => return Ok(vec![result]),
                Ok(None) => {}
                Err(err) => return self.maybe_already_appended(conn, &batches, err).await,
            }
        }
        let mut hook = hook;
        let mut together = true;
        for _ in 0..ANY_RETRIES {
            match self
                .try_append(&mut *conn, &batches, &mut hook, together)
                .await
            {
                Ok(Attempt::Done(results)) => return Ok(results),
                Ok(Attempt::LostRace) => {}
                Ok(Attempt::OneByOne) => together = false,
                Err(err) => return self.maybe_already_appended(conn, &batches, err).await,
            }
        }
        Err(StoreError::Conflict {
            stream: batches
                .first()
                .map(|b| b.stream_id.clone())
                .unwrap_or_default(),
            expected: ExpectedVersion::Any.to_string(),
            actual: None,
        })
    }

    async fn try_append(
        &self,
        conn: &mut PgConnection,
        batches: &[StreamAppend],
        hook: &mut Option<AppendHook<'_>>,
        together: bool,
    ) -> Result<Attempt, StoreError> {
        let recorded_at = micros(self.clock.now());
        let mut tx = sqlx::Connection::begin(conn).await?;
        let mut results = Vec::with_capacity(batches.len());
        let mut heads = Vec::with_capacity(batches.len());
        let places: Vec<Place> = batches
            .iter()
            .enumerate()
            .map(|(i, batch)| Place {
                first_in_tx: i == 0,
                known_to_exist: self.knows_stream(&batch.stream_id),
            })
            .collect();
        // When every stream is tried as new (a booking's), one statement creates them all, taking their
        // locks in the same (sorted) order as one by one. If one exists, nothing more is written here:
        // touching it now would lock it after streams that sort later, and two appends locking in
        // different orders can deadlock. A stream that had to be new is a conflict; an `Any` stream that
        // exists sends the append round again one stream at a time.
        if together
            && batches.len() > 1
            && batches
                .iter()
                .zip(&places)
                .all(|(b, at)| at.tried_as_new(b))
        {
            let made = create_streams(&mut tx, self.identity.epoch, batches, recorded_at).await?;
            if !made.first_write {
                return Err(not_first_write());
            }
            if let Some((batch, _)) = batches.iter().zip(&made.to).find(|(_, to)| to.is_none()) {
                if !must_be_new(batch) {
                    return Ok(Attempt::OneByOne);
                }
                return Err(existing_stream_conflict(&mut tx, batch).await);
            }
            for (batch, (version, head)) in batches.iter().zip(made.to.into_iter().flatten()) {
                heads.push((batch.stream_id.clone(), version, head));
                results.push(AppendResult {
                    stream_id: batch.stream_id.clone(),
                    version,
                    appended: true,
                });
            }
            return self.finish(tx, batches, hook, results, heads).await;
        }
        for (batch, at) in batches.iter().zip(places) {
            let appended =
                append_stream(&mut tx, self.identity.epoch, batch, recorded_at, at).await?;
            match appended {
                Some((result, head)) => {
                    heads.push((result.stream_id.clone(), result.version, head));
                    results.push(result);
                }
                None => return Ok(Attempt::LostRace),
            }
        }
        self.finish(tx, batches, hook, results, heads).await
    }

    /// Runs the hook, commits, and remembers the new heads.
    async fn finish(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        batches: &[StreamAppend],
        hook: &mut Option<AppendHook<'_>>,
        results: Vec<AppendResult>,
        heads: Vec<(String, i64, Vec<u8>)>,
    ) -> Result<Attempt, StoreError> {
        if let Some(hook) = hook.take() {
            hook(&mut tx).await.map_err(StoreError::Hook)?;
        }
        tx.commit().await?;
        for (stream, version, head) in heads {
            self.remember_head(stream, version, head);
        }
        self.announce_append();
        metrics::counter!("va_events_appended_total")
            .increment(batches.iter().map(|b| b.events.len() as u64).sum());
        Ok(Attempt::Done(results))
    }

    /// After a conflict or a duplicate event id: if every event is already stored where the request
    /// wanted it, the append is an idempotent retry and succeeds; otherwise the error stands.
    async fn maybe_already_appended(
        &self,
        conn: &mut PgConnection,
        batches: &[StreamAppend],
        err: StoreError,
    ) -> Result<Vec<AppendResult>, StoreError> {
        let retryable = match &err {
            StoreError::Conflict { .. } => true,
            StoreError::Database(db) => violated_constraint(db) == Some("events_event_id_key"),
            _ => false,
        };
        if !retryable {
            return Err(err);
        }
        let ids: Vec<Uuid> = batches
            .iter()
            .flat_map(|b| b.events.iter().map(|e| e.event_id))
            .collect();
        let rows = sqlx::query(
            "select event_id, stream_id, stream_version from events where event_id = any($1)",
        )
        .bind(&ids)
        .fetch_all(conn)
        .await?;
        if rows.is_empty() {
            return Err(err);
        }
        let mut results = Vec::with_capacity(batches.len());
        for batch in batches {
            let mut version = None;
            for event in &batch.events {
                let row = rows
                    .iter()
                    .find(|r| r.get::<Uuid, _>("event_id") == event.event_id);
                match row {
                    Some(r) if r.get::<String, _>("stream_id") == batch.stream_id => {
                        version = Some(r.get::<i64, _>("stream_version"));
                    }
                    Some(_) => return Err(StoreError::DuplicateEventId(event.event_id)),
                    // Only some of the events are stored (a deterministic id another writer also
                    // chose): this is not a retry of a committed append, so the original error stands.
                    None => return Err(err),
                }
            }
            results.push(AppendResult {
                stream_id: batch.stream_id.clone(),
                version: version.unwrap_or(0),
                appended: false,
            });
        }
        Ok(results)
    }
}

/// The most heads remembered before the cache starts over (it is only a hint).
pub(crate) const HEAD_CACHE_LIMIT: usize = 100_000;

impl EventStore {
    /// Where a single-stream append can start without reading the stream head: a new stream, or an
    /// `Exact` version this process wrote last.
    fn known_head(&self, batch: &StreamAppend) -> Option<(i64, Vec<u8>)> {
        match batch.expected {
            ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => Some((0, GENESIS.to_vec())),
            ExpectedVersion::Exact(v) => self
                .heads
                .get(&batch.stream_id)
                .filter(|(version, _)| *version == v),
            ExpectedVersion::Any => None,
        }
    }

    /// Whether this process has written `stream_id` (its head is remembered): such a stream exists.
    fn knows_stream(&self, stream_id: &str) -> bool {
        self.heads.contains(stream_id)
    }

    pub(crate) fn remember_head(&self, stream_id: String, version: i64, head: Vec<u8>) {
        self.heads.put(stream_id, (version, head));
    }

    /// The one-round-trip append: compare-and-set and insert in a single autocommit statement. `None`
    /// when the head was not what we thought (the caller falls back to the full path, which tells a
    /// conflict from a stale hint).
    async fn try_fast(
        &self,
        conn: &mut PgConnection,
        batch: &StreamAppend,
        base: i64,
        prev: &[u8],
    ) -> Result<Option<AppendResult>, StoreError> {
        let recorded_at = micros(self.clock.now());
        let Some((version, head)) =
            cas_and_insert(conn, self.identity.epoch, batch, base, prev, recorded_at)
                .await?
                .to
        else {
            return Ok(None);
        };
        metrics::counter!("va_events_appended_total").increment(batch.events.len() as u64);
        self.remember_head(batch.stream_id.clone(), version, head);
        self.announce_append();
        Ok(Some(AppendResult {
            stream_id: batch.stream_id.clone(),
            version,
            appended: true,
        }))
    }
}

/// Appends one stream's events inside `tx`. `None` means an `Any` append lost a race and should retry.
/// Whether the event at `version` of `stream_id` was written by a transaction with a later id than this one
/// (a fresh statement, so it sees what committed while this transaction waited for the head's lock).
async fn head_written_after_us(
    tx: &mut PgConnection,
    stream_id: &str,
    version: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "select coalesce((select tx_id > pg_current_xact_id() from events \
           where stream_id = $1 and stream_version = $2), false)",
    )
    .bind(stream_id)
    .bind(version)
    .fetch_one(&mut *tx)
    .await?)
}

async fn append_stream(
    tx: &mut PgConnection,
    epoch: i32,
    batch: &StreamAppend,
    recorded_at: DateTime<Utc>,
    at: Place,
) -> Result<Option<(AppendResult, Vec<u8>)>, StoreError> {
    let first_in_tx = at.first_in_tx;
    let appended = |(version, head)| {
        Some((
            AppendResult {
                stream_id: batch.stream_id.clone(),
                version,
                appended: true,
            },
            head,
        ))
    };
    // A stream that must be new — or an `Any` stream after the transaction's first that this process has
    // not written, which often is new (a new client's) — is first tried as new: one statement. A new stream
    // has no earlier version another transaction could have written, so the feed-order check below has
    // nothing to check, and as the first statement after BEGIN it is trivially the first write.
    let must_be_new = must_be_new(batch);
    if at.tried_as_new(batch) {
        let moved = cas_and_insert(&mut *tx, epoch, batch, 0, &GENESIS, recorded_at).await?;
        if first_in_tx && !moved.first_write {
            return Err(not_first_write());
        }
        if let Some(to) = moved.to {
            return Ok(appended(to));
        }
        if must_be_new {
            return Err(existing_stream_conflict(tx, batch).await);
        }
        // An `Any` stream that exists: the locking path below.
    }
    // `Any` on an existing stream locks its head row first (the lock is then the first write), so
    // concurrent `Any` appends queue instead of retrying; the others read the head without locking.
    let locked = if batch.expected == ExpectedVersion::Any {
        sqlx::query(
            // The freshness check is materialized before the lock: a waiter re-checks the locked row
            // after the holder commits, and by then its own transaction id exists.
            "with f as materialized (select pg_current_xact_id_if_assigned() is null as fresh) \
             select s.version, s.head_hash, f.fresh from f, streams s \
             where s.stream_id = $1 for update of s",
        )
        .bind(&batch.stream_id)
        .fetch_optional(&mut *tx)
        .await?
    } else {
        None
    };
    let head =
        match locked {
            Some(row) => row,
            None => sqlx::query(
                "select s.version, s.head_hash, pg_current_xact_id_if_assigned() is null as fresh \
                 from (select 1) as one left join streams s on s.stream_id = $1",
            )
            .bind(&batch.stream_id)
            .fetch_one(&mut *tx)
            .await?,
        };
    if first_in_tx && !head.get::<bool, _>("fresh") {
        return Err(not_first_write());
    }
    let current: Option<i64> = head.get("version");
    if !first_in_tx
        && let Some(version) = current
        && head_written_after_us(tx, &batch.stream_id, version).await?
    {
        // This transaction got its id (at its first write) before the transaction that wrote the head
        // committed: the feed, ordered by transaction id, would show our next version before that head.
        // Start over with a new (later) transaction id.
        return Ok(None);
    }
    let conflict = || StoreError::Conflict {
        stream: batch.stream_id.clone(),
        expected: batch.expected.to_string(),
        actual: current,
    };
    // Only `Exact(v > 0)` and `Any` get here (a stream that must be new was settled above).
    if let ExpectedVersion::Exact(v) = batch.expected
        && current != Some(v)
    {
        return Err(conflict());
    }
    let base = current.unwrap_or(0);
    let prev: Vec<u8> = head
        .get::<Option<Vec<u8>>, _>("head_hash")
        .unwrap_or_else(|| GENESIS.to_vec());
    match cas_and_insert(&mut *tx, epoch, batch, base, &prev, recorded_at)
        .await?
        .to
    {
        Some(to) => Ok(appended(to)),
        None => match batch.expected {
            ExpectedVersion::Any => Ok(None),
            _ => Err(conflict()),
        },
    }
}

/// The conflict of a stream that had to be new but exists, with its version (read without a lock).
async fn existing_stream_conflict(tx: &mut PgConnection, batch: &StreamAppend) -> StoreError {
    let actual = sqlx::query_scalar("select version from streams where stream_id = $1")
        .bind(&batch.stream_id)
        .fetch_optional(&mut *tx)
        .await;
    match actual {
        Ok(actual) => StoreError::Conflict {
            stream: batch.stream_id.clone(),
            expected: batch.expected.to_string(),
            actual,
        },
        Err(err) => err.into(),
    }
}

/// Where a stream's append stands in its transaction.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// The transaction's first stream: its compare-and-set must be the transaction's first write.
    first_in_tx: bool,
    /// This process has written the stream, so it exists (no point trying it as new).
    known_to_exist: bool,
}

impl Place {
    /// Whether `batch` is first tried as a new stream here (see [`append_stream`]).
    fn tried_as_new(self, batch: &StreamAppend) -> bool {
        must_be_new(batch)
            || (batch.expected == ExpectedVersion::Any && !self.first_in_tx && !self.known_to_exist)
    }
}

/// Whether `batch`'s stream must not exist yet.
fn must_be_new(batch: &StreamAppend) -> bool {
    matches!(
        batch.expected,
        ExpectedVersion::NoStream | ExpectedVersion::Exact(0)
    )
}

fn not_first_write() -> StoreError {
    StoreError::Invariant(
        "the stream-head compare-and-set must be the transaction's first write".into(),
    )
}

/// The compare-and-set of `batch`'s stream from version `base` with head hash `prev`, and the insert of its
/// events, as one statement on `conn`. The compare-and-set CTE runs first (the insert reads its result), so
/// it is the statement's first write. The insert returns nothing: a data-modifying CTE runs to completion
/// anyway, and a `returning` list would be buffered row by row for nobody.
async fn cas_and_insert<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    epoch: i32,
    batch: &StreamAppend,
    base: i64,
    prev: &[u8],
    recorded_at: DateTime<Utc>,
) -> Result<Moved, StoreError> {
    let mut rows = EventRows::with_capacity(epoch, recorded_at, batch.events.len());
    let head = rows.push(batch, base, prev)?;
    let version = base + batch.count();
    let tenant = batch.tenant();
    // `f` is read by the compare-and-set before it writes, so `fresh` tells whether anything was written
    // in this transaction before this statement.
    let cas = if base == 0 {
        "insert into streams (stream_id, version, tenant_id, head_hash, updated_at) \
         select $16, $13, $14, $15, $3 from f on conflict (stream_id) do nothing returning 1"
    } else {
        "update streams set version = $13, head_hash = $15, updated_at = $3 from f \
         where stream_id = $16 and version = $17 and head_hash = $18 returning 1"
    };
    let sql = format!(
        "with f as materialized (select pg_current_xact_id_if_assigned() is null as fresh), \
           cas as ({cas}), inserted as ({INSERT_EVENTS} where exists (select 1 from cas)) \
         select (select count(*) from cas), (select fresh from f)"
    );
    let mut query = rows
        .bind(sqlx::query(&sql))
        .bind(version)
        .bind(tenant)
        .bind(&head)
        .bind(&batch.stream_id);
    if base != 0 {
        query = query.bind(base).bind(prev);
    }
    let row = query.fetch_one(conn).await?;
    let swapped: i64 = sqlx::Row::try_get(&row, 0)?;
    Ok(Moved {
        to: (swapped == 1).then_some((version, head)),
        first_write: sqlx::Row::try_get(&row, 1)?,
    })
}

/// Several new streams at once: one statement inserts every stream head (`on conflict do nothing`) and the
/// events of the heads it inserted, as [`cas_and_insert`] does for one stream from version 0. A booking
/// opens three streams (its own, its usage, often its client's): one round trip instead of three.
async fn create_streams(
    conn: &mut PgConnection,
    epoch: i32,
    batches: &[StreamAppend],
    recorded_at: DateTime<Utc>,
) -> Result<Created, StoreError> {
    let n: usize = batches.iter().map(|b| b.events.len()).sum();
    let mut rows = EventRows::with_capacity(epoch, recorded_at, n);
    let mut heads = Vec::with_capacity(batches.len());
    for batch in batches {
        let head = rows.push(batch, 0, &GENESIS)?;
        heads.push((batch.count(), head));
    }
    let sql = format!(
        "with f as materialized (select pg_current_xact_id_if_assigned() is null as fresh), \
           cas as ( \
             insert into streams (stream_id, version, tenant_id, head_hash, updated_at) \
             select n.s, n.v, n.tn, n.h, $3 \
             from f, unnest($13::text[], $14::bigint[], $15::uuid[], $16::bytea[]) as n(s, v, tn, h) \
             on conflict (stream_id) do nothing returning stream_id), \
           inserted as ({INSERT_EVENTS} where u.s in (select stream_id from cas)) \
         select array(select stream_id from cas), (select fresh from f)"
    );
    let ids: Vec<&str> = batches.iter().map(|b| b.stream_id.as_str()).collect();
    let versions: Vec<i64> = heads.iter().map(|(v, _)| *v).collect();
    let tenants: Vec<Option<Uuid>> = batches.iter().map(StreamAppend::tenant).collect();
    let hashes: Vec<&[u8]> = heads.iter().map(|(_, h)| h.as_slice()).collect();
    let row = rows
        .bind(sqlx::query(&sql))
        .bind(&ids)
        .bind(&versions)
        .bind(&tenants)
        .bind(&hashes)
        .fetch_one(&mut *conn)
        .await?;
    let made: Vec<String> = row.try_get(0)?;
    Ok(Created {
        to: batches
            .iter()
            .zip(heads)
            .map(|(batch, head)| made.contains(&batch.stream_id).then_some(head))
            .collect(),
        first_write: row.try_get(1)?,
    })
}

/// What [`create_streams`] did.
struct Created {
    /// Per batch: `(version, head hash)` when its stream was created; `None` when it already existed.
    to: Vec<Option<(i64, Vec<u8>)>>,
    /// Whether the transaction had written nothing before the statement.
    first_write: bool,
}

/// What [`cas_and_insert`] did.
struct Moved {
    /// `(version, head hash)` when the stream moved; `None` (nothing written) when its head was elsewhere.
    to: Option<(i64, Vec<u8>)>,
    /// Whether the transaction had written nothing before the statement.
    first_write: bool,
}

/// The multi-row insert of events: the values every row shares as parameters `$1` and `$3`, the rest as
/// column arrays (`$2`, `$4`–`$12`; `$2` is each row's stream). Payload and metadata travel as their
/// canonical JSON text — the bytes the hash covers, written once — and Postgres parses them into `jsonb`.
/// Statements embedding it add a condition on `u.s`, the row's stream.
const INSERT_EVENTS: &str = "insert into events (epoch, event_id, stream_id, stream_version, event_type, \
      schema_version, tenant_id, data, metadata, recorded_at, prev_hash, hash) \
    select $1, u.id, u.s, u.v, u.t, u.sv, u.tn, u.d::jsonb, u.m::jsonb, $3, u.p, u.h \
    from unnest($2::text[], $4::uuid[], $5::bigint[], $6::text[], $7::int[], $8::uuid[], $9::text[], \
      $10::text[], $11::bytea[], $12::bytea[]) as u(s, id, v, t, sv, tn, d, m, p, h)";

/// Events as the columns of [`INSERT_EVENTS`], each stream's hashes chained.
struct EventRows<'a> {
    epoch: i32,
    recorded_at: DateTime<Utc>,
    stream_id: Vec<&'a str>,
    event_id: Vec<Uuid>,
    version: Vec<i64>,
    event_type: Vec<&'a str>,
    schema_version: Vec<i32>,
    tenant_id: Vec<Option<Uuid>>,
    data: Vec<String>,
    metadata: Vec<String>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

impl<'a> EventRows<'a> {
    fn with_capacity(epoch: i32, recorded_at: DateTime<Utc>, n: usize) -> Self {
        Self {
            epoch,
            recorded_at,
            stream_id: Vec::with_capacity(n),
            event_id: Vec::with_capacity(n),
            version: Vec::with_capacity(n),
            event_type: Vec::with_capacity(n),
            schema_version: Vec::with_capacity(n),
            tenant_id: Vec::with_capacity(n),
            data: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            prev_hash: Vec::with_capacity(n),
            hash: Vec::with_capacity(n),
        }
    }

    /// Adds `batch`'s events, chained from version `base` with head hash `prev`; returns the stream's new
    /// head hash (`prev` itself when the batch has no events).
    fn push(
        &mut self,
        batch: &'a StreamAppend,
        base: i64,
        prev: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let recorded_at = self.recorded_at;
        let mut prev = prev.to_vec();
        let mut capacity = 128;
        for (version, event) in (base + 1..).zip(&batch.events) {
            let mut data = Vec::with_capacity(capacity);
            hash::write_canonical(&event.data, &mut data);
            capacity = capacity.max(data.len());
            let data = String::from_utf8(data)
                .map_err(|_| StoreError::Invariant("canonical JSON is not UTF-8".into()))?;
            let metadata = canonical_metadata(&event.metadata)?;
            let hash = hash::chain(
                &prev,
                &Hashed {
                    event_id: event.event_id,
                    stream_id: &batch.stream_id,
                    stream_version: version,
                    event_type: &event.event_type,
                    schema_version: event.schema_version,
                    tenant_id: event.tenant_id,
                    data: data.as_bytes(),
                    metadata: metadata.as_bytes(),
                    recorded_at,
                },
            )
            .to_vec();
            self.stream_id.push(&batch.stream_id);
            self.event_id.push(event.event_id);
            self.version.push(version);
            self.event_type.push(&event.event_type);
            self.schema_version.push(event.schema_version);
            self.tenant_id.push(event.tenant_id);
            self.data.push(data);
            self.metadata.push(metadata);
            self.prev_hash
                .push(std::mem::replace(&mut prev, hash.clone()));
            self.hash.push(hash);
        }
        Ok(prev)
    }

    /// Binds `$1`–`$12` of [`INSERT_EVENTS`] (or of a statement embedding it).
    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>
    where
        'a: 'q,
    {
        query
            .bind(self.epoch)
            .bind(self.stream_id)
            .bind(self.recorded_at)
            .bind(self.event_id)
            .bind(self.version)
            .bind(self.event_type)
            .bind(self.schema_version)
            .bind(self.tenant_id)
            .bind(self.data)
            .bind(self.metadata)
            .bind(self.prev_hash)
            .bind(self.hash)
    }
}

/// The canonical JSON of an event's metadata. Most events carry none, and empty metadata serializes
/// to `{}`: that case skips building a `serde_json::Value`.
fn canonical_metadata(metadata: &events::Metadata) -> Result<String, StoreError> {
    if *metadata == events::Metadata::default() {
        return Ok("{}".to_owned());
    }
    Ok(hash::canonical_json(&serde_json::to_value(metadata)?))
}

/// Postgres keeps microseconds; the hash must cover exactly what is stored.
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sqlx::PgPool;

    use super::*;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn the_compare_and_set_refuses_to_run_after_another_write(pool: PgPool) {
        let mut tx = pool.begin().await.unwrap();
        // Forces a transaction id, exactly as an earlier write would.
        sqlx::query("select pg_current_xact_id()")
            .execute(&mut *tx)
            .await
            .unwrap();
        let batch = StreamAppend::new(
            "other-late",
            ExpectedVersion::NoStream,
            vec![NewEvent::raw("T", json!({}))],
        );
        let first = Place {
            first_in_tx: true,
            known_to_exist: false,
        };
        let err = append_stream(&mut tx, 0, &batch, chrono::DateTime::UNIX_EPOCH, first)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invariant(_)), "{err}");
    }
}
