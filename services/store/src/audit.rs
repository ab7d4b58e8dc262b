//! Hash-chain verification: recompute every stream's chain from the stored rows and report the first
//! broken link. Reads the raw stored payloads (no upcasting): the chain covers what was written.

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
                data: &data,
                metadata: &metadata,
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
        } else if stored_hash != computed {
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
