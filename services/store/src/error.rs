//! Store errors. Conflicts are typed and recognised by constraint name, never by message text.

/// What can go wrong talking to the event store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream was not at the expected version.
    #[error("stream {stream} is at version {actual:?}, expected {expected}")]
    Conflict {
        stream: String,
        expected: String,
        actual: Option<i64>,
    },
    /// The extra SQL run inside the append transaction failed; the whole append was rolled back.
    #[error("append hook failed: {0}")]
    Hook(#[source] sqlx::Error),
    /// An event id was reused for a different event.
    #[error("event {0} already exists with different content or position")]
    DuplicateEventId(uuid::Uuid),
    /// An invariant of the store itself was broken (a bug, not bad input).
    #[error("store invariant violated: {0}")]
    Invariant(String),
    #[error("could not encode event: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// True when Postgres could not be reached or the connection broke (the API answers 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Database(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
            )
        )
    }
}

/// The name of the unique or exclusion constraint a database error violated, if any.
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    err.as_database_error().and_then(|e| e.constraint())
}
