//! Tenancy and catalog over HTTP: registration and login, businesses, hours, services, staff, members,
//! the phone-number pool and agent settings (DESIGN.md §9, §10).
//!
//! Every command is load → decide (pure, in `domain`) → append, with the stream's expected version; the
//! uniqueness rules that span streams (email, slug, number claim) are guard tables written by the append
//! hook in the same transaction, and a violated constraint is recognised by its name. Queries read the
//! catalog read models under row-level security ([`read`]). A business the caller is not a member of is
//! answered 404, exactly like one that does not exist — unless the caller holds the platform auditor role,
//! who reads every business and is refused every write with 403 ([`access::access`]).

pub mod access;
pub mod admin;
pub mod auth;
pub mod directory;
pub mod handlers;
pub mod openapi;
pub mod rate_limit;
pub mod read;

use std::sync::Arc;

use axum::http::StatusCode;
use events::catalog::Role;
use events::{Actor, Metadata, NewEvent};
use serde::Serialize;
use uuid::Uuid;

use crate::{ApiError, AppState};
pub use directory::{BusinessRef, NumberDirectory};
pub use rate_limit::{RateLimit, TenantRateLimiter};

/// Tenancy's part of the application state.
#[derive(Debug, Clone)]
pub struct TenancyState {
    pub keys: auth::TokenKeys,
    /// The REST API's per-business budget.
    pub limiter: Arc<TenantRateLimiter>,
    /// The voice agent's tool calls' per-business budget (separate: a busy phone line must not lock its
    /// owner out of the dashboard, nor the reverse).
    pub tool_limiter: Arc<TenantRateLimiter>,
    pub directory: Arc<NumberDirectory>,
}

impl TenancyState {
    /// Configuration from the environment (`JWT_SECRET`, `VOICEAPPOINT_TENANT_RPS`/`_BURST`,
    /// `VOICEAPPOINT_TOOL_RPS`/`_BURST`).
    pub fn from_env() -> Self {
        Self {
            keys: auth::TokenKeys::from_env(),
            limiter: Arc::new(TenantRateLimiter::new(RateLimit::from_env())),
            tool_limiter: Arc::new(TenantRateLimiter::new(RateLimit::tools_from_env())),
            directory: Arc::new(NumberDirectory::default()),
        }
    }
}

impl AppState {
    /// The business a call to this number is for: by Vapi phone-number id or by E.164 number.
    /// An in-memory lookup (see [`directory`]); the Vapi webhook routes every call through it.
    pub fn business_for_number(&self, phone_number_id_or_e164: &str) -> Option<BusinessRef> {
        self.tenancy().directory.get(phone_number_id_or_e164)
    }

    /// Like [`AppState::business_for_number`], falling back to one read-model lookup on a miss (a number
    /// assigned by another instance less than a refresh ago).
    pub async fn resolve_number(&self, key: &str) -> Result<Option<BusinessRef>, sqlx::Error> {
        if let Some(found) = self.business_for_number(key) {
            return Ok(Some(found));
        }
        self.tenancy()
            .directory
            .fetch(self.store().pool(), key)
            .await
    }

    /// Replaces the per-tenant rate limit (tests and embedding); call before the state is shared.
    #[must_use]
    pub fn with_tenant_rate_limit(self, limit: RateLimit) -> Self {
        self.tenancy().limiter_swap(limit);
        self
    }

    /// Replaces the per-tenant tool-call rate limit (tests and embedding).
    #[must_use]
    pub fn with_tool_rate_limit(self, limit: RateLimit) -> Self {
        self.tenancy().tool_limiter.set_limit(limit);
        self
    }
}

impl TenancyState {
    fn limiter_swap(&self, limit: RateLimit) {
        self.limiter.set_limit(limit);
    }
}

/// Metadata for events caused by `user_id` in this request.
pub fn metadata(user_id: Uuid) -> Metadata {
    Metadata {
        correlation_id: Some(Uuid::now_v7()),
        actor: Some(Actor::User { user_id }),
        ..Metadata::default()
    }
}

/// Encodes a stream's events for appending.
pub fn encode<E: Serialize>(
    tenant: Option<Uuid>,
    events: &[E],
    metadata: &Metadata,
) -> Result<Vec<NewEvent>, ApiError> {
    events
        .iter()
        .map(|e| {
            NewEvent::tagged(tenant, e, metadata.clone()).map_err(|err| ApiError::internal(&err))
        })
        .collect()
}

/// A role named in a request.
pub fn parse_role(text: &str) -> Result<Role, ApiError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        ApiError::validation(
            "invalid_role",
            format!("unknown role {text:?}: owner, admin, manager, staff or viewer"),
        )
    })
}

/// 403 for a member whose role does not allow the action.
pub fn forbidden(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("your role does not allow {what}"),
    )
}

/// 409 for a lost optimistic-concurrency race.
pub fn conflict(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}
