//! Idempotency keys (DESIGN.md §7): an `Idempotency-Key` header or a Vapi tool-call id maps to the first
//! outcome of its request. The record is written in the same transaction as that outcome's events, so a
//! retry sees either nothing (and runs the request) or the finished outcome — never a half.

use axum::http::StatusCode;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use super::Reply;
use crate::ApiError;

/// Namespace of booking ids derived from idempotency keys (UUID v5).
const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x3b9e_27c4_91d5_4f6a_8e02_c7d1_5a94_b63e);

/// The booking id a keyed request creates: the same for every retry, so concurrent retries race on one
/// stream and exactly one of them can create it.
pub fn booking_id_for_key(tenant: Uuid, key: &str) -> Uuid {
    Uuid::new_v5(&KEY_NAMESPACE, format!("{tenant}/{key}").as_bytes())
}

/// sha256 of the operation name and the canonical JSON of the request.
pub fn request_hash<R: Serialize>(operation: &str, request: &R) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(request).unwrap_or_default());
    hasher.finalize().to_vec()
}

/// The reply first given for `key`, if any; an error when the key was used for a different request.
pub async fn replay<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    tenant: Uuid,
    key: &str,
    hash: &[u8],
) -> Result<Option<Reply>, ApiError> {
    let row = sqlx::query(
        "select request_hash, status_code, response from idempotency_keys \
         where tenant_id = $1 and key = $2",
    )
    .bind(tenant)
    .bind(key)
    .fetch_optional(executor)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored: Vec<u8> = row.try_get("request_hash")?;
    if stored != hash {
        return Err(ApiError::validation(
            "idempotency_key_reused",
            "this idempotency key was already used for a different request",
        ));
    }
    let status: i32 = row.try_get("status_code")?;
    Ok(Some(Reply {
        status: u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK),
        body: row.try_get("response")?,
    }))
}
