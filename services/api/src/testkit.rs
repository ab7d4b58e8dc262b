//! Test support shared by every crate's tests: the whole platform (API + relay + every projector) on a
//! fresh database (from `#[sqlx::test]`), real NATS with a unique stream, the API on `127.0.0.1:0`.
#![allow(
    clippy::expect_used,
    reason = "test support: a failed setup is a failed test"
)]

use std::net::SocketAddr;
use std::time::Duration;

use sqlx::PgPool;
use store::EventStore;
use store::bus::BusConfig;
use store::relay::{Relay, RelayConfig};
use tokio_util::sync::CancellationToken;

use crate::AppState;

/// A running platform for one test. Everything stops when it is dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: EventStore,
    pub bus: BusConfig,
    pub nats: async_nats::Client,
    /// The API's state (shared with the running server).
    pub state: AppState,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// NATS for tests: `NATS_URL`, default the local server.
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

impl TestApp {
    /// Starts API + relay + all projectors on `pool` (already migrated by `#[sqlx::test]`).
    pub async fn spawn(pool: PgPool) -> Self {
        let store = EventStore::open(pool).await.expect("open store");
        let nats = store::bus::connect(&nats_url())
            .await
            .expect("connect nats");
        let js = store::bus::jetstream(nats.clone());
        let bus = BusConfig::unique("t");
        let shutdown = CancellationToken::new();

        let relay = Relay::new(
            store.clone(),
            js.clone(),
            bus.clone(),
            RelayConfig::default(),
        );
        tokio::spawn(relay.run(shutdown.clone()));
        // As `voiceappoint dev` and `serve` run them: every projector through one consumer.
        let runner = projections::ProjectorRunner::group(
            store.clone(),
            js.clone(),
            bus.clone(),
            projections::all(),
            projections::RunnerConfig::default(),
        );
        tokio::spawn(runner.run(shutdown.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = AppState::with_bus(store.clone(), Some(nats.clone()), bus.clone());
        tokio::spawn(crate::serve(listener, state.clone(), shutdown.clone()));
        Self {
            addr,
            store,
            bus,
            nats,
            state,
            shutdown,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until every projector has applied everything the feed holds now (panics after 10 s).
    pub async fn wait_for_projections(&self) {
        // Everything committed, not `feed_head`: that one can lag under parallel tests (xmin is cluster-wide).
        let head = self.store.committed_head().await.expect("newest event");
        let names: Vec<&str> = projections::all().iter().map(|p| p.name()).collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut behind = Vec::new();
            for name in &names {
                let cp = projections::runtime::load_checkpoint(self.store.pool(), name)
                    .await
                    .expect("checkpoint");
                if cp.position < head {
                    behind.push(*name);
                }
            }
            if behind.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "projectors still behind after 10 s: {behind:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
