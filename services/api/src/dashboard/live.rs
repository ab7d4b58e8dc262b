//! `GET /api/v1/businesses/{slug}/live`: the business's call and booking events as Server-Sent Events,
//! pushed as the relay publishes them on NATS.
//!
//! Each event is `event: <EventType>`, `id: <global position>` and
//! `data: {"stream_id","type","occurred_at","data":{…the event payload…}}`; a keep-alive comment goes out
//! every 15 s. The feed subscribes with core NATS to `<prefix>.events.<tenant>.call.>` and
//! `….booking.>` (core subscriptions see what the relay publishes to JetStream), so an event reaches the
//! browser as soon as the relay has published it — no projector is in between.
//!
//! It is a *live* view, not a log: it starts at the moment of connecting, does not replay on
//! `Last-Event-ID`, and a client that falls far behind may miss messages (NATS drops for slow
//! consumers). A reconnecting dashboard reloads `/dashboard` and the lists, then follows the feed again.
//!
//! Authentication: browsers' `EventSource` cannot send headers, so besides `Authorization: Bearer …`
//! this route (and only this one) accepts the same access token as `?access_token=…`. Tokens are
//! short-lived (see [`crate::tenancy::auth::TOKEN_TTL_SECONDS`]); keep request-URI logging below the level
//! production logs at, since the URI then carries the token.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use domain::tenancy::Permission;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use store::StoredEvent;
use store::bus::position_from_headers;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::tenancy::access::access;
use crate::tenancy::auth::AuthUser;
use crate::{ApiError, AppState};

/// How often an idle feed sends a keep-alive comment (proxies close silent connections).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How many recent event ids a feed remembers to drop a republished duplicate.
const RECENT: usize = 1024;

/// The token for clients that cannot set headers (`EventSource`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// The bearer token, for browsers' `EventSource`; ignored when an `Authorization` header is sent.
    access_token: Option<String>,
}

/// A user authenticated by `Authorization: Bearer …` or, failing a header, by `?access_token=…`.
#[derive(Debug, Clone)]
pub struct StreamUser(pub AuthUser);

impl FromRequestParts<AppState> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return AuthUser::from_request_parts(parts, state).await.map(Self);
        }
        let unauthenticated = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid bearer token is required (header, or access_token for EventSource)",
            )
        };
        let Query(query) = Query::<LiveQuery>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("malformed query string"))?;
        let token = query.access_token.ok_or_else(unauthenticated)?;
        let claims = state
            .tenancy()
            .keys
            .verify(token.trim())
            .ok_or_else(unauthenticated)?;
        Ok(Self(AuthUser {
            user_id: claims.sub,
            email: claims.email,
        }))
    }
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/live", tag = "dashboard",
    params(("slug" = String, Path, description = "business slug"), LiveQuery),
    responses((status = 200, description = "text/event-stream of call and booking events", content_type = "text/event-stream"),
        (status = 401, description = "no valid token (header or access_token)"),
        (status = 404, description = "unknown business, or not a member"),
        (status = 503, description = "NATS is not available")),
    security(("bearer" = [])))]
pub async fn live(
    State(state): State<AppState>,
    StreamUser(user): StreamUser,
    Path(slug): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "live feed").await?;
    let nats = state.nats().ok_or_else(ApiError::unavailable)?;
    let base = format!(
        "{}.events.{}",
        state.bus().subject_prefix,
        tenant.business_id.simple()
    );
    let subscribe = |kind: &str| nats.subscribe(format!("{base}.{kind}.>"));
    let unavailable = |e: async_nats::SubscribeError| {
        tracing::warn!(error = %e, "live feed cannot subscribe");
        ApiError::unavailable()
    };
    let calls = subscribe("call").await.map_err(unavailable)?;
    let bookings = subscribe("booking").await.map_err(unavailable)?;
    let store_id = state.store().identity().store_id;
    let mut recent = Recent::default();
    let events = futures::stream::select(calls, bookings)
        .filter_map(move |msg| std::future::ready(sse_event(&msg, store_id, &mut recent)))
        .map(Ok)
        .take_until(state.closing().clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The SSE event for a relayed message; `None` for another store's message, a duplicate or garbage.
fn sse_event(msg: &async_nats::Message, store_id: Uuid, recent: &mut Recent) -> Option<Event> {
    let (store, position) = position_from_headers(msg.headers.as_ref()?).ok()?;
    if store != store_id {
        return None;
    }
    let event: StoredEvent = serde_json::from_slice(&msg.payload).ok()?;
    // A field name in the SSE framing must be a single line.
    if event.event_type.contains(['\n', '\r']) || !recent.first_time(event.event_id) {
        return None;
    }
    let occurred_at = event
        .data
        .get("occurred_at")
        .cloned()
        .unwrap_or_else(|| json!(event.recorded_at));
    let body = json!({"stream_id": event.stream_id, "type": event.event_type,
                      "occurred_at": occurred_at, "data": event.data});
    Some(
        Event::default()
            .event(&event.event_type)
            .id(position.global_position.to_string())
            .data(body.to_string()),
    )
}

/// The last [`RECENT`] event ids seen: the relay may publish an event again after a re-sync, and core
/// subscribers receive it even when JetStream drops it as a duplicate.
#[derive(Debug, Default)]
struct Recent {
    order: VecDeque<Uuid>,
    ids: HashSet<Uuid>,
}

impl Recent {
    fn first_time(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > RECENT
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_republished_event_is_sent_once_and_old_ids_are_forgotten() {
        let mut recent = Recent::default();
        let first = Uuid::from_u128(1);
        assert!(recent.first_time(first));
        assert!(!recent.first_time(first));
        for i in 2..=u128::try_from(RECENT).unwrap() + 1 {
            assert!(recent.first_time(Uuid::from_u128(i)));
        }
        assert_eq!(recent.ids.len(), RECENT);
        assert!(recent.first_time(first), "the oldest id was not forgotten");
    }
}
