//! `event_counts`: how many events of each type every tenant has, per stream kind.

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

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            sqlx::query(
                "insert into event_counts (tenant_id, stream_kind, event_type, events, last_recorded_at) \
                 values ($1, $2, $3, 1, $4) \
                 on conflict (tenant_id, stream_kind, event_type) do update \
                 set events = event_counts.events + 1, \
                     last_recorded_at = greatest(event_counts.last_recorded_at, excluded.last_recorded_at)",
            )
            .bind(event.tenant_id.unwrap_or(Uuid::nil()))
            .bind(events::stream::kind_of(&event.stream_id).as_str())
            .bind(&event.event_type)
            .bind(event.recorded_at)
            .execute(conn)
            .await?;
            Ok(())
        }
        .boxed()
    }
}
