//! Who may touch which business: slug → business, membership, role, and the tenant's rate limit.

use axum::http::StatusCode;
use domain::tenancy::{Business, Permission, allows};
use events::catalog::{BusinessEvent, Role};
use store::ExpectedVersion;
use uuid::Uuid;

use super::auth::AuthUser;
use super::{encode, forbidden, metadata, read};
use crate::{ApiError, AppState};

/// A business the caller is a member of, loaded from its stream (the write side, so always current).
#[derive(Debug, Clone)]
pub struct Tenant {
    pub business_id: Uuid,
    pub business: Business,
    pub version: i64,
    pub role: Role,
    pub user: AuthUser,
}

/// The stream of a business.
pub fn business_stream(business_id: Uuid) -> String {
    format!("business-{business_id}")
}

/// Resolves `slug` for `user` and checks `permission`. Unknown business and "not a member" are the same
/// 404, so nobody learns which businesses exist; a member without the permission gets 403; a tenant over
/// its request budget gets 429.
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
    let (business, version) = state
        .store()
        .load::<Business>(&business_stream(business_id))
        .await?;
    let role = business
        .role_of(user.user_id)
        .ok_or_else(|| ApiError::not_found("business"))?;
    if !state.tenancy().limiter.try_acquire(business_id) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests for this business; slow down",
        ));
    }
    if !allows(role, permission) {
        return Err(forbidden(what));
    }
    Ok(Tenant {
        business_id,
        business,
        version,
        role,
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
