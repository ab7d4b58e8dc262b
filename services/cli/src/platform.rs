//! Wiring the roles together: connect, then run the API, the relay and the projectors until a signal.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::{Context, bail};
use sqlx::PgPool;
use store::EventStore;
use store::relay::{Relay, RelayConfig};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Writes a line to stdout (the CLI's output, as opposed to logs on stderr).
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// A pool with the timeouts DESIGN.md §3 asks of application roles: a stuck transaction must not stall
/// the feed for long (lag, never loss).
pub async fn connect_db(config: &Config) -> anyhow::Result<PgPool> {
    let options = store::pool::connect_options(&config.database_url)
        .context("DATABASE_URL is not a valid Postgres URL")?;
    store::pool::pool_options()
        .connect_with(options)
        .await
        .context("connecting to Postgres (DATABASE_URL)")
}

pub async fn open_store(config: &Config) -> anyhow::Result<EventStore> {
    let pool = connect_db(config).await?;
    EventStore::open(pool)
        .await
        .context("opening the event store (did you run `voiceappoint migrate`?)")
}

pub async fn connect_nats(config: &Config) -> anyhow::Result<async_nats::Client> {
    store::bus::connect(&config.nats_url)
        .await
        .context("connecting to NATS (NATS_URL)")
}

/// Which projectors a process runs.
#[derive(Debug, Clone, Copy)]
pub enum Projectors<'a> {
    None,
    All,
    One(&'a str),
}

/// Which roles one process runs.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    pub api: bool,
    pub relay: bool,
    pub projectors: Projectors<'a>,
}

/// Cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        t.cancel();
    });
    token
}

/// Runs the chosen roles until `shutdown`; a role that fails for good stops the process.
pub async fn run_roles(
    config: &Config,
    roles: Roles<'_>,
    shutdown: CancellationToken,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let nats = connect_nats(config).await?;
    let js = store::bus::jetstream(nats.clone());
    let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();

    if roles.relay {
        let relay = Relay::new(
            store.clone(),
            js.clone(),
            config.bus.clone(),
            RelayConfig::default(),
        );
        let token = shutdown.clone();
        tasks.spawn(async move { relay.run(token).await.context("relay") });
    }
    if !matches!(roles.projectors, Projectors::None) {
        let selected: Vec<Arc<dyn projections::Projector>> = match roles.projectors {
            Projectors::One(name) => vec![
                projections::by_name(name).with_context(|| format!("no projector named {name}"))?,
            ],
            Projectors::All | Projectors::None => projections::all(),
        };
        // One runner, one consumer for every projector of this process (see `ProjectorRunner`).
        let runner = projections::ProjectorRunner::group(
            store.clone(),
            js.clone(),
            config.bus.clone(),
            selected,
            projections::RunnerConfig::default(),
        );
        let token = shutdown.clone();
        tasks.spawn(async move { runner.run(token).await.context("projector") });
    }
    if roles.api {
        let listener = tokio::net::TcpListener::bind(&config.http_addr)
            .await
            .with_context(|| format!("binding {}", config.http_addr))?;
        on_listening(listener.local_addr()?);
        let state = api::AppState::with_bus(store.clone(), Some(nats.clone()), config.bus.clone());
        let token = shutdown.clone();
        tasks.spawn(async move {
            api::serve(listener, state, token)
                .await
                .context("http server")
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                shutdown.cancel();
                return Err(err);
            }
            Err(join) => {
                shutdown.cancel();
                bail!("a task panicked: {join}");
            }
        }
    }
    Ok(())
}

pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let roles = Roles {
        api: true,
        relay: false,
        projectors: Projectors::None,
    };
    run_roles(config, roles, shutdown_on_signal(), |addr| {
        tracing::info!(%addr, "API listening");
    })
    .await
}

pub async fn relay(config: &Config) -> anyhow::Result<()> {
    let roles = Roles {
        api: false,
        relay: true,
        projectors: Projectors::None,
    };
    run_roles(config, roles, shutdown_on_signal(), |_| {}).await
}

pub async fn project(config: &Config, name: Option<&str>) -> anyhow::Result<()> {
    let roles = Roles {
        api: false,
        relay: false,
        projectors: name.map_or(Projectors::All, Projectors::One),
    };
    run_roles(config, roles, shutdown_on_signal(), |_| {}).await
}

pub async fn rebuild(config: &Config, name: &str) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let projector =
        projections::by_name(name).with_context(|| format!("no projector named {name}"))?;
    let report = projections::rebuild::rebuild(&store, projector.as_ref()).await?;
    out(&format!(
        "rebuilt {name}: {} events applied, now at position {}",
        report.events_applied, report.position.global_position
    ));
    Ok(())
}

pub async fn audit_verify(config: &Config, stream: Option<&str>) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let report = store.verify_chains(stream).await?;
    for broken in &report.broken {
        out(&format!(
            "BROKEN stream {} at version {} (event {}): {}",
            broken.stream_id,
            broken.stream_version,
            broken
                .event_id
                .map_or_else(|| "-".to_owned(), |id| id.to_string()),
            broken.problem
        ));
    }
    out(&format!(
        "verified {} streams, {} events: {}",
        report.streams,
        report.events,
        if report.is_clean() { "ok" } else { "TAMPERED" }
    ));
    if !report.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}

/// Opens the store after applying migrations.
pub async fn open_store_migrated(config: &Config) -> anyhow::Result<EventStore> {
    let pool = connect_db(config).await?;
    store::MIGRATOR
        .run(&pool)
        .await
        .context("running migrations")?;
    EventStore::open(pool)
        .await
        .context("opening the event store")
}
