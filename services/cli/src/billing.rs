//! Finance commands. `voiceappoint invoice` replays one business's billing events straight from the event
//! store (never the projection) into its invoice; `billing reconcile` replays every business and compares
//! with the billing projection; `billing close` issues the invoices of an ended month.

use std::io::{IsTerminal, Write};

use anyhow::{Context, bail};
use api::billing::ledger::{close_period, reconcile};
use api::billing::render::{InvoiceDocument, status};
use api::billing::replay::replay;
use clap::{Subcommand, ValueEnum};
use domain::billing::{Period, invoice as compute_invoice};
use events::Clock;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::platform::{self, out};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Subcommand)]
pub enum BillingAction {
    /// Replay every business and compare its invoice with the billing projection; exits 1 on a difference.
    Reconcile {
        /// `YYYY-MM` (UTC month).
        #[arg(long)]
        period: String,
    },
    /// Issue the invoice of every business for an ended month (`InvoiceIssued`, once per business).
    Close {
        #[arg(long)]
        period: String,
    },
}

/// A progress bar on stderr while replaying (drawn only on a terminal).
pub fn progress_bar() -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::no_length()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {human_pos} events replayed ({per_sec}, {elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

fn period(text: &str) -> anyhow::Result<Period> {
    Period::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `voiceappoint invoice --business SLUG --period YYYY-MM [--format json|csv]`.
pub async fn invoice(
    config: &Config,
    slug: &str,
    period_text: &str,
    format: Format,
) -> anyhow::Result<()> {
    let period = period(period_text)?;
    let store = platform::open_store(config).await?;
    let business_id = api::billing::replay::business_by_slug(&store, slug)
        .await?
        .with_context(|| format!("no business with slug {slug:?}"))?;
    let bar = progress_bar();
    let replayed = replay(&store, Some(business_id), |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    let account = replayed
        .accounts
        .get(&business_id)
        .cloned()
        .unwrap_or_default();
    let invoice = compute_invoice(&account.history, period);
    let now = events::SystemClock.now();
    let doc = InvoiceDocument::new(
        business_id,
        slug,
        status(period, now),
        &invoice,
        account.issued.get(&period.to_string()),
    );
    let bytes = match format {
        Format::Json => doc.to_json(),
        Format::Csv => doc.to_csv()?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&bytes)?;
    stdout.flush()?;
    Ok(())
}

pub async fn run(config: &Config, action: BillingAction) -> anyhow::Result<()> {
    match action {
        BillingAction::Reconcile { period: text } => {
            let period = period(&text)?;
            let store = platform::open_store(config).await?;
            let bar = progress_bar();
            let report = reconcile(&store, period, |n| bar.set_position(n)).await?;
            bar.finish_and_clear();
            out(&format!(
                "billing reconcile {}: {} businesses, {} events replayed, {} differences",
                report.period,
                report.businesses,
                report.events_replayed,
                report.differences.len()
            ));
            for d in &report.differences {
                out(&format!(
                    "  {} ({}): {}",
                    d.business, d.business_id, d.problem
                ));
            }
            if !report.differences.is_empty() {
                bail!(
                    "the billing projection does not match the event store for {}",
                    report.period
                );
            }
            Ok(())
        }
        BillingAction::Close { period: text } => {
            let period = period(&text)?;
            let store = platform::open_store(config).await?;
            let closed = close_period(&store, period, events::SystemClock.now()).await?;
            let issued = closed.iter().filter(|c| c.issued_now).count();
            for c in &closed {
                out(&format!(
                    "  {} {} {}",
                    c.business,
                    domain::catalog::format_minor(c.total_minor, domain::billing::CURRENCY),
                    if c.issued_now {
                        "issued"
                    } else {
                        "already issued"
                    }
                ));
            }
            out(&format!(
                "billing close {period}: {issued} invoices issued, {} already issued",
                closed.len() - issued
            ));
            Ok(())
        }
    }
}
