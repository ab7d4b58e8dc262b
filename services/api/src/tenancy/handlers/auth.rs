//! `POST /auth/register`, `POST /auth/token`, `GET /auth/me`.

use axum::extract::State;
use axum::http::StatusCode;
use domain::tenancy::business::{self, RegisterBusiness};
use domain::tenancy::{Business, ProfileInput, User, slug_candidate, slugify, user};
use events::Aggregate;
use futures::FutureExt;
use serde::Deserialize;
use serde_json::{Value, json};
use store::error::violated_constraint;
use store::{ExpectedVersion, StoreError, StreamAppend};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{business_error, user_error};
use crate::json::ApiJson;
use crate::tenancy::access::business_stream;
use crate::tenancy::auth::{self, AuthUser, TOKEN_TTL_SECONDS, TokenMembership};
use crate::tenancy::{encode, metadata, read};
use crate::{ApiError, AppState};

/// The business created with the account.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewBusiness {
    pub name: String,
    #[serde(default)]
    pub business_type: Option<String>,
    /// IANA zone, e.g. `Europe/Madrid`.
    pub timezone: String,
    #[serde(default)]
    pub locale: Option<String>,
    /// ISO 4217; default `USD`.
    #[serde(default)]
    pub currency: Option<String>,
}

/// `POST /auth/register`. `business` may be left out by someone joining an existing business as a member.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub business: Option<NewBusiness>,
}

/// `POST /auth/token`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
}

pub fn user_stream(user_id: Uuid) -> String {
    format!("user-{user_id}")
}

/// How many slug candidates (`name`, `name-2`, …) registration tries before giving up.
const SLUG_ATTEMPTS: u32 = 50;

/// Registers a user, and with `business` a business with the user as owner, in one atomic append.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, description = "user, business and an access token"),
              (status = 409, description = "email already registered"),
              (status = 422, description = "invalid email, password or business")))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let now = state.store().clock().now();
    let user_id = Uuid::now_v7();
    let user_events = user::register(&User::default(), user_id, &body.email, &body.password, now)
        .map_err(|e| user_error(&e))?;
    let email = user::normalize_email(&body.email).map_err(|e| user_error(&e))?;
    let business_id = Uuid::now_v7();
    let command = body.business.as_ref().map(|b| RegisterBusiness {
        business_id,
        slug: slugify(&b.name),
        owner_id: user_id,
        owner_email: email.clone(),
        profile: ProfileInput {
            name: Some(b.name.clone()),
            business_type: b.business_type.clone(),
            timezone: Some(b.timezone.clone()),
            locale: b.locale.clone(),
            currency: b.currency.clone(),
        },
    });
    // Validate the business before spending time on the password hash.
    if let Some(cmd) = &command {
        business::register(&Business::default(), cmd, now).map_err(|e| business_error(&e))?;
    }
    let password_hash = auth::hash_password(body.password.clone()).await?;
    let meta = metadata(user_id);
    let mut attempt = 1;
    let registered = loop {
        let mut batches = vec![StreamAppend::new(
            user_stream(user_id),
            ExpectedVersion::NoStream,
            encode(None, &user_events, &meta)?,
        )];
        let mut slug = None;
        if let Some(cmd) = &command {
            let candidate = next_free_slug(&state, &cmd.slug, &mut attempt).await?;
            let cmd = RegisterBusiness {
                slug: candidate.clone(),
                ..cmd.clone()
            };
            let events = business::register(&Business::default(), &cmd, now)
                .map_err(|e| business_error(&e))?;
            batches.push(StreamAppend::new(
                business_stream(business_id),
                ExpectedVersion::NoStream,
                encode(Some(business_id), &events, &meta)?,
            ));
            slug = Some((candidate, events));
        }
        let hook = credentials_hook(
            user_id,
            email.clone(),
            password_hash.clone(),
            slug.as_ref().map(|(s, _)| (s.clone(), business_id)),
            now,
        );
        match state.store().append_many(batches, Some(hook)).await {
            Ok(_) => break slug,
            Err(StoreError::Hook(db)) => match violated_constraint(&db) {
                Some("user_credentials_email_key") => {
                    return Err(user_error(&user::UserError::AlreadyRegistered));
                }
                Some("business_slugs_pkey") if attempt < SLUG_ATTEMPTS => attempt += 1,
                _ => return Err(StoreError::Hook(db).into()),
            },
            Err(err) => return Err(err.into()),
        }
    };
    let business_state = registered
        .as_ref()
        .map(|(_, events)| events.iter().fold(Business::default(), Business::evolve));
    let memberships: Vec<TokenMembership> = business_state
        .iter()
        .map(|b| TokenMembership {
            business_id,
            slug: b.slug.clone(),
            role: "owner".into(),
        })
        .collect();
    let token =
        state
            .tenancy()
            .keys
            .issue(&auth::claims(user_id, &email, memberships, Vec::new(), now))?;
    let business_json =
        business_state.map(|b| json!({"id": business_id, "slug": b.slug, "name": b.profile.name}));
    Ok((
        StatusCode::CREATED,
        ApiJson(json!({
            "user": {"id": user_id, "email": email},
            "business": business_json,
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_SECONDS,
        })),
    ))
}

/// Writes the credentials (and the slug claim) in the append transaction: the unique constraints make
/// email and slug unique across streams.
fn credentials_hook(
    user_id: Uuid,
    email: String,
    hash: String,
    slug: Option<(String, Uuid)>,
    now: chrono::DateTime<chrono::Utc>,
) -> store::AppendHook<'static> {
    Box::new(move |conn| {
        async move {
            sqlx::query(
                "insert into user_credentials (user_id, email, password_hash, created_at) \
                 values ($1, $2, $3, $4)",
            )
            .bind(user_id)
            .bind(&email)
            .bind(&hash)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            if let Some((slug, business_id)) = slug {
                sqlx::query("insert into business_slugs (slug, business_id) values ($1, $2)")
                    .bind(slug)
                    .bind(business_id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
        .boxed()
    })
}

/// The first candidate from `*attempt` on that no business holds yet (the guard table decides races).
async fn next_free_slug(
    state: &AppState,
    base: &str,
    attempt: &mut u32,
) -> Result<String, ApiError> {
    while *attempt < SLUG_ATTEMPTS {
        let candidate = slug_candidate(base, *attempt);
        if read::business_id_by_slug(state.store().pool(), &candidate)
            .await?
            .is_none()
        {
            return Ok(candidate);
        }
        *attempt += 1;
    }
    Ok(format!("{base}-{}", Uuid::now_v7().simple()))
}

/// Exchanges email and password for an access token. Unknown email and wrong password get the same
/// answer after the same amount of work.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, description = "access_token, token_type, expires_in"),
              (status = 401, description = "invalid_credentials")))]
pub async fn token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<ApiJson<Value>, ApiError> {
    let email = body.email.trim().to_lowercase();
    let row: Option<(Uuid, String)> =
        sqlx::query_as("select user_id, password_hash from user_credentials where email = $1")
            .bind(&email)
            .fetch_optional(state.store().pool())
            .await?;
    let (user_id, hash) = row.map_or((None, None), |(id, hash)| (Some(id), Some(hash)));
    if !auth::verify_password(body.password, hash).await {
        return Err(auth::invalid_credentials());
    }
    let user_id = user_id.ok_or_else(auth::invalid_credentials)?;
    let (user, _) = state.store().load::<User>(&user_stream(user_id)).await?;
    let memberships = read::memberships_of(state.store().pool(), user_id)
        .await?
        .into_iter()
        .map(|m| TokenMembership {
            business_id: m.business_id,
            slug: m.slug,
            role: m.role,
        })
        .collect();
    let roles = user
        .platform_roles
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    let now = state.store().clock().now();
    let token =
        state
            .tenancy()
            .keys
            .issue(&auth::claims(user_id, &email, memberships, roles, now))?;
    Ok(ApiJson(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_SECONDS,
    })))
}

/// The caller, their platform roles and their businesses.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, description = "user, platform_roles, businesses"),
              (status = 401, description = "unauthenticated")))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<ApiJson<Value>, ApiError> {
    let (profile, _) = state
        .store()
        .load::<User>(&user_stream(user.user_id))
        .await?;
    if profile.id.is_none() {
        return Err(ApiError::not_found("user"));
    }
    let businesses = read::memberships_of(state.store().pool(), user.user_id).await?;
    let roles: Vec<&str> = profile.platform_roles.iter().map(|r| r.as_str()).collect();
    Ok(ApiJson(json!({
        "user": {"id": user.user_id, "email": profile.email},
        "platform_roles": roles,
        "businesses": businesses,
    })))
}
