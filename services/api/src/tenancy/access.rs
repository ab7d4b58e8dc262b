//! Who may touch which business: slug → business, membership (or the platform auditor role, read-only),
//! role, and the tenant's rate limit.

use std::sync::Arc;

use axum::http::StatusCode;
use domain::tenancy::{Business, Permission, User, allows, allows_auditor};
use events::catalog::{BusinessEvent, PlatformRole, Role};
use store::ExpectedVersion;
use uuid::Uuid;

use super::auth::AuthUser;
use super::handlers::auth::user_stream;
use super::{encode, forbidden, metadata};
use crate::{ApiError, AppState};

/// A business the caller is a member of, loaded from its stream (the write side, so always current).
#[derive(Debug, Clone)]
pub struct Tenant {
    pub business_id: Uuid,
    pub business: Arc<Business>,
    /// The business stream's version `business` was folded at.
    pub version: i64,
    /// The catalog revision found with it: [`crate::booking::catalog::of_tenant`] reuses the cached
    /// catalog when it matches.
    pub catalog_revision: i64,
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
///
/// One query finds the business and the current versions of its stream and catalog; the business aggregate
/// is read again only when its stream moved (see [`crate::cache`]).
pub async fn access(
    state: &AppState,
    user: &AuthUser,
    slug: &str,
    permission: Permission,
    what: &str,
) -> Result<Tenant, ApiError> {
    // `'business-' || id` is [`business_stream`], spelled in SQL so one round trip finds all three.
    let row: Option<(Uuid, Option<i64>, Option<i64>)> = sqlx::query_as(
        "select s.business_id, h.version, r.revision from business_slugs s \
         left join streams h on h.stream_id = 'business-' || s.business_id::text \
         left join catalog_revisions r on r.tenant_id = s.business_id \
         where s.slug = $1",
    )
    .bind(slug)
    .fetch_optional(state.store().pool())
    .await?;
    let (business_id, version, revision) = row.ok_or_else(|| ApiError::not_found("business"))?;
    let heads = Heads::found(version, revision);
    admit(state, user, business_id, heads, permission, what).await
}

/// [`access`] for a business known by id (e.g. the tenant of an event stream).
pub async fn access_by_id(
    state: &AppState,
    user: &AuthUser,
    business_id: Uuid,
    permission: Permission,
    what: &str,
) -> Result<Tenant, ApiError> {
    let (version, revision): (Option<i64>, Option<i64>) = sqlx::query_as(
        "select (select version from streams where stream_id = $1), \
           (select revision from catalog_revisions where tenant_id = $2)",
    )
    .bind(business_stream(business_id))
    .bind(business_id)
    .fetch_one(state.store().pool())
    .await?;
    admit(
        state,
        user,
        business_id,
        Heads::found(version, revision),
        permission,
        what,
    )
    .await
}

/// The versions a request found a business at.
struct Heads {
    /// Of the business stream (0: no such business).
    version: i64,
    /// Of its catalog read model (`catalog_revisions`; 0 before the projector saw it).
    catalog_revision: i64,
}

impl Heads {
    /// From the query's columns: a missing stream or revision row counts as 0.
    fn found(version: Option<i64>, revision: Option<i64>) -> Self {
        Self {
            version: version.unwrap_or(0),
            catalog_revision: revision.unwrap_or(0),
        }
    }
}

async fn admit(
    state: &AppState,
    user: &AuthUser,
    business_id: Uuid,
    heads: Heads,
    permission: Permission,
    what: &str,
) -> Result<Tenant, ApiError> {
    if heads.version == 0 {
        return Err(ApiError::not_found("business"));
    }
    let (business, version) = business_at(state, business_id, heads.version).await?;
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
        catalog_revision: heads.catalog_revision,
        role,
        auditor,
        user: user.clone(),
    })
}

/// The business aggregate at stream version `version` or later: from the cache when it holds exactly that
/// version, else folded from the stream (and cached at the version it was read at).
async fn business_at(
    state: &AppState,
    business_id: Uuid,
    version: i64,
) -> Result<(Arc<Business>, i64), ApiError> {
    if let Some(business) = state.businesses().get(business_id, version) {
        return Ok((business, version));
    }
    let (business, loaded) = state
        .store()
        .load::<Business>(&business_stream(business_id))
        .await?;
    let business = Arc::new(business);
    state
        .businesses()
        .put(business_id, loaded, Arc::clone(&business));
    Ok((business, loaded))
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
