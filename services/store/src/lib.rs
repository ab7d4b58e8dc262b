//! The Postgres event store, its gap-safe feed, the hash-chain auditor and the relay to NATS JetStream.

pub mod append;
pub mod audit;
pub mod bus;
pub mod error;
pub mod hash;
pub mod hint;
pub mod pool;
pub mod read;
pub mod relay;
pub mod scan;

use std::sync::Arc;

use events::{Clock, SystemClock, Upcasters};
use sqlx::PgPool;
use uuid::Uuid;

pub use append::{AppendHook, AppendResult, ExpectedVersion, StreamAppend};
pub use error::StoreError;
pub use events::{FeedPosition, NewEvent, StoredEvent};
pub use scan::ScannedEvent;

/// Every migration of the project (event store, write-side guards and read models), forward-only.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Who this store is: NATS messages carry the id so one store never consumes another's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreIdentity {
    pub store_id: Uuid,
    pub epoch: i32,
}

/// A handle on the event store. Cheap to clone.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    identity: StoreIdentity,
    upcasters: Arc<Upcasters>,
    clock: Arc<dyn Clock>,
    /// The last head (version, hash) this process wrote per stream: lets the next `Exact` append skip
    /// reading the head. Only a hint — the compare-and-set in the database decides.
    heads: Arc<hint::Hints<(i64, Vec<u8>)>>,
    /// Wakes the background notifier after a commit (see [`EventStore::open`]).
    appended: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl EventStore {
    /// Opens the store on a migrated database, reading its identity.
    pub async fn open(pool: PgPool) -> Result<Self, StoreError> {
        let (store_id, epoch): (Uuid, i32) =
            sqlx::query_as("select store_id, epoch from event_store_meta")
                .fetch_one(&pool)
                .await?;
        let appended = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(notifier(pool.clone(), appended.clone()));
        Ok(Self {
            pool,
            identity: StoreIdentity { store_id, epoch },
            upcasters: Arc::new(Upcasters::new()),
            heads: Arc::new(hint::Hints::new(append::HEAD_CACHE_LIMIT)),
            appended,
            clock: Arc::new(SystemClock),
        })
    }

    /// Tells relays (any process) that new events are committed.
    pub(crate) fn announce_append(&self) {
        self.appended.notify_one();
    }

    /// Replaces the upcaster registry used by every read.
    #[must_use]
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = Arc::new(upcasters);
        self
    }

    /// Replaces the clock that stamps `recorded_at`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn identity(&self) -> StoreIdentity {
        self.identity
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// Sends `NOTIFY va_events` after commits, outside the append transactions and coalesced (at most one
/// every few milliseconds). A NOTIFY inside each append would take Postgres's global notify lock at every
/// commit and serialize concurrent appends; relays also poll, so a lost wake-up costs latency, not events.
async fn notifier(pool: PgPool, appended: Arc<tokio::sync::Notify>) {
    loop {
        appended.notified().await;
        if pool.is_closed() {
            return;
        }
        if let Err(err) = sqlx::query("select pg_notify('va_events', '')")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::debug!(error = %err, "append notification failed; relays will poll");
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}
