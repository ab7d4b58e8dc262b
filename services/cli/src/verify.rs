//! `voiceappoint verify …`: re-derive write-side state from the events and report every difference.

use anyhow::bail;
use clap::Subcommand;

use crate::config::Config;
use crate::platform::{self, out};

#[derive(Subcommand)]
pub enum What {
    /// Re-derive the booking allocation table from the booking events; exits non-zero on a difference.
    Allocations,
}

pub async fn run(config: &Config, what: What) -> anyhow::Result<()> {
    match what {
        What::Allocations => allocations(config).await,
    }
}

async fn allocations(config: &Config) -> anyhow::Result<()> {
    let store = platform::open_store(config).await?;
    let report = api::booking::verify::verify(&store).await?;
    out(&format!(
        "allocations: {} expected from the events, {} rows in the table, {} differences",
        report.bookings,
        report.rows,
        report.differences.len()
    ));
    for difference in &report.differences {
        out(&format!("  {difference}"));
    }
    if !report.differences.is_empty() {
        bail!("the allocation table does not match the booking events");
    }
    Ok(())
}
