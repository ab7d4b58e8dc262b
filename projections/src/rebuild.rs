//! Rebuild a projector from position zero, straight from the event store, without stopping the API.
//!
//! The projector replays into fresh copies of its tables in a schema of their own (its SQL uses
//! unqualified names and `search_path` points there), in short transactions so the feed never stalls.
//! Then one short transaction locks the live checkpoint (the running projector waits), catches up the
//! last events, swaps the fresh tables in and moves the checkpoint. The running projector then skips
//! everything the rebuild already applied.

use sqlx::PgConnection;
use store::{EventStore, FeedPosition};

use crate::runtime::{apply_batch, lock_checkpoint};
use crate::{ProjectionError, Projector};

const PAGE: i64 = 2_000;

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct RebuildReport {
    pub events_applied: usize,
    pub position: FeedPosition,
}

/// Rebuilds `projector` from the event store and swaps the result in.
pub async fn rebuild(
    store: &EventStore,
    projector: &dyn Projector,
) -> Result<RebuildReport, ProjectionError> {
    let name = projector.name();
    let schema = format!("rebuild_{name}");
    let key = format!("{name}__rebuild");
    prepare(store, projector, &schema, &key).await?;

    let mut position = FeedPosition::START;
    let mut applied = 0;
    loop {
        let events = store.read_feed(position, PAGE).await?;
        let Some(last) = events.last() else { break };
        position = last.position();
        let mut tx = store.pool().begin().await?;
        set_search_path(&mut tx, &schema).await?;
        applied += apply_batch(&mut tx, projector, &key, &events, position, None).await?;
        tx.commit().await?;
    }

    let mut tx = store.pool().begin().await?;
    lock_checkpoint(&mut tx, name).await?;
    set_search_path(&mut tx, &schema).await?;
    loop {
        let events = store.read_feed(position, PAGE).await?;
        let Some(last) = events.last() else { break };
        position = last.position();
        applied += apply_batch(&mut tx, projector, &key, &events, position, None).await?;
    }
    swap(&mut tx, projector, &schema, &key).await?;
    tx.commit().await?;
    tracing::info!(projector = name, applied, "rebuild swapped in");
    Ok(RebuildReport {
        events_applied: applied,
        position,
    })
}

async fn prepare(
    store: &EventStore,
    projector: &dyn Projector,
    schema: &str,
    key: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    sqlx::query(&format!("drop schema if exists {schema} cascade"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("create schema {schema}"))
        .execute(&mut *tx)
        .await?;
    for table in projector.tables() {
        sqlx::query(&format!(
            "create table {schema}.{table} (like public.{table} including all)"
        ))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("delete from projector_checkpoints where projector = $1")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

async fn set_search_path(conn: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("set local search_path = {schema}, public"))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Moves the rebuilt tables into place and hands the rebuild's checkpoint to the live projector.
async fn swap(
    conn: &mut PgConnection,
    projector: &dyn Projector,
    schema: &str,
    key: &str,
) -> Result<(), sqlx::Error> {
    let name = projector.name();
    for table in projector.tables() {
        sqlx::query(&format!("drop table public.{table}"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("alter table {schema}.{table} set schema public"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("select va_enable_tenant_rls('public.{table}')"))
            .execute(&mut *conn)
            .await?;
        // Default privileges only cover tables created in `public`; this one was created elsewhere, so the
        // API's read role would be refused (`permission denied`) after the swap without this grant.
        sqlx::query(&format!("grant select on public.{table} to va_reader"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(&format!("drop schema {schema}"))
        .execute(&mut *conn)
        .await?;
    // The live row keeps its JetStream sequence: the runner resumes there and skips by position.
    sqlx::query(
        "update projector_checkpoints live set epoch = r.epoch, tx_id = r.tx_id, \
           global_position = r.global_position, last_recorded_at = r.last_recorded_at, updated_at = now() \
         from projector_checkpoints r where live.projector = $1 and r.projector = $2",
    )
    .bind(name)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    sqlx::query("delete from projector_checkpoints where projector = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
