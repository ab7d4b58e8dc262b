//! `GET /businesses`, `GET|PATCH /businesses/{slug}`, `PUT|GET …/hours`, `PUT|GET …/agent`.

use axum::extract::{Path, Query, State};
use chrono::{Days, NaiveDate};
use domain::scheduling::resolve_days;
use domain::tenancy::business::{self};
use domain::tenancy::{Permission, ProfileInput};
use events::catalog::{AgentSettings, OverridesSpec, WeeklySpec};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::business_error;
use crate::json::ApiJson;
use crate::tenancy::access::access;
use crate::tenancy::auth::AuthUser;
use crate::tenancy::read;
use crate::{ApiError, AppState};

/// The businesses the caller belongs to, with their role in each.
#[utoipa::path(get, path = "/api/v1/businesses", tag = "businesses",
    responses((status = 200, description = "businesses: [{business_id, slug, name, role}]")))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<ApiJson<Value>, ApiError> {
    let businesses = read::memberships_of(state.store().pool(), user.user_id).await?;
    Ok(ApiJson(json!({ "businesses": businesses })))
}

/// A business's profile and onboarding state (`live` once hours, services, number and agent are set).
#[utoipa::path(get, path = "/api/v1/businesses/{slug}", tag = "businesses",
    params(("slug" = String, Path, description = "business slug")),
    responses((status = 200, description = "the business"), (status = 404, description = "unknown or not yours")))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let view = read::business(state.store().pool(), tenant.business_id)
        .await?
        .ok_or_else(|| ApiError::not_found("business"))?;
    Ok(ApiJson(json!(view)))
}

/// `PATCH /businesses/{slug}`: any profile field, and voice booking on/off. The slug never changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PatchBusiness {
    pub name: Option<String>,
    pub business_type: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    pub currency: Option<String>,
    pub voice_booking_enabled: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/businesses/{slug}", tag = "businesses",
    params(("slug" = String, Path, description = "business slug")), request_body = PatchBusiness,
    responses((status = 200, description = "the profile after the change"), (status = 422, description = "invalid field")))]
pub async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<PatchBusiness>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageBusiness,
        "changing the business",
    )
    .await?;
    let input = ProfileInput {
        name: body.name,
        business_type: body.business_type,
        timezone: body.timezone,
        locale: body.locale,
        currency: body.currency,
    };
    let now = state.store().clock().now();
    let events =
        business::update_profile(&tenant.business, &input, body.voice_booking_enabled, now)
            .map_err(|e| business_error(&e))?;
    tenant.append(&state, &events).await?;
    let after = events
        .iter()
        .fold((*tenant.business).clone(), events::Aggregate::evolve);
    Ok(ApiJson(json!({
        "id": tenant.business_id,
        "slug": after.slug,
        "name": after.profile.name,
        "business_type": after.profile.business_type,
        "timezone": after.profile.timezone,
        "locale": after.profile.locale,
        "currency": after.profile.currency,
        "voice_booking_enabled": after.voice_booking_enabled,
    })))
}

/// `PUT /businesses/{slug}/hours`: the weekly pattern and the complete set of date overrides.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PutHours {
    /// `{"mon": [["09:00","17:00"]], …, "sun": []}`; missing days are closed.
    #[schema(value_type = Object)]
    pub weekly: WeeklySpec,
    /// `{"2027-12-25": []}`: replaces that date's hours (empty = closed).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub overrides: OverridesSpec,
}

#[utoipa::path(put, path = "/api/v1/businesses/{slug}/hours", tag = "businesses",
    params(("slug" = String, Path, description = "business slug")), request_body = PutHours,
    responses((status = 200, description = "the hours as stored"),
              (status = 422, description = "bad time, close before open, overlapping intervals, bad date")))]
pub async fn put_hours(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<PutHours>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageCatalog,
        "changing hours",
    )
    .await?;
    let now = state.store().clock().now();
    let events = business::set_hours(&tenant.business, &body.weekly, &body.overrides, now)
        .map_err(|e| business_error(&e))?;
    tenant.append(&state, &events).await?;
    let after = events
        .iter()
        .fold((*tenant.business).clone(), events::Aggregate::evolve);
    let overrides: serde_json::Map<String, Value> = after
        .overrides
        .iter()
        .map(|(d, i)| (d.to_string(), json!(i)))
        .collect();
    Ok(ApiJson(json!({
        "timezone": after.profile.timezone,
        "weekly": after.weekly,
        "overrides": overrides,
    })))
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD` (default: the next 7 local days; at most 62 days).
#[derive(Debug, Deserialize, IntoParams)]
pub struct HoursQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The longest date range one hours query resolves.
const MAX_HOURS_DAYS: u64 = 62;

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/hours", tag = "businesses",
    params(("slug" = String, Path, description = "business slug"), HoursQuery),
    responses((status = 200, description = "weekly, overrides and each date resolved in local time and UTC")))]
pub async fn get_hours(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    Query(query): Query<HoursQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let hours = read::hours(state.store().pool(), tenant.business_id)
        .await?
        .ok_or_else(|| ApiError::not_found("business"))?;
    let today = state
        .store()
        .clock()
        .now()
        .with_timezone(&hours.timezone)
        .date_naive();
    let from = query.from.unwrap_or(today);
    let to = query
        .to
        .unwrap_or_else(|| from.checked_add_days(Days::new(6)).unwrap_or(from));
    if to < from
        || from
            .checked_add_days(Days::new(MAX_HOURS_DAYS))
            .is_some_and(|max| to >= max)
    {
        return Err(ApiError::validation(
            "invalid_range",
            format!("`to` must be on or after `from` and at most {MAX_HOURS_DAYS} days later"),
        ));
    }
    let days: Vec<Value> = resolve_days(hours.timezone, &hours.weekly, &hours.overrides, from, to)
        .into_iter()
        .map(|day| {
            json!({
                "date": day.date,
                "intervals": day.local.iter().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
                "utc": day.utc.iter().map(|i| json!({"start": i.start, "end": i.end})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(ApiJson(json!({
        "timezone": hours.timezone.name(),
        "weekly": hours.weekly_spec,
        "overrides": hours.overrides_spec,
        "days": days,
    })))
}

/// `PUT /businesses/{slug}/agent`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PutAgent {
    pub name: String,
    pub greeting: String,
    pub voice_id: Option<String>,
    pub personality: Option<String>,
    pub instructions: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/businesses/{slug}/agent", tag = "businesses",
    params(("slug" = String, Path, description = "business slug")), request_body = PutAgent,
    responses((status = 200, description = "the agent settings"), (status = 422, description = "missing name or greeting")))]
pub async fn put_agent(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<PutAgent>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageBusiness,
        "configuring the agent",
    )
    .await?;
    let settings = AgentSettings {
        name: body.name,
        greeting: body.greeting,
        voice_id: body.voice_id,
        personality: body.personality,
        instructions: body.instructions,
    };
    let now = state.store().clock().now();
    let events = business::configure_agent(&tenant.business, &settings, now)
        .map_err(|e| business_error(&e))?;
    tenant.append(&state, &events).await?;
    let after = events
        .iter()
        .fold((*tenant.business).clone(), events::Aggregate::evolve);
    Ok(ApiJson(json!(after.agent)))
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/agent", tag = "businesses",
    params(("slug" = String, Path, description = "business slug")),
    responses((status = 200, description = "the agent settings"), (status = 404, description = "not configured")))]
pub async fn get_agent(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let agent = read::agent(state.store().pool(), tenant.business_id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    Ok(ApiJson(json!(agent)))
}
