//! Members: `GET|POST /businesses/{slug}/members`, `PATCH|DELETE …/members/{user_id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::tenancy::Permission;
use domain::tenancy::business;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::business_error;
use crate::json::ApiJson;
use crate::tenancy::access::access;
use crate::tenancy::auth::AuthUser;
use crate::tenancy::{parse_role, read};
use crate::{ApiError, AppState};

/// `POST …/members`: adds a registered user by email.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMember {
    pub email: String,
    /// owner, admin, manager, staff or viewer.
    pub role: String,
}

/// `PATCH …/members/{user_id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeRole {
    pub role: String,
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/members", tag = "members",
    params(("slug" = String, Path, description = "business slug")),
    responses((status = 200, description = "members: [{user_id, email, role}]")))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "reading").await?;
    let members = read::members(state.store().pool(), tenant.business_id).await?;
    Ok(ApiJson(json!({ "members": members })))
}

#[utoipa::path(post, path = "/api/v1/businesses/{slug}/members", tag = "members",
    params(("slug" = String, Path, description = "business slug")), request_body = AddMember,
    responses((status = 201, description = "the member"),
              (status = 422, description = "no registered user with this email, or unknown role"),
              (status = 409, description = "already a member")))]
pub async fn add(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<AddMember>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageMembers,
        "managing members",
    )
    .await?;
    let role = parse_role(&body.role)?;
    let email = body.email.trim().to_lowercase();
    let user_id: Uuid = sqlx::query_scalar("select user_id from user_credentials where email = $1")
        .bind(&email)
        .fetch_optional(state.store().pool())
        .await?
        .ok_or_else(|| {
            ApiError::validation(
                "unknown_user",
                "no account uses this email; the person must register first",
            )
        })?;
    let now = state.store().clock().now();
    let events = business::add_member(&tenant.business, tenant.role, user_id, &email, role, now)
        .map_err(|e| business_error(&e))?;
    tenant.append(&state, &events).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(json!({"user_id": user_id, "email": email, "role": role})),
    ))
}

#[utoipa::path(patch, path = "/api/v1/businesses/{slug}/members/{user_id}", tag = "members",
    params(("slug" = String, Path, description = "business slug"), ("user_id" = Uuid, Path, description = "member's user id")),
    request_body = ChangeRole,
    responses((status = 200, description = "the member"), (status = 404, description = "not a member")))]
pub async fn change(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, member)): Path<(String, Uuid)>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageMembers,
        "managing members",
    )
    .await?;
    let role = parse_role(&body.role)?;
    let now = state.store().clock().now();
    let events = business::change_member_role(&tenant.business, tenant.role, member, role, now)
        .map_err(|e| business_error(&e))?;
    tenant.append(&state, &events).await?;
    Ok(ApiJson(json!({"user_id": member, "role": role})))
}

#[utoipa::path(delete, path = "/api/v1/businesses/{slug}/members/{user_id}", tag = "members",
    params(("slug" = String, Path, description = "business slug"), ("user_id" = Uuid, Path, description = "member's user id")),
    responses((status = 204, description = "removed"), (status = 404, description = "not a member"),
              (status = 409, description = "the last owner")))]
pub async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, member)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let tenant = access(
        &state,
        &user,
        &slug,
        Permission::ManageMembers,
        "managing members",
    )
    .await?;
    let now = state.store().clock().now();
    let events = business::remove_member(&tenant.business, tenant.role, member, now)
        .map_err(|e| business_error(&e))?;
    tenant.append(&state, &events).await?;
    Ok(StatusCode::NO_CONTENT)
}
