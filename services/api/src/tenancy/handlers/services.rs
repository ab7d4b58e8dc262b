//! Services: `POST|GET /businesses/{slug}/services`, `GET|PATCH|DELETE …/services/{id}` (DELETE retires).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use domain::catalog::service::{self, Service, ServiceInput};
use domain::tenancy::Permission;
use serde::Deserialize;
use serde_json::{Value, json};
use store::ExpectedVersion;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::service_error;
use crate::json::ApiJson;
use crate::tenancy::access::{Tenant, access};
use crate::tenancy::auth::AuthUser;
use crate::tenancy::read::{self, ServiceView};
use crate::tenancy::{encode, metadata};
use crate::{ApiError, AppState};

/// A service's fields (all required on create except the rules, which default).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ServiceBody {
    pub name: Option<String>,
    pub duration_minutes: Option<i64>,
    /// Decimal string in the business currency, e.g. `"35.00"`.
    pub price: Option<String>,
    pub slot_step_minutes: Option<i64>,
    pub buffer_before_minutes: Option<i64>,
    pub buffer_after_minutes: Option<i64>,
    pub min_notice_minutes: Option<i64>,
    pub horizon_days: Option<i64>,
    pub voice_booking_enabled: Option<bool>,
}

impl From<ServiceBody> for ServiceInput {
    fn from(b: ServiceBody) -> Self {
        Self {
            name: b.name,
            duration_minutes: b.duration_minutes,
            price: b.price,
            slot_step_minutes: b.slot_step_minutes,
            buffer_before_minutes: b.buffer_before_minutes,
            buffer_after_minutes: b.buffer_after_minutes,
            min_notice_minutes: b.min_notice_minutes,
            horizon_days: b.horizon_days,
            voice_booking_enabled: b.voice_booking_enabled,
        }
    }
}

pub fn service_stream(service_id: Uuid) -> String {
    format!("service-{service_id}")
}

#[utoipa::path(post, path = "/api/v1/businesses/{slug}/services", tag = "services",
    params(("slug" = String, Path, description = "business slug")), request_body = ServiceBody,
    responses((status = 201, description = "the service"), (status = 422, description = "invalid field")))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageCatalog,
        "changing services",
    )
    .await?;
    let service_id = Uuid::now_v7();
    let now = state.store().clock().now();
    let currency = tenant.business.profile.currency.clone();
    let events = service::add(service_id, tenant.business_id, &currency, &body.into(), now)
        .map_err(|e| service_error(&e))?;
    let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
    state
        .store()
        .append(&service_stream(service_id), ExpectedVersion::NoStream, new)
        .await?;
    let after = fold(&events);
    Ok((StatusCode::CREATED, ApiJson(view(service_id, &after)?)))
}

fn fold(events: &[events::catalog::ServiceEvent]) -> Service {
    events
        .iter()
        .fold(Service::default(), events::Aggregate::evolve)
}

fn view(id: Uuid, s: &Service) -> Result<Value, ApiError> {
    let settings = s
        .settings
        .as_ref()
        .ok_or_else(|| ApiError::not_found("service"))?;
    Ok(json!(ServiceView::of(id, settings, s.retired)))
}

/// `?include_retired=true` lists retired services too.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    #[serde(default)]
    pub include_retired: bool,
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/services", tag = "services",
    params(("slug" = String, Path, description = "business slug"), ListQuery),
    responses((status = 200, description = "services: […]")))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let services = read::services(
        state.store().pool(),
        tenant.business_id,
        query.include_retired,
    )
    .await?;
    Ok(ApiJson(json!({ "services": services })))
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/services/{id}", tag = "services",
    params(("slug" = String, Path, description = "business slug"), ("id" = Uuid, Path, description = "service id")),
    responses((status = 200, description = "the service"), (status = 404, description = "unknown or another business's")))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, id)): Path<(String, Uuid)>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let service = read::service(state.store().pool(), tenant.business_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("service"))?;
    Ok(ApiJson(json!(service)))
}

/// Loads a service of this tenant from its stream; another business's service is "not found".
async fn load(state: &AppState, tenant: &Tenant, id: Uuid) -> Result<(Service, i64), ApiError> {
    let (service, version) = state.store().load::<Service>(&service_stream(id)).await?;
    if service.business_id != Some(tenant.business_id) {
        return Err(ApiError::not_found("service"));
    }
    Ok((service, version))
}

#[utoipa::path(patch, path = "/api/v1/businesses/{slug}/services/{id}", tag = "services",
    params(("slug" = String, Path, description = "business slug"), ("id" = Uuid, Path, description = "service id")),
    request_body = ServiceBody,
    responses((status = 200, description = "the service after the change"), (status = 404, description = "unknown, retired or another business's")))]
pub async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, id)): Path<(String, Uuid)>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageCatalog,
        "changing services",
    )
    .await?;
    let (current, version) = load(&state, &tenant, id).await?;
    let now = state.store().clock().now();
    let events = service::update(&current, &body.into(), now).map_err(|e| service_error(&e))?;
    if !events.is_empty() {
        let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
        state
            .store()
            .append(&service_stream(id), ExpectedVersion::Exact(version), new)
            .await?;
    }
    let after = events.iter().fold(current, events::Aggregate::evolve);
    Ok(ApiJson(view(id, &after)?))
}

#[utoipa::path(delete, path = "/api/v1/businesses/{slug}/services/{id}", tag = "services",
    params(("slug" = String, Path, description = "business slug"), ("id" = Uuid, Path, description = "service id")),
    responses((status = 204, description = "retired"), (status = 404, description = "unknown or another business's")))]
pub async fn retire(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageCatalog,
        "changing services",
    )
    .await?;
    let (current, version) = load(&state, &tenant, id).await?;
    let now = state.store().clock().now();
    let events = service::retire(&current, now).map_err(|e| service_error(&e))?;
    if !events.is_empty() {
        let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
        state
            .store()
            .append(&service_stream(id), ExpectedVersion::Exact(version), new)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
