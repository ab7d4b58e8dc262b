//! Projections: the runtime that feeds read models from JetStream (with exactly-once application via
//! checkpoints), rebuilds from the event store, and the read models themselves.

pub mod billing;
pub mod bookings;
pub mod call_log;
pub mod catalog;
pub mod dashboard;
pub mod event_counts;
pub mod rebuild;
pub mod runtime;

use events::StreamKind;
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use store::StoredEvent;

pub use runtime::{ProjectorRunner, RunnerConfig};

/// A read model fed by events. `apply` runs inside the projector's transaction and must only touch the
/// projector's own tables, by unqualified name (a rebuild points `search_path` at fresh copies).
pub trait Projector: Send + Sync + 'static {
    /// Stable name: durable consumer, checkpoint row and metrics label.
    fn name(&self) -> &'static str;
    /// The read-model tables this projector owns and rebuilds together.
    fn tables(&self) -> &'static [&'static str];
    /// The stream kinds whose events this projector reads; `None` for every kind. The runtime neither
    /// decodes nor applies nor tracks the versions of other events: they only move the checkpoint.
    fn kinds(&self) -> Option<&'static [StreamKind]> {
        None
    }
    /// Applies a batch of events in feed order (the runtime has already skipped what was applied before).
    /// Events the projector does not care about are ignored. A projector may fold the batch into fewer
    /// statements, as long as the result is what applying the events one after another would give.
    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;

    /// Applies one event: a batch of one.
    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move { self.apply_all(conn, std::slice::from_ref(&event)).await }.boxed()
    }
}

/// Whether `projector` reads events of the stream `stream_id`.
pub fn reads(projector: &dyn Projector, stream_id: &str) -> bool {
    projector
        .kinds()
        .is_none_or(|kinds| kinds.contains(&events::stream::kind_of(stream_id)))
}

/// Every projector of the platform, by name.
pub fn all() -> Vec<std::sync::Arc<dyn Projector>> {
    vec![
        std::sync::Arc::new(event_counts::EventCounts),
        std::sync::Arc::new(call_log::CallLog),
        std::sync::Arc::new(catalog::Catalog),
        std::sync::Arc::new(bookings::Availability),
        std::sync::Arc::new(bookings::Appointments),
        std::sync::Arc::new(billing::Billing),
        std::sync::Arc::new(dashboard::Dashboard),
    ]
}

/// Looks a projector up by name.
pub fn by_name(name: &str) -> Option<std::sync::Arc<dyn Projector>> {
    all().into_iter().find(|p| p.name() == name)
}

/// Errors of the projection runtime.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// A stream's events did not arrive one version after the other.
    #[error(
        "stream {stream_id}: version {got} came when version {due} was due, in projector {projector}"
    )]
    Gap {
        projector: String,
        stream_id: String,
        due: i64,
        got: i64,
    },
    #[error("message from another event store ({0}) ignored")]
    ForeignMessage(uuid::Uuid),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Bus(#[from] store::bus::BusError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Decode(#[from] serde_json::Error),
}

/// One column of a multi-row statement's arrays (`select * from unnest($1::…[], $2::…[], …)`).
pub(crate) fn column<'a, T, U>(rows: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}
