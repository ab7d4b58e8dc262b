//! Staff: `POST|GET /businesses/{slug}/staff`, `GET|PATCH|DELETE …/staff/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::catalog::Service;
use domain::catalog::staff::{self, NewStaff, Staff};
use domain::tenancy::Permission;
use events::catalog::{OverridesSpec, StaffEvent, WeeklySpec};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use store::ExpectedVersion;
use utoipa::ToSchema;
use uuid::Uuid;

use super::services::service_stream;
use super::staff_error;
use crate::json::ApiJson;
use crate::tenancy::access::{Tenant, access};
use crate::tenancy::auth::AuthUser;
use crate::tenancy::{encode, metadata, read};
use crate::{ApiError, AppState};

/// `POST …/staff`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewStaffBody {
    pub name: String,
    #[serde(default)]
    pub service_ids: Vec<Uuid>,
    /// Own weekly hours (`{"mon": [["09:00","13:00"]]}`); left out = the business hours.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub weekly: Option<WeeklySpec>,
    /// Per-date replacements (empty list = day off).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub overrides: OverridesSpec,
}

/// `PATCH …/staff/{id}`: `weekly: null` switches back to the business hours; absent = unchanged.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PatchStaffBody {
    pub service_ids: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "weekly_patch")]
    #[schema(value_type = Option<Object>)]
    pub weekly: WeeklyPatch,
    #[schema(value_type = Option<Object>)]
    pub overrides: Option<OverridesSpec>,
}

/// What a PATCH says about the weekly hours.
#[derive(Debug, Default)]
pub enum WeeklyPatch {
    /// The field was left out.
    #[default]
    Keep,
    /// `"weekly": null`: work the business hours.
    BusinessHours,
    Own(WeeklySpec),
}

fn weekly_patch<'de, D: Deserializer<'de>>(d: D) -> Result<WeeklyPatch, D::Error> {
    Ok(Option::<WeeklySpec>::deserialize(d)?.map_or(WeeklyPatch::BusinessHours, WeeklyPatch::Own))
}

pub fn staff_stream(staff_id: Uuid) -> String {
    format!("staff-{staff_id}")
}

/// Which of `ids` are live services of this tenant (read from their streams, so just-created ones count).
async fn live_services(
    state: &AppState,
    tenant: &Tenant,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, ApiError> {
    let mut live = Vec::with_capacity(ids.len());
    for id in ids {
        let (service, _) = state.store().load::<Service>(&service_stream(*id)).await?;
        if service.is_live_in(tenant.business_id) {
            live.push(*id);
        }
    }
    Ok(live)
}

fn view(id: Uuid, s: &Staff) -> Value {
    json!({
        "id": id,
        "name": s.name,
        "service_ids": s.service_ids,
        "weekly": s.weekly,
        "overrides": s.overrides,
    })
}

fn fold(state: Staff, events: &[StaffEvent]) -> Staff {
    events.iter().fold(state, events::Aggregate::evolve)
}

#[utoipa::path(post, path = "/api/v1/businesses/{slug}/staff", tag = "staff",
    params(("slug" = String, Path, description = "business slug")), request_body = NewStaffBody,
    responses((status = 201, description = "the staff member"), (status = 422, description = "invalid hours or unknown service")))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<NewStaffBody>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageCatalog,
        "changing staff",
    )
    .await?;
    let live = live_services(&state, &tenant, &body.service_ids).await?;
    let staff_id = Uuid::now_v7();
    let input = NewStaff {
        name: body.name,
        service_ids: body.service_ids,
        weekly: body.weekly,
        overrides: body.overrides,
    };
    let now = state.store().clock().now();
    let events = staff::add(
        staff_id,
        tenant.business_id,
        &input,
        |id| live.contains(&id),
        now,
    )
    .map_err(|e| staff_error(&e))?;
    let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
    state
        .store()
        .append(&staff_stream(staff_id), ExpectedVersion::NoStream, new)
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(staff_id, &fold(Staff::default(), &events))),
    ))
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/staff", tag = "staff",
    params(("slug" = String, Path, description = "business slug")),
    responses((status = 200, description = "staff: […]")))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let staff = read::staff(state.store().pool(), tenant.business_id).await?;
    Ok(ApiJson(json!({ "staff": staff })))
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/staff/{id}", tag = "staff",
    params(("slug" = String, Path, description = "business slug"), ("id" = Uuid, Path, description = "staff id")),
    responses((status = 200, description = "the staff member"), (status = 404, description = "unknown or another business's")))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, id)): Path<(String, Uuid)>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let member = read::staff_member(state.store().pool(), tenant.business_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("staff member"))?;
    Ok(ApiJson(json!(member)))
}

async fn load(state: &AppState, tenant: &Tenant, id: Uuid) -> Result<(Staff, i64), ApiError> {
    let (member, version) = state.store().load::<Staff>(&staff_stream(id)).await?;
    if !member.is_live_in(tenant.business_id) {
        return Err(ApiError::not_found("staff member"));
    }
    Ok((member, version))
}

#[utoipa::path(patch, path = "/api/v1/businesses/{slug}/staff/{id}", tag = "staff",
    params(("slug" = String, Path, description = "business slug"), ("id" = Uuid, Path, description = "staff id")),
    request_body = PatchStaffBody,
    responses((status = 200, description = "the staff member after the change"), (status = 404, description = "unknown or another business's")))]
pub async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, id)): Path<(String, Uuid)>,
    ApiJson(body): ApiJson<PatchStaffBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageCatalog,
        "changing staff",
    )
    .await?;
    let (current, version) = load(&state, &tenant, id).await?;
    let live = match &body.service_ids {
        Some(ids) => live_services(&state, &tenant, ids).await?,
        None => Vec::new(),
    };
    let changes_weekly = !matches!(body.weekly, WeeklyPatch::Keep);
    let schedule = if changes_weekly || body.overrides.is_some() {
        Some((
            match body.weekly {
                WeeklyPatch::Keep => current.weekly.clone(),
                WeeklyPatch::BusinessHours => None,
                WeeklyPatch::Own(weekly) => Some(weekly),
            },
            body.overrides.unwrap_or_else(|| current.overrides.clone()),
        ))
    } else {
        None
    };
    let now = state.store().clock().now();
    let events = staff::change(
        &current,
        schedule,
        body.service_ids.as_deref(),
        |sid| live.contains(&sid),
        now,
    )
    .map_err(|e| staff_error(&e))?;
    if !events.is_empty() {
        let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
        state
            .store()
            .append(&staff_stream(id), ExpectedVersion::Exact(version), new)
            .await?;
    }
    Ok(ApiJson(view(id, &fold(current, &events))))
}

#[utoipa::path(delete, path = "/api/v1/businesses/{slug}/staff/{id}", tag = "staff",
    params(("slug" = String, Path, description = "business slug"), ("id" = Uuid, Path, description = "staff id")),
    responses((status = 204, description = "removed"), (status = 404, description = "unknown or another business's")))]
pub async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageCatalog,
        "changing staff",
    )
    .await?;
    let (current, version) = load(&state, &tenant, id).await?;
    let now = state.store().clock().now();
    let events = staff::remove(&current, now).map_err(|e| staff_error(&e))?;
    let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
    state
        .store()
        .append(&staff_stream(id), ExpectedVersion::Exact(version), new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
