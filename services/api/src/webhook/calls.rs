//! The call log API: `GET /api/v1/businesses/{slug}/calls?from&to` and `GET /api/v1/calls/{id}` —
//! caller, times, duration, status, ended reason, tool invocations with outcomes, the appointment booked,
//! transcript, summary and cost. Read from the `call_log` read model under the tenant's RLS context.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use domain::tenancy::Permission;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::tenancy::access::access;
use crate::tenancy::auth::AuthUser;
use crate::tenancy::read;
use crate::{ApiError, AppState};

/// The call log routes, with their `OpenAPI` operations.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
}

/// Calls first seen in `[from, to)` (either bound optional).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Range {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

const SUMMARY: &str = "call_id, caller, status, started_at, ended_at, duration_ms, ended_reason, \
    cost_micros, appointment_id, tool_calls, first_seen_at";

fn summary_json(r: &sqlx::postgres::PgRow) -> Value {
    json!({
        "id": r.get::<String, _>("call_id"),
        "caller": r.get::<Option<String>, _>("caller"),
        "status": r.get::<String, _>("status"),
        "started_at": r.get::<Option<DateTime<Utc>>, _>("started_at"),
        "ended_at": r.get::<Option<DateTime<Utc>>, _>("ended_at"),
        "duration_seconds": r.get::<Option<i64>, _>("duration_ms").map(seconds),
        "ended_reason": r.get::<Option<String>, _>("ended_reason"),
        "cost_micros": r.get::<Option<i64>, _>("cost_micros"),
        "appointment_id": r.get::<Option<Uuid>, _>("appointment_id"),
        "tool_calls": r.get::<i32, _>("tool_calls"),
    })
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/calls", tag = "calls",
    params(("slug" = String, Path, description = "business slug"), Range),
    responses((status = 200, description = "calls: […], newest first, at most 500")))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    Query(range): Query<Range>,
) -> Result<Json<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "calls").await?;
    let mut tx = read::tenant_tx(state.store().pool(), tenant.business_id).await?;
    let rows = sqlx::query(&format!(
        "select {SUMMARY} from call_log where tenant_id = $1 \
           and ($2::timestamptz is null or first_seen_at >= $2) and ($3::timestamptz is null or first_seen_at < $3) \
         order by first_seen_at desc limit 500"
    ))
    .bind(tenant.business_id)
    .bind(range.from)
    .bind(range.to)
    .fetch_all(&mut *tx)
    .await?;
    Ok(Json(
        json!({"calls": rows.iter().map(summary_json).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Vapi call id")),
    responses((status = 200, description = "the call with transcript and tool invocations"),
        (status = 404, description = "unknown or another business's")))]
async fn detail(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::not_found("call");
    let pool = state.store().pool();
    // Which business the call belongs to (platform context), then the member check on that business.
    let mut tx = pool.begin().await?;
    read::platform_context(&mut tx).await?;
    let tenant_id: Uuid = sqlx::query_scalar("select tenant_id from call_log where call_id = $1")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(not_found)?;
    drop(tx);
    let business = read::business(pool, tenant_id)
        .await?
        .ok_or_else(not_found)?;
    access(&state, &user, &business.slug, Permission::View, "calls")
        .await
        .map_err(|_| not_found())?;

    let mut tx = read::tenant_tx(pool, tenant_id).await?;
    let row = sqlx::query(&format!("select {SUMMARY}, summary, transcript, recording_url, phone_number_id from call_log where call_id = $1"))
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    let tools = sqlx::query(
        "select tool_call_id, name, arguments, outcome, result, latency_ms, appointment_id, occurred_at \
         from call_tool_invocations where call_id = $1 order by position",
    )
    .bind(&id)
    .fetch_all(&mut *tx)
    .await?;
    let lines = sqlx::query("select role, text, occurred_at from call_transcript_lines where call_id = $1 order by position")
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?;
    let mut body = summary_json(&row);
    body["business"] =
        json!({"id": business.id, "slug": business.slug, "timezone": business.timezone});
    body["summary"] = json!(row.get::<Option<String>, _>("summary"));
    body["transcript"] = json!(row.get::<Option<String>, _>("transcript"));
    body["recording_url"] = json!(row.get::<Option<String>, _>("recording_url"));
    body["transcript_lines"] = lines
        .iter()
        .map(|l| {
            json!({"role": l.get::<String, _>("role"), "text": l.get::<String, _>("text"),
                        "at": l.get::<DateTime<Utc>, _>("occurred_at")})
        })
        .collect();
    body["tool_invocations"] = tools
        .iter()
        .map(|t| {
            json!({"tool_call_id": t.get::<String, _>("tool_call_id"), "name": t.get::<String, _>("name"),
                   "arguments": t.get::<Value, _>("arguments"), "outcome": t.get::<String, _>("outcome"),
                   "result": t.get::<String, _>("result"), "latency_ms": t.get::<i64, _>("latency_ms"),
                   "appointment_id": t.get::<Option<Uuid>, _>("appointment_id"),
                   "at": t.get::<DateTime<Utc>, _>("occurred_at")})
        })
        .collect();
    Ok(Json(body))
}

/// Milliseconds as fractional seconds (call durations are far below 2^52 ms).
#[expect(
    clippy::cast_precision_loss,
    reason = "durations stay far below 2^52 ms"
)]
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}
