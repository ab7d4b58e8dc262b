//! Proof under load and faults (issue 7): a load generator that plays realistic Vapi call traffic against
//! the platform running in this process, the invariant check every run ends with, and the fault drills.
//! Used by `voiceappoint bench load` / `voiceappoint drill` and by the CI drills in `tests/drills.rs`.

pub mod drills;
pub mod invariants;
pub mod local;
pub mod platform;
pub mod stats;
pub mod traffic;
pub mod world;

use std::sync::Arc;
use std::time::Duration;

use store::EventStore;

pub use invariants::Verdicts;
pub use traffic::Options;

/// What a load run or drill measured and concluded.
pub struct RunReport {
    pub stats: Arc<stats::Stats>,
    pub elapsed: Duration,
    pub verdicts: Verdicts,
    /// Drill-specific lines (what was killed, when, how the junk was answered…).
    pub notes: Vec<String>,
}

impl RunReport {
    /// Everything, one line each: measurements, notes, then each invariant.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.stats.report(self.elapsed);
        lines.extend(self.notes.iter().cloned());
        lines.push("invariants:".into());
        lines.extend(self.verdicts.lines().into_iter().map(|l| format!("  {l}")));
        lines
    }
}

/// How long the invariant check waits for projectors to catch up after the traffic stops.
pub const CATCH_UP: Duration = Duration::from_mins(2);

/// A plain load run: the platform on `store` (migrated), `businesses` created over the API, traffic for
/// `opts.duration`, then the invariants.
pub async fn run(
    store: EventStore,
    nats_url: &str,
    businesses: usize,
    opts: &Options,
) -> anyhow::Result<RunReport> {
    drills::run_with_fault(store, nats_url, businesses, opts, drills::Fault::None).await
}

/// A store on `url` with the application pool settings (timeouts as `voiceappoint serve` sets them), migrated.
pub async fn connect_store(url: &str) -> anyhow::Result<EventStore> {
    use anyhow::Context as _;
    let options = store::pool::connect_options(url).context("not a Postgres URL")?;
    let pool = store::pool::pool_options()
        .connect_with(options)
        .await
        .context("connecting to Postgres")?;
    store::MIGRATOR
        .run(&pool)
        .await
        .context("running migrations")?;
    EventStore::open(pool)
        .await
        .context("opening the event store")
}
