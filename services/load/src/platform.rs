//! The platform in one process (API + relay + every projector) with each background role as its own task,
//! so a drill can kill one at a random moment (abort: no graceful shutdown, like `kill -9`) and start it
//! again, as a supervisor would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use api::AppState;
use store::EventStore;
use store::bus::BusConfig;
use store::relay::{Relay, RelayConfig};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The name drills use for the relay beside the projectors' own names.
pub const RELAY: &str = "relay";

/// A running platform. Everything stops when it is dropped.
pub struct Platform {
    pub addr: SocketAddr,
    pub store: EventStore,
    pub bus: BusConfig,
    pub state: AppState,
    js: async_nats::jetstream::Context,
    shutdown: CancellationToken,
    /// Relay and projectors by name; each can be killed and restarted.
    workers: BTreeMap<&'static str, JoinHandle<()>>,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for handle in self.workers.values() {
            handle.abort();
        }
    }
}

impl Platform {
    /// Starts everything on `store` (already migrated) and the NATS at `nats_url`, on a bus of its own.
    /// The per-tenant rate limit is lifted: a load run measures the platform, not the limiter.
    pub async fn start(store: EventStore, nats_url: &str) -> anyhow::Result<Self> {
        let nats = store::bus::connect(nats_url)
            .await
            .context("connecting to NATS")?;
        let js = store::bus::jetstream(nats.clone());
        let bus = BusConfig::unique("load");
        let shutdown = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = AppState::with_bus(store.clone(), Some(nats), bus.clone())
            // The load generator measures the platform, not the per-business budgets (racing callers
            // deliberately crowd a few businesses).
            .with_tenant_rate_limit(api::tenancy::RateLimit::UNLIMITED)
            .with_tool_rate_limit(api::tenancy::RateLimit::UNLIMITED);
        tokio::spawn({
            let (state, shutdown) = (state.clone(), shutdown.clone());
            async move {
                if let Err(err) = api::serve(listener, state, shutdown).await {
                    tracing::error!(error = %err, "load platform: http server stopped");
                }
            }
        });
        let mut platform = Self {
            addr,
            store,
            bus,
            state,
            js,
            shutdown,
            workers: BTreeMap::new(),
        };
        for name in Self::worker_names() {
            platform.restart(name);
        }
        Ok(platform)
    }

    /// `relay` and every projector's name.
    pub fn worker_names() -> Vec<&'static str> {
        std::iter::once(RELAY)
            .chain(projections::all().iter().map(|p| p.name()))
            .collect()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Aborts a worker mid-flight (its transaction, if any, is rolled back when the connection drops).
    pub fn kill(&mut self, name: &str) {
        if let Some(handle) = self.workers.remove(name) {
            handle.abort();
        }
    }

    /// Starts `name` (killing a running one first).
    pub fn restart(&mut self, name: &'static str) {
        self.kill(name);
        let token = self.shutdown.child_token();
        let (store, js, bus) = (self.store.clone(), self.js.clone(), self.bus.clone());
        // Supervised like systemd's `Restart=always`: a role that gives up (e.g. the relay losing its
        // leader connection when Postgres restarts) is started again after a second.
        let handle = tokio::spawn(async move {
            while !token.is_cancelled() {
                let result = if name == RELAY {
                    Relay::new(
                        store.clone(),
                        js.clone(),
                        bus.clone(),
                        RelayConfig::default(),
                    )
                    .run(token.clone())
                    .await
                    .map_err(anyhow::Error::from)
                } else if let Some(projector) = projections::by_name(name) {
                    projections::ProjectorRunner::new(
                        store.clone(),
                        js.clone(),
                        bus.clone(),
                        projector,
                        projections::RunnerConfig::default(),
                    )
                    .run(token.clone())
                    .await
                    .map_err(anyhow::Error::from)
                } else {
                    return;
                };
                if let Err(err) = result {
                    tracing::warn!(worker = name, error = %err, "load platform: worker stopped; restarting");
                }
                tokio::select! {
                    () = token.cancelled() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        self.workers.insert(name, handle);
    }

    /// Waits until every projector has applied everything committed now; `Err` names the laggards.
    pub async fn wait_caught_up(&self, timeout: Duration) -> anyhow::Result<()> {
        wait_caught_up(&self.store, timeout).await
    }

    /// Stops everything gracefully.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

/// Every projector's checkpoint against the newest committed event, until all are there or `timeout`.
pub async fn wait_caught_up(store: &EventStore, timeout: Duration) -> anyhow::Result<()> {
    let head = store.committed_head().await?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut behind = Vec::new();
        for p in projections::all() {
            let cp = projections::runtime::load_checkpoint(store.pool(), p.name()).await?;
            if cp.position < head {
                behind.push(p.name());
            }
        }
        if behind.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "projectors still behind after {} s: {behind:?}",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Projection lag now: the largest number of events any projector is behind the newest committed event.
pub async fn events_behind(store: &EventStore) -> anyhow::Result<(store::FeedPosition, i64)> {
    let head = store.committed_head().await?;
    let mut worst = 0_i64;
    for p in projections::all() {
        let cp = projections::runtime::load_checkpoint(store.pool(), p.name()).await?;
        if cp.position < head {
            worst = worst.max(head.global_position - cp.position.global_position);
        }
    }
    Ok((head, worst))
}

/// Shared so traffic tasks can read it while a drill restarts workers.
pub type SharedPlatform = Arc<tokio::sync::Mutex<Platform>>;

impl Platform {
    /// Whether `name` has a task (killed workers have none until restarted).
    pub fn is_running(&self, name: &str) -> bool {
        self.workers.get(name).is_some_and(|h| !h.is_finished())
    }
}
