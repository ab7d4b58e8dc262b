//! `catalog`: the businesses, members, hours, agents, services, staff and pool numbers read models that the
//! dashboard API, the Vapi webhook and the booking code query (under row-level security).
//!
//! Every table's `tenant_id` is the business id; pool numbers have none until assigned.

mod business;
mod items;

use events::StreamKind;
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use store::StoredEvent;

use crate::Projector;

/// Projects business, service, staff and number streams into the `catalog_*` tables.
pub struct Catalog;

impl Projector for Catalog {
    fn name(&self) -> &'static str {
        "catalog"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "catalog_businesses",
            "catalog_date_overrides",
            "catalog_members",
            "catalog_agents",
            "catalog_services",
            "catalog_staff",
            "catalog_phone_numbers",
            "catalog_revisions",
        ]
    }

    fn kinds(&self) -> Option<&'static [StreamKind]> {
        Some(&[
            StreamKind::Business,
            StreamKind::Service,
            StreamKind::Staff,
            StreamKind::Number,
        ])
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            for event in events {
                apply_event(&mut *conn, event).await?;
            }
            Ok(())
        }
        .boxed()
    }
}

/// Applies one event (each event is its own statements here).
async fn apply_event(conn: &mut PgConnection, event: &StoredEvent) -> Result<(), sqlx::Error> {
    let decode_err = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
    let kind = events::stream::kind_of(&event.stream_id);
    let catalog_event = matches!(
        kind,
        events::StreamKind::Business
            | events::StreamKind::Service
            | events::StreamKind::Staff
            | events::StreamKind::Number
    );
    if catalog_event && let Some(tenant) = event.tenant_id {
        bump_revision(conn, tenant).await?;
    }
    match kind {
        events::StreamKind::Business => {
            let e = events::aggregate::decode_tagged(&event.event_type, &event.data)
                .map_err(decode_err)?;
            business::apply(conn, &e, event).await
        }
        events::StreamKind::Service => {
            let e = events::aggregate::decode_tagged(&event.event_type, &event.data)
                .map_err(decode_err)?;
            items::service(conn, &e, event).await
        }
        events::StreamKind::Staff => {
            let e = events::aggregate::decode_tagged(&event.event_type, &event.data)
                .map_err(decode_err)?;
            items::staff(conn, &e, event).await
        }
        events::StreamKind::Number => {
            let e = events::aggregate::decode_tagged(&event.event_type, &event.data)
                .map_err(decode_err)?;
            items::number(conn, &e, event).await
        }
        _ => Ok(()),
    }
}

/// Counts one more catalog change of `tenant` (`catalog_revisions`), in the transaction that makes it: the
/// API's catalog cache compares this number to the one it loaded at.
pub(super) async fn bump_revision(
    conn: &mut PgConnection,
    tenant: uuid::Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into catalog_revisions (tenant_id, revision) values ($1, 1) \
         on conflict (tenant_id) do update set revision = catalog_revisions.revision + 1",
    )
    .bind(tenant)
    .execute(conn)
    .await?;
    Ok(())
}
