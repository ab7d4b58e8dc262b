//! The HTTP side of VoiceAppoint: the Vapi webhook, the REST API and the ops endpoints, on axum.

pub mod audit;
pub mod booking;
pub mod error;
pub mod json;
pub mod ops;
pub mod tenancy;
pub mod testkit;
pub mod vapi_client;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use store::EventStore;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// Request bodies larger than this are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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
    webhook: webhook::WebhookConfig,
}

impl AppState {
    pub fn new(store: EventStore, nats: Option<async_nats::Client>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                nats,
                metrics: ops::metrics_handle(),
                tenancy: tenancy::TenancyState::from_env(),
                webhook: webhook::WebhookConfig::from_env(),
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

    pub fn webhook(&self) -> &webhook::WebhookConfig {
        &self.inner.webhook
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::routes())
        .merge(tenancy::openapi::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(15),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown`, then finishes in-flight requests.
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
