//! The booking endpoints of DESIGN.md §9: availability, holds, appointments (with `Idempotency-Key`),
//! listing, cancel and reschedule. Handlers parse, check access, load the catalog and call the service.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use domain::booking::Booking;
use domain::scheduling::parse_local_or_rfc3339;
use domain::tenancy::Permission;
use events::booking::booking_stream;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::reply::local_rfc3339;
use super::{
    BookRequest, BookingService, BusinessCatalog, ClientInput, CommandContext, HoldRequest, Reply,
    RescheduleRequest, catalog,
};
use crate::json::ApiJson;
use crate::tenancy::access::{Tenant, access, access_by_id};
use crate::tenancy::auth::AuthUser;
use crate::tenancy::{metadata, read};
use crate::{ApiError, AppState};

/// Every booking route, with its `OpenAPI` operation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(availability))
        .routes(routes!(hold))
        .routes(routes!(book, list))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
}

/// Members of any role, and platform auditors, may look.
async fn viewer(state: &AppState, user: &AuthUser, slug: &str) -> Result<Tenant, ApiError> {
    access(state, user, slug, Permission::View, "appointments").await
}

/// Members of any role may book (staff answer phones too); a read-only auditor may not (403).
async fn booker(state: &AppState, user: &AuthUser, slug: &str) -> Result<Tenant, ApiError> {
    access(state, user, slug, Permission::Book, "booking appointments").await
}

fn context(tenant: &Tenant, headers: &HeaderMap) -> Result<CommandContext, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => {
            let key = value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key must be 1–255 visible characters")
                })?;
            Some(key.to_owned())
        }
    };
    Ok(CommandContext {
        idempotency_key: key,
        metadata: metadata(tenant.user.user_id),
    })
}

fn instant(text: &str, catalog: &BusinessCatalog) -> Result<DateTime<Utc>, ApiError> {
    parse_local_or_rfc3339(text, catalog.timezone)
        .map_err(|e| ApiError::validation("invalid_start", e.to_string()))
}

/// Free slots for a service from `date`, over `days` days (default 1), optionally for one staff member.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AvailabilityQuery {
    service_id: Uuid,
    date: NaiveDate,
    staff_id: Option<Uuid>,
    days: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/availability", tag = "booking",
    params(("slug" = String, Path, description = "business slug"), AvailabilityQuery),
    responses((status = 200, description = "timezone, service_id and days: [{date, slots: [{start, end, staff_ids}]}]"),
        (status = 404, description = "unknown business or service"), (status = 422, description = "invalid query")))]
async fn availability(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    Query(q): Query<AvailabilityQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = viewer(&state, &user, &slug).await?;
    let catalog = catalog::of_tenant(&state, &tenant).await?;
    let days = q.days.unwrap_or(1);
    let slots = BookingService::new(state.store().clone())
        .slots(&catalog, q.service_id, q.staff_id, q.date, days)
        .await?;
    let tz = catalog.timezone;
    let days: Vec<Value> = (0..days)
        .map(|offset| q.date + TimeDelta::days(i64::from(offset)))
        .map(|date| {
            let of_day: Vec<Value> = slots
                .iter()
                .filter(|slot| slot.start.with_timezone(&tz).date_naive() == date)
                .map(|slot| super::reply::slot_json(tz, slot))
                .collect();
            json!({"date": date, "slots": of_day})
        })
        .collect();
    Ok(Json(
        json!({"timezone": tz.name(), "service_id": q.service_id, "days": days}),
    ))
}

/// A slot to hold; `start` is local to the business (or RFC 3339).
#[derive(Debug, Deserialize, ToSchema)]
struct HoldBody {
    service_id: Uuid,
    start: String,
    staff_id: Option<Uuid>,
    ttl_seconds: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/businesses/{slug}/holds", tag = "booking",
    params(("slug" = String, Path, description = "business slug"),
        ("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    request_body = HoldBody,
    responses((status = 201, description = "the hold"), (status = 409, description = "slot taken, with alternatives"),
        (status = 422, description = "invalid field")))]
async fn hold(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<HoldBody>,
) -> Result<Reply, ApiError> {
    let tenant = booker(&state, &user, &slug).await?;
    let ctx = context(&tenant, &headers)?;
    let catalog = catalog::of_tenant(&state, &tenant).await?;
    let request = HoldRequest {
        service_id: body.service_id,
        start: instant(&body.start, &catalog)?,
        staff_id: body.staff_id,
        ttl_seconds: body.ttl_seconds,
    };
    BookingService::new(state.store().clone())
        .hold(&catalog, &request, &ctx)
        .await
}

/// An appointment to book; `start` is local to the business (or RFC 3339).
#[derive(Debug, Deserialize, ToSchema)]
struct BookBody {
    service_id: Uuid,
    start: String,
    staff_id: Option<Uuid>,
    client: Option<ClientInput>,
    hold_id: Option<Uuid>,
    notes: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/businesses/{slug}/appointments", tag = "booking",
    params(("slug" = String, Path, description = "business slug"),
        ("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    request_body = BookBody,
    responses((status = 201, description = "the appointment"), (status = 409, description = "slot taken, with alternatives"),
        (status = 422, description = "invalid field")))]
async fn book(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BookBody>,
) -> Result<Reply, ApiError> {
    let tenant = booker(&state, &user, &slug).await?;
    let ctx = context(&tenant, &headers)?;
    let catalog = catalog::of_tenant(&state, &tenant).await?;
    let request = BookRequest {
        service_id: body.service_id,
        start: instant(&body.start, &catalog)?,
        staff_id: body.staff_id,
        client: body.client,
        hold_id: body.hold_id,
        notes: body.notes,
    };
    BookingService::new(state.store().clone())
        .book(&catalog, &request, &ctx)
        .await
}

/// Appointments starting in `[from, to)` (default: from a day ago, for 90 days), optionally filtered.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    status: Option<String>,
    client_phone: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/appointments", tag = "booking",
    params(("slug" = String, Path, description = "business slug"), ListQuery),
    responses((status = 200, description = "appointments: […]")))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = viewer(&state, &user, &slug).await?;
    let tz = read::hours(state.store().pool(), tenant.business_id)
        .await?
        .map_or(chrono_tz::Tz::UTC, |h| h.timezone);
    let now = state.store().clock().now();
    let from = q.from.unwrap_or(now - TimeDelta::days(1));
    let to = q.to.unwrap_or(from + TimeDelta::days(90));
    let rows = catalog::appointments(
        state.store().pool(),
        tenant.business_id,
        from,
        to,
        q.status.as_deref(),
        q.client_phone.as_deref(),
    )
    .await?;
    let appointments: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            json!({"id": row.id, "status": row.status, "service_id": row.service_id,
                   "staff_id": row.staff_id, "client_id": row.client_id,
                   "client": row.client_name.map(|name| json!({"name": name, "phone": row.client_phone})),
                   "start": local_rfc3339(tz, row.starts_at), "end": local_rfc3339(tz, row.ends_at),
                   "notes": row.notes})
        })
        .collect();
    Ok(Json(json!({ "appointments": appointments })))
}

/// The business an appointment belongs to, if the caller may book there: 404 for a non-member (as for
/// an unknown appointment), 403 for a read-only auditor, 429 when the tenant is over its budget.
async fn appointment_tenant(
    state: &AppState,
    user: &AuthUser,
    appointment_id: Uuid,
) -> Result<(Tenant, Arc<BusinessCatalog>), ApiError> {
    let (booking, _) = state
        .store()
        .load::<Booking>(booking_stream(appointment_id).as_str())
        .await?;
    let business_id = booking
        .business_id
        .ok_or_else(|| ApiError::not_found("appointment"))?;
    let tenant = access_by_id(
        state,
        user,
        business_id,
        Permission::Book,
        "booking appointments",
    )
    .await
    .map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            ApiError::not_found("appointment")
        } else {
            e
        }
    })?;
    let catalog = catalog::of_tenant(state, &tenant).await?;
    Ok((tenant, catalog))
}

/// Optional body of a cancel.
#[derive(Debug, Default, Deserialize, ToSchema)]
struct CancelBody {
    reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", tag = "booking",
    params(("id" = Uuid, Path, description = "appointment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    request_body(content = Option<CancelBody>, description = "optional: nothing, or {\"reason\": \"…\"}"),
    responses((status = 200, description = "the cancelled appointment"),
        (status = 404, description = "unknown or another business's"), (status = 409, description = "not cancellable")))]
async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Reply, ApiError> {
    // The body is optional: nothing, or `{"reason": "…"}`.
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<CancelBody>(&body)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?
            .reason
    };
    let (tenant, catalog) = appointment_tenant(&state, &user, id).await?;
    let ctx = context(&tenant, &headers)?;
    BookingService::new(state.store().clone())
        .cancel(&catalog, id, reason, &ctx)
        .await
}

/// The new start (local to the business, or RFC 3339) and optionally another staff member.
#[derive(Debug, Deserialize, ToSchema)]
struct RescheduleBody {
    start: String,
    staff_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "booking",
    params(("id" = Uuid, Path, description = "appointment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    request_body = RescheduleBody,
    responses((status = 200, description = "the rescheduled appointment"),
        (status = 404, description = "unknown or another business's"), (status = 409, description = "slot taken, with alternatives")))]
async fn reschedule(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> Result<Reply, ApiError> {
    let (tenant, catalog) = appointment_tenant(&state, &user, id).await?;
    let ctx = context(&tenant, &headers)?;
    let request = RescheduleRequest {
        start: instant(&body.start, &catalog)?,
        staff_id: body.staff_id,
    };
    BookingService::new(state.store().clone())
        .reschedule(&catalog, id, &request, &ctx)
        .await
}
