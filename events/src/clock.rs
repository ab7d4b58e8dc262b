//! The one real clock. Everything else takes the time as an argument or through [`Clock`].

use chrono::{DateTime, Utc};

/// A source of the current instant, injected so decisions and tests control time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(clippy::disallowed_methods, reason = "this is the one real clock")]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
