//! Hash-chain verification: recompute every stream's chain from the stored rows and report the first
//! broken link. Reads the raw stored payloads (no upcasting): the chain covers what was written.
//! Also the auditors' index of calls: which `call-*` streams began in a time window.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use crate::hash::{self, GENESIS, Hashed};
use crate::{EventStore, StoreError};

/// The first problem found in a stream's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub stream_id: String,
    pub stream_version: i64,
    pub event_id: Option<Uuid>,
    pub problem: String,
}

/// The result of a verification run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    pub streams: u64,
    pub events: u64,
    pub broken: Vec<BrokenLink>,
}

impl AuditReport {
    pub fn is_clean(&self) -> bool {
        self.broken.is_empty()
    }
}

const PAGE: i64 = 5_000;

/// A call as the event store knows it: the first event of its `call-<id>` stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStart {
    /// The Vapi call id (the stream id without `call-`).
    pub call_id: String,
    pub tenant_id: Option<Uuid>,
    /// When the call stream's first event was recorded: what the audit window filters on.
    pub recorded_at: DateTime<Utc>,
    pub global_position: i64,
}

/// Which calls [`EventStore::call_starts`] lists: optionally one tenant, a window on the call stream's
/// first `recorded_at` (`[from, to)`), and a keyset cursor `(recorded_at, global_position)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallWindow {
    pub tenant: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub after: Option<(DateTime<Utc>, i64)>,
}

impl EventStore {
    /// Calls whose stream began in `window`, oldest first, at most `limit`. Straight from the events
    /// table (version 1 of every `call-*` stream, partial index `events_call_starts_idx`), not from the
    /// call log projection: nothing lags and nothing a projector did or failed to do can hide a call.
    pub async fn call_starts(
        &self,
        window: CallWindow,
        limit: i64,
    ) -> Result<Vec<CallStart>, StoreError> {
        let (after_at, after_pos) = window.after.unzip();
        let rows = sqlx::query(
            "select stream_id, tenant_id, recorded_at, global_position from events \
             where stream_version = 1 and stream_id like 'call-%' \
               and ($1::uuid is null or tenant_id = $1) \
               and ($2::timestamptz is null or recorded_at >= $2) \
               and ($3::timestamptz is null or recorded_at < $3) \
               and ($4::timestamptz is null or (recorded_at, global_position) > ($4, $5::bigint)) \
             order by recorded_at, global_position limit $6",
        )
        .bind(window.tenant)
        .bind(window.from)
        .bind(window.to)
        .bind(after_at)
        .bind(after_pos)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let stream_id: String = r.try_get("stream_id")?;
                Ok(CallStart {
                    call_id: stream_id
                        .strip_prefix("call-")
                        .unwrap_or(&stream_id)
                        .to_owned(),
                    tenant_id: r.try_get("tenant_id")?,
                    recorded_at: r.try_get("recorded_at")?,
                    global_position: r.try_get("global_position")?,
                })
            })
            .collect()
    }
}

impl EventStore {
    /// Verifies one stream, or every stream when `stream` is `None`.
    pub async fn verify_chains(&self, stream: Option<&str>) -> Result<AuditReport, StoreError> {
        let mut report = AuditReport::default();
        let mut cursor = (String::new(), 0_i64);
        let mut state = ChainState::default();
        loop {
            let rows = sqlx::query(
                "select event_id, stream_id, stream_version, event_type, schema_version, tenant_id, \
                        data, metadata, recorded_at, prev_hash, hash \
                 from events where (stream_id, stream_version) > ($1, $2) \
                   and ($3::text is null or stream_id = $3) \
                 order by stream_id, stream_version limit $4",
            )
            .bind(&cursor.0)
            .bind(cursor.1)
            .bind(stream)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            cursor = (last.try_get("stream_id")?, last.try_get("stream_version")?);
            for row in &rows {
                let stream_id: String = row.try_get("stream_id")?;
                if state.stream_id.as_deref() != Some(stream_id.as_str()) {
                    self.finish_stream(&mut state, &mut report).await?;
                    state = ChainState::start(stream_id);
                    report.streams += 1;
                }
                report.events += 1;
                state.check(row)?;
            }
        }
        self.finish_stream(&mut state, &mut report).await?;
        Ok(report)
    }

    /// Compares the stream head with the last event and records the stream's first broken link.
    async fn finish_stream(
        &self,
        state: &mut ChainState,
        report: &mut AuditReport,
    ) -> Result<(), StoreError> {
        let Some(stream_id) = state.stream_id.clone() else {
            return Ok(());
        };
        if state.broken.is_none() {
            let head = sqlx::query("select version, head_hash from streams where stream_id = $1")
                .bind(&stream_id)
                .fetch_optional(&self.pool)
                .await?;
            let ok = head.is_some_and(|h| {
                h.get::<i64, _>("version") == state.version
                    && h.get::<Vec<u8>, _>("head_hash") == state.prev
            });
            if !ok {
                state.broken = Some(BrokenLink {
                    stream_id: stream_id.clone(),
                    stream_version: state.version,
                    event_id: None,
                    problem: "stream head does not match its last event (events removed?)".into(),
                });
            }
        }
        report.broken.extend(state.broken.take());
        Ok(())
    }
}

#[derive(Default)]
struct ChainState {
    stream_id: Option<String>,
    version: i64,
    prev: Vec<u8>,
    broken: Option<BrokenLink>,
}

impl ChainState {
    fn start(stream_id: String) -> Self {
        Self {
            stream_id: Some(stream_id),
            version: 0,
            prev: GENESIS.to_vec(),
            broken: None,
        }
    }

    fn check(&mut self, row: &sqlx::postgres::PgRow) -> Result<(), StoreError> {
        if self.broken.is_some() {
            return Ok(());
        }
        let stream_id: String = row.try_get("stream_id")?;
        let version: i64 = row.try_get("stream_version")?;
        let event_id: Uuid = row.try_get("event_id")?;
        let data: serde_json::Value = row.try_get("data")?;
        let metadata: serde_json::Value = row.try_get("metadata")?;
        let event_type: String = row.try_get("event_type")?;
        let stored_prev: Vec<u8> = row.try_get("prev_hash")?;
        let stored_hash: Vec<u8> = row.try_get("hash")?;
        let computed = hash::chain(
            &self.prev,
            &Hashed {
                event_id,
                stream_id: &stream_id,
                stream_version: version,
                event_type: &event_type,
                schema_version: row.try_get("schema_version")?,
                tenant_id: row.try_get("tenant_id")?,
                data: hash::canonical_json(&data).as_bytes(),
                metadata: hash::canonical_json(&metadata).as_bytes(),
                recorded_at: row.try_get("recorded_at")?,
            },
        );
        let problem = if version != self.version + 1 {
            Some(format!(
                "version {version} follows {} (an event is missing)",
                self.version
            ))
        } else if stored_prev != self.prev {
            Some("prev_hash does not match the previous event's hash".to_owned())
        } else if stored_hash != computed.as_slice() {
            Some("stored hash does not match the event's content (edited?)".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            self.broken = Some(BrokenLink {
                stream_id,
                stream_version: version,
                event_id: Some(event_id),
                problem,
            });
        }
        self.version = version;
        self.prev = stored_hash;
        Ok(())
    }
}
