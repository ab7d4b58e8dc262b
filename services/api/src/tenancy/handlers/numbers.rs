//! The phone-number pool: `POST /admin/phone-numbers` (platform admin), `POST /admin/phone-numbers/{number}/suspend`,
//! `GET /phone-numbers/available`, and `POST|GET|DELETE /businesses/{slug}/phone-number`.
//!
//! A claim appends `NumberAssigned` at the number stream's version and inserts the `number_claims` row in
//! the same transaction: of two owners racing for one number, one commits and the other gets a version
//! conflict (or the claim table's primary key) and a 409.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use domain::catalog::number::{self, NewPoolNumber, Number, normalize_e164};
use domain::tenancy::{Permission, User};
use events::catalog::{NumberEvent, PlatformRole};
use futures::FutureExt;
use serde::Deserialize;
use serde_json::{Value, json};
use store::error::violated_constraint;
use store::{ExpectedVersion, StoreError, StreamAppend};
use utoipa::{IntoParams, ToSchema};

use super::auth::user_stream;
use super::number_error;
use crate::json::ApiJson;
use crate::tenancy::access::access;
use crate::tenancy::auth::AuthUser;
use crate::tenancy::directory::BusinessRef;
use crate::tenancy::{conflict, encode, forbidden, metadata, read};
use crate::{ApiError, AppState};

pub fn number_stream(e164: &str) -> String {
    format!("number-{e164}")
}

/// `POST /admin/phone-numbers`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddNumber {
    /// E.164, e.g. `+14155550123`.
    pub number: String,
    /// Vapi's id for the number (`call.phoneNumberId`).
    pub provider_phone_number_id: String,
    #[serde(default)]
    pub locality: String,
    #[serde(default)]
    pub region: String,
    /// Defaults to the NANP area code for `+1` numbers.
    pub area_code: Option<String>,
}

async fn require_platform_admin(state: &AppState, user: &AuthUser) -> Result<(), ApiError> {
    let (profile, _) = state
        .store()
        .load::<User>(&user_stream(user.user_id))
        .await?;
    if profile
        .platform_roles
        .contains(&PlatformRole::PlatformAdmin)
    {
        Ok(())
    } else {
        Err(forbidden("managing the number pool (platform_admin only)"))
    }
}

#[utoipa::path(post, path = "/api/v1/admin/phone-numbers", tag = "phone numbers", request_body = AddNumber,
    responses((status = 201, description = "the pool number"), (status = 403, description = "not a platform admin"),
              (status = 409, description = "already in the pool")))]
pub async fn add_to_pool(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<AddNumber>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    require_platform_admin(&state, &user).await?;
    let e164 = normalize_e164(&body.number).map_err(|e| number_error(&e))?;
    let (current, version) = state.store().load::<Number>(&number_stream(&e164)).await?;
    let input = NewPoolNumber {
        number: e164.clone(),
        provider_phone_number_id: body.provider_phone_number_id,
        area_code: body.area_code,
        locality: body.locality,
        region: body.region,
    };
    let now = state.store().clock().now();
    let events = number::add_to_pool(&current, &input, now).map_err(|e| number_error(&e))?;
    let new = encode(None, &events, &metadata(user.user_id))?;
    let expected = if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(version)
    };
    match state
        .store()
        .append(&number_stream(&e164), expected, new)
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict { .. }) => {
            return Err(number_error(&number::NumberError::AlreadyInPool));
        }
        Err(err) => return Err(err.into()),
    }
    let Some(NumberEvent::NumberAddedToPool {
        area_code,
        locality,
        region,
        provider_phone_number_id,
        ..
    }) = events.first()
    else {
        return Err(ApiError::internal(&"pool decision made no event"));
    };
    Ok((
        StatusCode::CREATED,
        ApiJson(json!({
            "number": e164, "provider_phone_number_id": provider_phone_number_id,
            "area_code": area_code, "locality": locality, "region": region, "status": "available",
        })),
    ))
}

/// `POST /admin/phone-numbers/{number}/suspend`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SuspendNumber {
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/admin/phone-numbers/{number}/suspend", tag = "phone numbers",
    params(("number" = String, Path, description = "E.164 number")), request_body = SuspendNumber,
    responses((status = 200, description = "suspended"), (status = 403, description = "not a platform admin"),
              (status = 404, description = "not in the pool")))]
pub async fn suspend(
    State(state): State<AppState>,
    user: AuthUser,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SuspendNumber>,
) -> Result<ApiJson<Value>, ApiError> {
    require_platform_admin(&state, &user).await?;
    let e164 = normalize_e164(&raw).map_err(|e| number_error(&e))?;
    let (current, version) = state.store().load::<Number>(&number_stream(&e164)).await?;
    let now = state.store().clock().now();
    let events = number::suspend(&current, &body.reason, now).map_err(|e| number_error(&e))?;
    if let Some(NumberEvent::NumberSuspended { business_id, .. }) = events.first() {
        let new = encode(*business_id, &events, &metadata(user.user_id))?;
        let number_ = e164.clone();
        let hook: store::AppendHook<'_> = Box::new(move |conn| {
            async move {
                sqlx::query("delete from number_claims where number = $1")
                    .bind(number_)
                    .execute(conn)
                    .await
                    .map(|_| ())
            }
            .boxed()
        });
        let batch = StreamAppend::new(number_stream(&e164), ExpectedVersion::Exact(version), new);
        state.store().append_many(vec![batch], Some(hook)).await?;
        state.tenancy().directory.remove_number(&e164);
    }
    Ok(ApiJson(json!({"number": e164, "status": "suspended"})))
}

/// `?area_code=415`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AvailableQuery {
    pub area_code: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/phone-numbers/available", tag = "phone numbers", params(AvailableQuery),
    responses((status = 200, description = "numbers: [{number, area_code, locality, region, status}]")))]
pub async fn available(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<AvailableQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    let area = query
        .area_code
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let numbers = read::available_numbers(state.store().pool(), area, 100).await?;
    Ok(ApiJson(json!({ "numbers": numbers })))
}

/// `POST /businesses/{slug}/phone-number`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClaimNumber {
    pub number: String,
}

#[utoipa::path(post, path = "/api/v1/businesses/{slug}/phone-number", tag = "phone numbers",
    params(("slug" = String, Path, description = "business slug")), request_body = ClaimNumber,
    responses((status = 200, description = "the number is the business's"),
              (status = 409, description = "number_unavailable or business_has_number")))]
pub async fn claim(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<ClaimNumber>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageBusiness,
        "choosing the phone number",
    )
    .await?;
    let e164 = normalize_e164(&body.number).map_err(|e| number_error(&e))?;
    let (current, version) = state.store().load::<Number>(&number_stream(&e164)).await?;
    let held: Option<String> =
        sqlx::query_scalar("select number from number_claims where business_id = $1")
            .bind(tenant.business_id)
            .fetch_optional(state.store().pool())
            .await?;
    let has_other = held.as_deref().is_some_and(|n| n != e164);
    let now = state.store().clock().now();
    let events = number::assign(&current, tenant.business_id, has_other, now)
        .map_err(|e| number_error(&e))?;
    if !events.is_empty() {
        let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
        let (number_, business_id) = (e164.clone(), tenant.business_id);
        let hook: store::AppendHook<'_> = Box::new(move |conn| {
            async move {
                sqlx::query(
                    "insert into number_claims (number, business_id, claimed_at) values ($1, $2, $3)",
                )
                .bind(number_)
                .bind(business_id)
                .bind(now)
                .execute(conn)
                .await
                .map(|_| ())
            }
            .boxed()
        });
        let batch = StreamAppend::new(number_stream(&e164), ExpectedVersion::Exact(version), new);
        match state.store().append_many(vec![batch], Some(hook)).await {
            Ok(_) => {}
            Err(StoreError::Conflict { .. }) => {
                return Err(conflict("number_unavailable", "the number was just taken"));
            }
            Err(StoreError::Hook(db)) => {
                return Err(match violated_constraint(&db) {
                    Some("number_claims_pkey") => {
                        conflict("number_unavailable", "the number was just taken")
                    }
                    Some("number_claims_business_key") => {
                        number_error(&number::NumberError::BusinessHasNumber)
                    }
                    _ => StoreError::Hook(db).into(),
                });
            }
            Err(err) => return Err(err.into()),
        }
    }
    state.tenancy().directory.insert(BusinessRef {
        business_id: tenant.business_id,
        slug: tenant.business.slug.clone(),
        name: tenant.business.profile.name.clone(),
        timezone: tenant.business.profile.timezone.clone(),
        number: e164.clone(),
        provider_phone_number_id: current.provider_phone_number_id.clone(),
    });
    crate::webhook::provision_number(&state, &current.provider_phone_number_id);
    Ok(ApiJson(json!({
        "number": e164,
        "provider_phone_number_id": current.provider_phone_number_id,
        "status": "assigned",
    })))
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/phone-number", tag = "phone numbers",
    params(("slug" = String, Path, description = "business slug")),
    responses((status = 200, description = "the business's number"), (status = 404, description = "none")))]
pub async fn current(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let number = read::phone_number(state.store().pool(), tenant.business_id)
        .await?
        .ok_or_else(|| ApiError::not_found("phone number"))?;
    Ok(ApiJson(json!(number)))
}

#[utoipa::path(delete, path = "/api/v1/businesses/{slug}/phone-number", tag = "phone numbers",
    params(("slug" = String, Path, description = "business slug")),
    responses((status = 204, description = "released to the pool"), (status = 404, description = "the business has no number")))]
pub async fn release(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageBusiness,
        "releasing the phone number",
    )
    .await?;
    let held: String =
        sqlx::query_scalar("select number from number_claims where business_id = $1")
            .bind(tenant.business_id)
            .fetch_optional(state.store().pool())
            .await?
            .ok_or_else(|| ApiError::not_found("phone number"))?;
    let (current, version) = state.store().load::<Number>(&number_stream(&held)).await?;
    let now = state.store().clock().now();
    let events =
        number::release(&current, tenant.business_id, now).map_err(|e| number_error(&e))?;
    let new = encode(Some(tenant.business_id), &events, &metadata(user.user_id))?;
    let number_ = held.clone();
    let hook: store::AppendHook<'_> = Box::new(move |conn| {
        async move {
            sqlx::query("delete from number_claims where number = $1")
                .bind(number_)
                .execute(conn)
                .await
                .map(|_| ())
        }
        .boxed()
    });
    let batch = StreamAppend::new(number_stream(&held), ExpectedVersion::Exact(version), new);
    state.store().append_many(vec![batch], Some(hook)).await?;
    state.tenancy().directory.remove_number(&held);
    Ok(StatusCode::NO_CONTENT)
}
