//! The HTTP side of VoiceAppoint: the Vapi webhook, the REST API and the ops endpoints, on axum.

pub mod audit;
pub mod billing;
pub mod booking;
pub mod cache;
pub mod dashboard;
pub mod error;
pub mod json;
pub mod ops;
pub mod server;
pub mod tenancy;
pub mod testkit;
pub mod vapi_client;
pub mod web;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use store::EventStore;
use store::bus::BusConfig;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

pub use error::ApiError;

/// Request bodies larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request not answered within this long (body reading included) is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: EventStore,
    nats: Option<async_nats::Client>,
    metrics: PrometheusHandle,
    tenancy: tenancy::TenancyState,
    /// Business aggregates by stream version, for the access check of every request.
    businesses: cache::VersionedCache<domain::tenancy::Business>,
    /// Booking catalogs by catalog revision.
    catalogs: cache::VersionedCache<booking::BusinessCatalog>,
    /// What `assistant-request` answers from, by catalog revision.
    assistants: cache::VersionedCache<webhook::assistant::AssistantCatalog>,
    /// Call states this process last wrote (the first guess of the next message of the call).
    calls: webhook::lifecycle::CallCache,
    webhook: webhook::WebhookConfig,
    /// The subjects the relay publishes on (live feeds subscribe to them).
    bus: BusConfig,
    /// Cancelled when the server starts shutting down, so long-lived responses (live feeds) end and the
    /// graceful shutdown does not wait for them forever.
    closing: CancellationToken,
}

impl AppState {
    /// State for an installation on the default bus names (`va.events.…`).
    pub fn new(store: EventStore, nats: Option<async_nats::Client>) -> Self {
        Self::with_bus(store, nats, BusConfig::default())
    }

    /// State whose live feeds follow the relay publishing on `bus`.
    pub fn with_bus(store: EventStore, nats: Option<async_nats::Client>, bus: BusConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                nats,
                metrics: ops::metrics_handle(),
                tenancy: tenancy::TenancyState::from_env(),
                businesses: cache::VersionedCache::default(),
                catalogs: cache::VersionedCache::default(),
                assistants: cache::VersionedCache::default(),
                calls: webhook::lifecycle::call_cache(),
                webhook: webhook::WebhookConfig::from_env(),
                bus,
                closing: CancellationToken::new(),
            }),
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub fn nats(&self) -> Option<&async_nats::Client> {
        self.inner.nats.as_ref()
    }

    pub fn tenancy(&self) -> &tenancy::TenancyState {
        &self.inner.tenancy
    }

    pub fn businesses(&self) -> &cache::VersionedCache<domain::tenancy::Business> {
        &self.inner.businesses
    }

    pub fn catalogs(&self) -> &cache::VersionedCache<booking::BusinessCatalog> {
        &self.inner.catalogs
    }

    pub fn assistants(&self) -> &cache::VersionedCache<webhook::assistant::AssistantCatalog> {
        &self.inner.assistants
    }

    pub fn calls(&self) -> &webhook::lifecycle::CallCache {
        &self.inner.calls
    }

    pub fn webhook(&self) -> &webhook::WebhookConfig {
        &self.inner.webhook
    }

    pub fn bus(&self) -> &BusConfig {
        &self.inner.bus
    }

    /// Cancelled once the server begins its graceful shutdown.
    pub fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::routes())
        .merge(tenancy::openapi::routes())
        .merge(web::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        // A 5xx is logged at WARN, not ERROR: under overload the request timeout answers 503 by design, and
        // an error line per shed request would bury real errors. Handlers log their own failures.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown`, then finishes in-flight requests (see [`server`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let directory = Arc::clone(&state.tenancy().directory);
    tokio::spawn({
        let (pool, shutdown) = (state.store().pool().clone(), shutdown.clone());
        async move { directory.keep_fresh(pool, shutdown).await }
    });
    tokio::spawn({
        let (closing, shutdown) = (state.closing().clone(), shutdown.clone());
        async move {
            shutdown.cancelled().await;
            closing.cancel();
        }
    });
    server::run(listener, router(state), shutdown).await
}
