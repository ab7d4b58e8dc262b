//! `voiceappoint bench replay`: a month of usage (1,000,000 `UsageRecorded` across 500 businesses by
//! default) written to a throwaway database, then every business's invoice computed by the finance replay
//! straight from the event store — timed against the raw `COPY` read of the same rows in the same run,
//! which is the ceiling (the replay reads those rows and also decodes and folds them).
#![expect(
    clippy::cast_precision_loss,
    reason = "rates and sizes are printed for people"
)]

use std::time::{Duration, Instant};

use anyhow::Context as _;
use api::billing::replay::{REPLAY_TYPES, replay};
use api::billing::simulate::{self, Simulation};
use domain::billing::{Period, invoice};
use futures::TryStreamExt as _;

use crate::bench::BenchDb;
use crate::billing::progress_bar;
use crate::config::Config;
use crate::platform::{self, out};

/// Runs the benchmark: `events` usage events across `businesses`, `runs` timed runs of each case.
pub async fn run(
    config: &Config,
    events: u64,
    businesses: usize,
    runs: usize,
) -> anyhow::Result<()> {
    let (db, cfg) = BenchDb::create(config).await?;
    let result = cases(&cfg, events, businesses, runs.max(1)).await;
    db.drop_db().await?;
    result
}

fn median(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[0], xs[xs.len() / 2], xs[xs.len() - 1])
}

async fn cases(cfg: &Config, events: u64, businesses: usize, runs: usize) -> anyhow::Result<()> {
    let store = platform::open_store_migrated(cfg).await?;
    let period = Period::parse("2026-10").context("bench period")?;
    // A third of the calls also book, so calls = 3/4 of the usage events.
    let calls = usize::try_from(events * 3 / 4).unwrap_or(usize::MAX);
    let sim = Simulation {
        businesses,
        calls,
        period,
        seed: 1,
        batch: 1_000,
    };
    out(&format!(
        "bench replay: writing {events} usage events across {businesses} businesses ({calls} calls)…"
    ));
    let started = Instant::now();
    let list = simulate::businesses(&store, &sim).await?;
    let bar = progress_bar();
    let written = simulate::calls(&store, &sim, &list, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    sqlx::query("vacuum analyze events")
        .execute(store.pool())
        .await?;
    out(&format!(
        "  written {written} usage events in {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    let types: Vec<String> = REPLAY_TYPES.iter().map(|t| (*t).to_owned()).collect();
    let mut copy_rates = Vec::new();
    let mut replay_rates = Vec::new();
    for run in 1..=runs {
        // Baseline: the same rows, raw, through COPY.
        let t = Instant::now();
        let mut conn = store.pool().acquire().await?;
        let sql = format!(
            "copy (select tenant_id, stream_id, event_id, event_type, data from events \
             where event_type in ({}) order by global_position) to stdout",
            types
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut copy = conn.copy_out_raw(&sql).await?;
        let mut bytes = 0_usize;
        while let Some(chunk) = copy.try_next().await? {
            bytes += chunk.len();
        }
        drop(copy);
        drop(conn);
        let copy_elapsed = t.elapsed();

        // The replay: every business's invoice for the month, from the event store.
        let t = Instant::now();
        let replayed = replay(&store, None, |_| {}).await?;
        let total: i64 = replayed
            .accounts
            .values()
            .map(|a| invoice(&a.history, period).total_minor)
            .sum();
        let replay_elapsed = t.elapsed();
        let rate = |d: Duration| replayed.events as f64 / d.as_secs_f64();
        copy_rates.push(rate(copy_elapsed));
        replay_rates.push(rate(replay_elapsed));
        out(&format!(
            "  run {run}: COPY {:>9.0} rows/s ({:.1} MB in {:.2} s)   replay + {} invoices {:>9.0} events/s ({:.2} s, total {} cents)",
            rate(copy_elapsed),
            bytes as f64 / 1e6,
            copy_elapsed.as_secs_f64(),
            replayed.accounts.len(),
            rate(replay_elapsed),
            replay_elapsed.as_secs_f64(),
            total,
        ));
    }
    let (cmin, cmed, cmax) = median(copy_rates);
    let (rmin, rmed, rmax) = median(replay_rates);
    out(&format!(
        "median of {runs}: COPY {cmed:.0} rows/s (range {cmin:.0}–{cmax:.0}); replay {rmed:.0} events/s (range {rmin:.0}–{rmax:.0}); replay / COPY = {:.2}; target ≥ 200,000 events/s",
        rmed / cmed
    ));
    Ok(())
}
