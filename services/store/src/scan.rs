//! Scanning events by type, in global order, for one tenant or all: the finance replay reads every
//! `UsageRecorded` (and plan and number) event this way. Payloads come back as JSON text, not
//! `serde_json::Value`, so the reader deserializes straight into small structs — at a million events the
//! difference is most of the time.
//!
//! Global position order keeps each stream's order, which is all a replay needs; it is not the gap-safe
//! feed order (a scan reads what is committed now, it does not checkpoint).

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::Row;
use uuid::Uuid;

use crate::{EventStore, StoreError};

/// One event as a scan returns it.
#[derive(Debug, Clone)]
pub struct ScannedEvent {
    pub global_position: i64,
    pub event_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub stream_id: String,
    pub event_type: String,
    /// The payload as JSON text, upcast to the current shape.
    pub data: String,
}

impl EventStore {
    /// Every event whose type is in `types` (of `tenant` when given), oldest first, streamed.
    pub fn scan_types<'a>(
        &'a self,
        types: &'a [&'a str],
        tenant: Option<Uuid>,
    ) -> BoxStream<'a, Result<ScannedEvent, StoreError>> {
        let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        let sql = if tenant.is_some() {
            "select global_position, event_id, tenant_id, stream_id, event_type, schema_version, \
               data::text as data from events where tenant_id = $2 and event_type = any($1) \
             order by global_position"
        } else {
            "select global_position, event_id, tenant_id, stream_id, event_type, schema_version, \
               data::text as data from events where event_type = any($1) and $2::uuid is null \
             order by global_position"
        };
        sqlx::query(sql)
            .bind(types)
            .bind(tenant)
            .fetch(&self.pool)
            .map_err(StoreError::from)
            .map(move |row| {
                let row = row?;
                let event_type: String = row.try_get("event_type")?;
                let mut data: String = row.try_get("data")?;
                if self.upcasters.has_steps_for(&event_type) {
                    let value: serde_json::Value = serde_json::from_str(&data)?;
                    let (_, value) =
                        self.upcasters
                            .upcast(&event_type, row.try_get("schema_version")?, value);
                    data = value.to_string();
                }
                Ok(ScannedEvent {
                    global_position: row.try_get("global_position")?,
                    event_id: row.try_get("event_id")?,
                    tenant_id: row.try_get("tenant_id")?,
                    stream_id: row.try_get("stream_id")?,
                    event_type,
                    data,
                })
            })
            .boxed()
    }
}
