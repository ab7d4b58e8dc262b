//! The auditors' API (DESIGN.md §9, §10): `GET /api/v1/audit/calls` and
//! `GET /api/v1/audit/streams/{stream_id}` — every event of a call's streams, or of one stream, exactly as
//! stored (no upcasting), with its metadata and hashes, and whether a stream's hash chain verifies.
//!
//! Everything is read from the event store itself, never from a projection: the calls of a window are the
//! `call-*` streams whose first event was recorded in it (`EventStore::call_starts`, an index on the events
//! table), so a call is listed the moment its first event commits and no projector can hide one.
//!
//! Who may read: a platform **auditor** reads every tenant; an **owner or admin** of a business reads that
//! business only (another tenant's business or stream is 404, as everywhere else); anyone else gets 403 —
//! platform admins and finance too, unless they also hold the auditor role. The role is read from the
//! user's stream on every request, not from the token, so a revoked role stops working at once.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use domain::tenancy::Permission;
use events::StoredEvent;
use events::call::{call_stream, usage_stream};
use serde::Deserialize;
use serde_json::{Value, json};
use store::audit::{CallStart, CallWindow};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::tenancy::access::{Tenant, access, access_by_id, is_auditor};
use crate::tenancy::auth::AuthUser;
use crate::tenancy::read;
use crate::{ApiError, AppState};

/// Calls per page: default and ceiling (each call carries every event of two streams).
const CALLS_DEFAULT: u32 = 100;
const CALLS_MAX: u32 = 500;
/// Events per page of one stream: default and ceiling.
const EVENTS_DEFAULT: u32 = 1_000;
const EVENTS_MAX: u32 = 5_000;

/// The audit routes, with their `OpenAPI` operations.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calls))
        .routes(routes!(stream))
}

fn audit_forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "the audit trail is for auditors, and for owners and admins of their own business",
    )
}

/// Whether `user` is an owner or admin of any business (read model: who gets 404 rather than 403).
async fn manages_any(state: &AppState, user: &AuthUser) -> Result<bool, ApiError> {
    Ok(read::memberships_of(state.store().pool(), user.user_id)
        .await?
        .iter()
        .any(|m| m.role == "owner" || m.role == "admin"))
}

/// An owner or admin reading their own business's trail. Not a member: 404 for someone who manages some
/// business (as for any other tenant's data), 403 for someone who manages none.
async fn owner_access(
    state: &AppState,
    user: &AuthUser,
    business: Result<Uuid, &str>,
) -> Result<Tenant, ApiError> {
    const WHAT: &str = "reading the audit trail (owners and admins only)";
    let result = match business {
        Ok(id) => access_by_id(state, user, id, Permission::Audit, WHAT).await,
        Err(slug) => access(state, user, slug, Permission::Audit, WHAT).await,
    };
    match result {
        Err(e) if e.status == StatusCode::NOT_FOUND && !manages_any(state, user).await? => {
            Err(audit_forbidden())
        }
        other => other,
    }
}

/// The window and page of `GET /audit/calls`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CallsQuery {
    /// A business slug; omitted: every business (auditors only).
    business: Option<String>,
    /// Inclusive start: RFC 3339, or `YYYY-MM-DD` (that day's 00:00 UTC).
    from: Option<String>,
    /// Exclusive end: RFC 3339, or `YYYY-MM-DD` (that whole day included: up to the next day's 00:00 UTC).
    to: Option<String>,
    /// Calls per page, 1–500 (default 100; larger values are capped at 500).
    limit: Option<u32>,
    /// `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
}

/// `from`/`to` as an instant: RFC 3339, or a date (UTC midnight; `end` moves a date to the next day).
fn bound(text: Option<&str>, end: bool) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        ApiError::validation(
            "invalid_range",
            format!("{text:?} is neither RFC 3339 nor YYYY-MM-DD"),
        )
    })?;
    let date = if end {
        date.checked_add_signed(TimeDelta::days(1))
            .ok_or_else(|| ApiError::validation("invalid_range", "date out of range"))?
    } else {
        date
    };
    Ok(Some(date.and_time(NaiveTime::MIN).and_utc()))
}

/// The cursor is `<recorded_at in µs since the epoch>_<global position>` of the page's last call.
fn encode_cursor(call: &CallStart) -> String {
    format!(
        "{}_{}",
        call.recorded_at.timestamp_micros(),
        call.global_position
    )
}

fn decode_cursor(text: &str) -> Result<(DateTime<Utc>, i64), ApiError> {
    let bad = || ApiError::validation("invalid_cursor", "not a cursor this endpoint returned");
    let (micros, position) = text.split_once('_').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, position.parse().map_err(|_| bad())?))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// One stored event as auditors see it: envelope, metadata, hashes and the payload as written.
fn event_json(e: &StoredEvent) -> Value {
    let m = &e.metadata;
    json!({
        "stream_id": e.stream_id, "version": e.stream_version, "global_position": e.global_position,
        "event_id": e.event_id, "type": e.event_type, "schema_version": e.schema_version,
        "tenant_id": e.tenant_id, "occurred_at": e.data.get("occurred_at"), "recorded_at": e.recorded_at,
        "actor": m.actor, "correlation_id": m.correlation_id, "causation_id": m.causation_id,
        "command_id": m.command_id, "traceparent": m.traceparent,
        "prev_hash": hex(&e.prev_hash), "hash": hex(&e.hash), "data": e.data,
    })
}

#[utoipa::path(get, path = "/api/v1/audit/calls", tag = "audit", params(CallsQuery),
    description = "Calls whose `call-<id>` stream began (first event recorded) in `[from, to)`, oldest first, \
        each with every event of its call stream and its usage stream exactly as stored: stream, version, \
        global position, type, occurred/recorded times, actor, correlation and causation ids, hash and \
        prev_hash, data. Found from the events table itself, not the call log projection. Paginated: pass \
        `next_cursor` back as `cursor` until it is null. Auditors read every business (omit `business` for \
        all); an owner or admin must name their own business.",
    responses((status = 200, description = "{calls: [{call_id, business: {id, slug}, first_recorded_at, \
            call_events: […], usage_events: […]}], next_cursor}"),
        (status = 403, description = "neither an auditor nor an owner or admin of the business"),
        (status = 404, description = "unknown business, or another tenant's"),
        (status = 422, description = "invalid from, to or cursor")))]
async fn calls(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<CallsQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let auditor = is_auditor(&state, &user).await?;
    let tenant = match (q.business.as_deref(), auditor) {
        (Some(slug), true) => Some(
            read::business_id_by_slug(store.pool(), slug)
                .await?
                .ok_or_else(|| ApiError::not_found("business"))?,
        ),
        (None, true) => None,
        (Some(slug), false) => Some(owner_access(&state, &user, Err(slug)).await?.business_id),
        (None, false) => return Err(audit_forbidden()),
    };
    let window = CallWindow {
        tenant,
        from: bound(q.from.as_deref(), false)?,
        to: bound(q.to.as_deref(), true)?,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?,
    };
    let limit = q.limit.unwrap_or(CALLS_DEFAULT).clamp(1, CALLS_MAX);
    let mut page = store.call_starts(window, i64::from(limit) + 1).await?;
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let streams: Vec<String> = page
        .iter()
        .flat_map(|c| [call_stream(&c.call_id), usage_stream(&c.call_id)])
        .collect();
    let mut by_stream: HashMap<String, Vec<Value>> = HashMap::new();
    for event in store.read_streams_as_stored(&streams).await? {
        by_stream
            .entry(event.stream_id.clone())
            .or_default()
            .push(event_json(&event));
    }
    let mut slugs: HashMap<Uuid, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(page.len());
    for call in &page {
        let slug = match call.tenant_id {
            Some(id) if !slugs.contains_key(&id) => {
                let slug = read::business(store.pool(), id).await?.map(|b| b.slug);
                slugs.insert(id, slug.clone());
                slug
            }
            Some(id) => slugs.get(&id).cloned().flatten(),
            None => None,
        };
        out.push(json!({
            "call_id": call.call_id,
            "business": {"id": call.tenant_id, "slug": slug},
            "first_recorded_at": call.recorded_at,
            "call_events": by_stream.remove(&call_stream(&call.call_id)).unwrap_or_default(),
            "usage_events": by_stream.remove(&usage_stream(&call.call_id)).unwrap_or_default(),
        }));
    }
    let next_cursor = if more {
        page.last().map(encode_cursor)
    } else {
        None
    };
    Ok(Json(json!({"calls": out, "next_cursor": next_cursor})))
}

/// A page of one stream.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// Events with a greater version (default 0: from the start).
    after_version: Option<i64>,
    /// Events per page, 1–5000 (default 1000; larger values are capped).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit/streams/{stream_id}", tag = "audit",
    params(("stream_id" = String, Path, description = "e.g. `call-<vapi call id>`, `usage-<vapi call id>`, \
        `business-<uuid>`, `booking-<uuid>`"), StreamQuery),
    description = "Every event of one stream exactly as stored, with metadata and hashes, and whether the \
        whole stream's hash chain verifies (recomputed now from the stored rows). Paginated by version: pass \
        `next_after_version` back as `after_version` until it is null. Auditors read every stream; an owner \
        or admin only streams of their own business.",
    responses((status = 200, description = "{stream_id, tenant_id, version, events: […], next_after_version, \
            chain: {verified, events, broken: [{stream_version, event_id, problem}]}}"),
        (status = 403, description = "neither an auditor nor an owner or admin of a business"),
        (status = 404, description = "unknown stream, or one that is not of the caller's business")))]
async fn stream(
    State(state): State<AppState>,
    user: AuthUser,
    Path(stream_id): Path<String>,
    Query(q): Query<StreamQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let not_found = || ApiError::not_found("stream");
    let auditor = is_auditor(&state, &user).await?;
    if !auditor && !manages_any(&state, &user).await? {
        return Err(audit_forbidden());
    }
    let (tenant, version) = store.stream_head(&stream_id).await?.ok_or_else(not_found)?;
    if !auditor {
        // Streams without a tenant (users, pool numbers) are platform data: auditors only.
        let tenant = tenant.ok_or_else(not_found)?;
        owner_access(&state, &user, Ok(tenant)).await.map_err(|e| {
            if e.status == StatusCode::NOT_FOUND {
                not_found()
            } else {
                e
            }
        })?;
    }
    let limit = q.limit.unwrap_or(EVENTS_DEFAULT).clamp(1, EVENTS_MAX);
    let after = q.after_version.unwrap_or(0).max(0);
    let events = store
        .read_stream_as_stored(&stream_id, after, i64::from(limit))
        .await?;
    if !auditor && events.iter().any(|e| e.tenant_id != tenant) {
        return Err(not_found());
    }
    let next_after_version = events
        .last()
        .map(|e| e.stream_version)
        .filter(|v| *v < version);
    let report = store.verify_chains(Some(&stream_id)).await?;
    Ok(Json(json!({
        "stream_id": stream_id,
        "tenant_id": tenant,
        "version": version,
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
        "next_after_version": next_after_version,
        "chain": {"verified": report.is_clean(), "events": report.events, "broken": report.broken},
    })))
}
