//! Who may touch which business: slug → business, membership (or the platform auditor role, read-only),
//! role, and the tenant's rate limit.

use axum::http::StatusCode;
use domain::tenancy::{Business, Permission, User, allows, allows_auditor};
use events::catalog::{BusinessEvent, PlatformRole, Role};
use store::ExpectedVersion;
use uuid::Uuid;

use super::auth::AuthUser;
use super::handlers::auth::user_stream;
use super::{encode, forbidden, metadata, read};
use crate::{ApiError, AppState};

/// A business the caller is a member of, loaded from its stream (the write side, so always current).
#[derive(Debug, Clone)]
pub struct Tenant {
    pub business_id: Uuid,
    pub business: Business,
    pub version: i64,
    /// The member's role; `Viewer` for an auditor who is not a member.
    pub role: Role,
    /// True when access comes from the platform auditor role rather than a membership (read-only).
    pub auditor: bool,
    pub user: AuthUser,
}

/// Takes one request from the business's REST budget: 429 `rate_limited` when it is spent. Charge only
/// after access is granted, so outsiders cannot spend a business's budget.
pub fn charge_request(state: &AppState, business_id: Uuid) -> Result<(), ApiError> {
    if state.tenancy().limiter.try_acquire(business_id) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests for this business; slow down",
        ))
    }
}

/// The stream of a business.
pub fn business_stream(business_id: Uuid) -> String {
    format!("business-{business_id}")
}

/// Whether `user` holds the platform auditor role now (read from the user's stream, not the token, so a
/// revoked role stops working at once).
pub async fn is_auditor(state: &AppState, user: &AuthUser) -> Result<bool, ApiError> {
    let (profile, _) = state
        .store()
        .load::<User>(&user_stream(user.user_id))
        .await?;
    Ok(profile.platform_roles.contains(&PlatformRole::Auditor))
}

/// Resolves `slug` for `user` and checks `permission`. Unknown business and "not a member" are the same
/// 404, so nobody learns which businesses exist; a member without the permission gets 403; a tenant over
/// its request budget gets 429. A platform auditor who is not a member gets a read-only view: `View` is
/// allowed, anything else is 403 (not 404: auditors may know every business exists).
pub async fn access(
    state: &AppState,
    user: &AuthUser,
    slug: &str,
    permission: Permission,
    what: &str,
) -> Result<Tenant, ApiError> {
    let business_id = read::business_id_by_slug(state.store().pool(), slug)
        .await?
        .ok_or_else(|| ApiError::not_found("business"))?;
    access_by_id(state, user, business_id, permission, what).await
}

/// [`access`] for a business known by id (e.g. the tenant of an event stream).
pub async fn access_by_id(
    state: &AppState,
    user: &AuthUser,
    business_id: Uuid,
    permission: Permission,
    what: &str,
) -> Result<Tenant, ApiError> {
    let (business, version) = state
        .store()
        .load::<Business>(&business_stream(business_id))
        .await?;
    if version == 0 {
        return Err(ApiError::not_found("business"));
    }
    let (role, auditor) = match business.role_of(user.user_id) {
        Some(role) => (role, false),
        None if is_auditor(state, user).await? => {
            if !allows_auditor(permission) {
                return Err(forbidden(&format!("{what} (auditors are read-only)")));
            }
            (Role::Viewer, true)
        }
        None => return Err(ApiError::not_found("business")),
    };
    charge_request(state, business_id)?;
    if !allows(role, permission) {
        return Err(forbidden(what));
    }
    Ok(Tenant {
        business_id,
        business,
        version,
        role,
        auditor,
        user: user.clone(),
    })
}

impl Tenant {
    /// Appends business events at the version this tenant was loaded at (409 if it moved).
    pub async fn append(&self, state: &AppState, events: &[BusinessEvent]) -> Result<(), ApiError> {
        if events.is_empty() {
            return Ok(());
        }
        let new = encode(Some(self.business_id), events, &metadata(self.user.user_id))?;
        state
            .store()
            .append(
                &business_stream(self.business_id),
                ExpectedVersion::Exact(self.version),
                new,
            )
            .await?;
        Ok(())
    }
}
