//! `event_counts`: how many events of each type every tenant has, per stream kind.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use store::StoredEvent;
use uuid::Uuid;

use crate::Projector;

/// Counts events per (tenant, stream kind, event type).
pub struct EventCounts;

impl Projector for EventCounts {
    fn name(&self) -> &'static str {
        "event_counts"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["event_counts"]
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        count_all(conn, events).boxed()
    }
}

/// Counts the batch in memory and adds it with one upsert (one row per tenant, kind and type).
async fn count_all(conn: &mut PgConnection, events: &[&StoredEvent]) -> Result<(), sqlx::Error> {
    let mut counts: BTreeMap<(Uuid, &str, &str), (i64, DateTime<Utc>)> = BTreeMap::new();
    for &event in events {
        let key = (
            event.tenant_id.unwrap_or(Uuid::nil()),
            events::stream::kind_of(&event.stream_id).as_str(),
            event.event_type.as_str(),
        );
        let entry = counts.entry(key).or_insert((0, event.recorded_at));
        entry.0 += 1;
        entry.1 = entry.1.max(event.recorded_at);
    }
    if counts.is_empty() {
        return Ok(());
    }
    let mut tenants = Vec::with_capacity(counts.len());
    let mut kinds = Vec::with_capacity(counts.len());
    let mut types = Vec::with_capacity(counts.len());
    let mut added = Vec::with_capacity(counts.len());
    let mut latest = Vec::with_capacity(counts.len());
    for ((tenant, kind, event_type), (n, at)) in counts {
        tenants.push(tenant);
        kinds.push(kind);
        types.push(event_type);
        added.push(n);
        latest.push(at);
    }
    sqlx::query(
        "insert into event_counts (tenant_id, stream_kind, event_type, events, last_recorded_at) \
         select * from unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) \
         on conflict (tenant_id, stream_kind, event_type) do update \
         set events = event_counts.events + excluded.events, \
             last_recorded_at = greatest(event_counts.last_recorded_at, excluded.last_recorded_at)",
    )
    .bind(&tenants)
    .bind(&kinds)
    .bind(&types)
    .bind(&added)
    .bind(&latest)
    .execute(conn)
    .await?;
    Ok(())
}
