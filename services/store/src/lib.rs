//! The Postgres event store, its gap-safe feed, the hash-chain auditor and the relay to NATS JetStream.

pub mod append;
pub mod audit;
pub mod bus;
pub mod error;
pub mod hash;
pub mod read;
pub mod relay;

use std::sync::Arc;

use events::{Clock, SystemClock, Upcasters};
use sqlx::PgPool;
use uuid::Uuid;

pub use append::{AppendHook, AppendResult, ExpectedVersion, StreamAppend};
pub use error::StoreError;
pub use events::{FeedPosition, NewEvent, StoredEvent};

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
        Ok(Self {
            pool,
            identity: StoreIdentity { store_id, epoch },
            upcasters: Arc::new(Upcasters::new()),
            clock: Arc::new(SystemClock),
        })
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
