//! Passwords (argon2id) and access tokens (HS256 JWT with the user id and memberships), plus the
//! [`AuthUser`] extractor that turns `Authorization: Bearer …` into a verified user id.
//!
//! `JWT_SECRET` comes from the environment. Without it the process makes a random secret at start-up and
//! logs a warning: fine for `voiceappoint dev` and tests, but tokens then die with the process and are not
//! accepted by other instances, so production must set it.

use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ApiError, AppState};

/// How long an access token lives.
pub const TOKEN_TTL_SECONDS: i64 = 3600;

/// A business membership as carried in a token (a snapshot: authorization re-checks the business).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenMembership {
    pub business_id: Uuid,
    pub slug: String,
    pub role: String,
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub email: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub memberships: Vec<TokenMembership>,
    #[serde(default)]
    pub platform_roles: Vec<String>,
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(…)")
    }
}

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: Arc::new(EncodingKey::from_secret(secret)),
            decoding: Arc::new(DecodingKey::from_secret(secret)),
        }
    }

    /// `JWT_SECRET` from the environment, or a random per-process secret (with a warning).
    pub fn from_env() -> Self {
        match std::env::var("JWT_SECRET") {
            Ok(secret) if secret.len() >= 16 => Self::from_secret(secret.as_bytes()),
            Ok(_) => {
                tracing::warn!(
                    "JWT_SECRET is shorter than 16 bytes; using a random secret instead"
                );
                Self::random()
            }
            Err(_) => {
                tracing::warn!(
                    "JWT_SECRET is not set: using a random secret; tokens end with this process"
                );
                Self::random()
            }
        }
    }

    fn random() -> Self {
        let secret: [u8; 32] = rand::random();
        Self::from_secret(&secret)
    }

    /// Signs a token for `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| ApiError::internal(&e))
    }

    /// Verifies signature and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Builds the claims of a token issued at `now`.
pub fn claims(
    user_id: Uuid,
    email: &str,
    memberships: Vec<TokenMembership>,
    platform_roles: Vec<String>,
    now: DateTime<Utc>,
) -> Claims {
    Claims {
        sub: user_id,
        email: email.to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + TOKEN_TTL_SECONDS,
        memberships,
        platform_roles,
    }
}

/// Hashes a password with argon2id (default parameters) on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::internal(&e))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
}

/// Checks a password against a stored hash. With no hash (unknown email) a dummy hash is checked so an
/// unknown email costs the same time as a wrong password.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        known && ok
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// The uniform answer to a failed login: the same for an unknown email and a wrong password.
pub fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "email or password is incorrect",
    )
}

/// A request authenticated with a valid bearer token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub email: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthenticated = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid bearer token is required",
            )
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(unauthenticated)?;
        let claims = state
            .tenancy()
            .keys
            .verify(token.trim())
            .ok_or_else(unauthenticated)?;
        Ok(Self {
            user_id: claims.sub,
            email: claims.email,
        })
    }
}
