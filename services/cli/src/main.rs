//! `voiceappoint`: one binary, one subcommand per role (DESIGN.md §2, §12).

mod admin;
mod bench;
mod bench_availability;
mod bench_http;
mod bench_load;
mod bench_platform;
mod bench_replay;
mod bench_webhook;
mod billing;
mod config;
mod dev;
mod load_cmd;
mod platform;
mod seed;
mod telemetry;
mod verify;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;

/// glibc's allocator was about a quarter of this process's CPU under booking load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "voiceappoint",
    version,
    about = "Phone-booking backend for Vapi voice agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything in one process for a laptop: local Postgres/NATS if needed, migrations, demo data,
    /// API + relay + projectors.
    Dev,
    /// The HTTP API (REST + Vapi webhook).
    Serve,
    /// The relay from the event store to NATS JetStream (one leader per store).
    Relay,
    /// Projectors: run them (all, or one with --name), or rebuild one from the event store.
    Project {
        #[arg(long)]
        name: Option<String>,
        #[command(subcommand)]
        action: Option<ProjectAction>,
    },
    /// Apply database migrations.
    Migrate,
    /// Audit tools.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Re-derive write-side tables from the events and report differences.
    Verify {
        #[command(subcommand)]
        what: verify::What,
    },
    /// Platform users (`platform_admin`, `finance`, `auditor`).
    Admin {
        #[command(subcommand)]
        action: admin::AdminAction,
    },
    /// An invoice replayed from the event store (not the projection): JSON or CSV on stdout.
    Invoice {
        /// The business's slug.
        #[arg(long)]
        business: String,
        /// `YYYY-MM` (UTC month).
        #[arg(long)]
        period: String,
        #[arg(long, value_enum, default_value = "json")]
        format: billing::Format,
    },
    /// Finance: reconcile the billing projection with the event store, close a month.
    Billing {
        #[command(subcommand)]
        action: billing::BillingAction,
    },
    /// Fault drills under load (`kill`, `flood`, `nats`, `postgres`), each ending with the invariant check.
    Drill {
        /// kill | flood | nats | postgres | slow
        name: String,
        #[command(flatten)]
        shape: load_cmd::Shape,
        /// How long NATS or Postgres stays down.
        #[arg(long, default_value_t = 30)]
        down_seconds: u64,
    },
    /// Benchmarks; figures go to BENCHMARKS.md.
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
}

#[derive(Subcommand)]
enum ProjectAction {
    /// Rebuild a projector's read model from position zero and swap it in, without stopping the API.
    Rebuild { name: String },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute the per-stream hash chains and report the first broken link of each stream.
    Verify {
        #[arg(long)]
        stream: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env();
    let _telemetry = telemetry::init(&config)?;
    match cli.command {
        Command::Dev => dev::run(config).await,
        Command::Serve => platform::serve(&config).await,
        Command::Relay => platform::relay(&config).await,
        Command::Project { name, action: None } => {
            platform::project(&config, name.as_deref()).await
        }
        Command::Project {
            action: Some(ProjectAction::Rebuild { name }),
            ..
        } => platform::rebuild(&config, &name).await,
        Command::Migrate => {
            let pool = platform::connect_db(&config).await?;
            store::MIGRATOR
                .run(&pool)
                .await
                .context("running migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Verify { stream },
        } => platform::audit_verify(&config, stream.as_deref()).await,
        Command::Admin { action } => admin::run(&config, action).await,
        Command::Invoice {
            business,
            period,
            format,
        } => billing::invoice(&config, &business, &period, format).await,
        Command::Billing { action } => billing::run(&config, action).await,
        Command::Bench { which } => bench::run(&config, which).await,
        Command::Drill {
            name,
            shape,
            down_seconds,
        } => {
            load_cmd::drill(
                &config,
                &name,
                &shape,
                std::time::Duration::from_secs(down_seconds),
            )
            .await
        }
        Command::Verify { what } => verify::run(&config, what).await,
    }
}
