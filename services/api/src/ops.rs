//! Ops endpoints: liveness, readiness (Postgres, NATS, projector lag) and Prometheus metrics.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use sqlx::Row;

use crate::AppState;

/// A projector more than this far behind the newest event makes the service not ready.
const MAX_READY_LAG: Duration = Duration::from_secs(30);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process-wide Prometheus recorder (installed once, shared by every app in the process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let postgres = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("select 1").execute(state.store().pool()),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let nats = state
        .nats()
        .is_some_and(|c| c.connection_state() == async_nats::connection::State::Connected);
    let projectors = if postgres {
        projector_lag(&state).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let lagging = projectors
        .iter()
        .any(|p| p["behind_seconds"].as_f64().unwrap_or(0.0) > MAX_READY_LAG.as_secs_f64());
    let ready = postgres && nats && !lagging;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "postgres": postgres,
            "nats": nats,
            "projectors": projectors,
        })),
    )
}

/// Per projector: events behind the store's head and how old the oldest unapplied event is.
async fn projector_lag(state: &AppState) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let rows = sqlx::query(
        "select c.projector, \
           (select count(*) from events e where e.global_position > c.global_position) as behind, \
           coalesce(extract(epoch from now() - (select min(e.recorded_at) from events e \
              where e.global_position > c.global_position)), 0)::float8 as behind_seconds \
         from projector_checkpoints c where c.projector not like '%\\_\\_rebuild' order by 1",
    )
    .fetch_all(state.store().pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            json!({
                "name": r.get::<String, _>("projector"),
                "behind_events": r.get::<i64, _>("behind"),
                "behind_seconds": r.get::<f64, _>("behind_seconds"),
            })
        })
        .collect())
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.inner.metrics.render(),
    )
}
