//! `POST /vapi/webhook`: the one endpoint the shared Vapi agent calls (DESIGN.md §8, VAPI.md).
//!
//! Order of work, on purpose: authenticate over the raw bytes before parsing anything (401, nothing
//! recorded); parse leniently; route to a business by the number called; then answer by message type.
//! Tool calls always get HTTP 200 with one result per call; informational messages are recorded as call
//! events and answered `{}`.

pub mod assistant;
pub mod calls;
pub mod lifecycle;
pub mod routing;
pub mod tools;

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vapi::MessageType;
use vapi::auth::AuthConfig;

use crate::AppState;

/// Webhook settings, from the environment.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `VAPI_WEBHOOK_SECRET` and/or `VAPI_HMAC_SECRET`.
    pub auth: AuthConfig,
    /// `VAPI_ASSISTANT_ID`: answer assistant-requests with this saved assistant plus overrides.
    pub assistant_id: Option<String>,
    /// `VOICEAPPOINT_PUBLIC_URL`: where Vapi reaches us (tool server URL in transient assistants).
    pub public_url: String,
    /// `VAPI_API_KEY`: when set, claimed numbers are pointed at this webhook through Vapi's API.
    pub provisioning: Option<crate::vapi_client::VapiClient>,
}

impl WebhookConfig {
    /// Reads the environment. With no secret configured the webhook refuses everything (401) rather
    /// than run open; `voiceappoint dev` sets a development secret and prints it.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let auth = AuthConfig::new(var("VAPI_WEBHOOK_SECRET"), var("VAPI_HMAC_SECRET")).unwrap_or_else(|_| {
            tracing::warn!("neither VAPI_WEBHOOK_SECRET nor VAPI_HMAC_SECRET is set: the Vapi webhook refuses every request");
            // A secret nobody knows: every request fails authentication.
            AuthConfig::new(Some(uuid::Uuid::new_v4().to_string()), None)
                .unwrap_or_else(|_| AuthConfig::insecure_allow_all())
        });
        Self {
            auth,
            assistant_id: var("VAPI_ASSISTANT_ID"),
            public_url: var("VOICEAPPOINT_PUBLIC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned()),
            provisioning: crate::vapi_client::VapiClient::from_env(),
        }
    }
}

/// After a claim: point the Vapi number at this webhook (and the shared assistant), in the background.
/// The claim itself never waits on Vapi; a failure is logged and the number can be re-claimed.
pub fn provision_number(state: &AppState, provider_phone_number_id: &str) {
    let config = state.webhook();
    let Some(client) = config.provisioning.clone() else {
        return;
    };
    let server_url = format!("{}/vapi/webhook", config.public_url.trim_end_matches('/'));
    let assistant = config.assistant_id.clone();
    let id = provider_phone_number_id.to_owned();
    tokio::spawn(async move {
        match client
            .assign_number(&id, &server_url, assistant.as_deref())
            .await
        {
            Ok(_) => tracing::info!(phone_number_id = %id, "Vapi number pointed at this webhook"),
            Err(err) => {
                tracing::error!(phone_number_id = %id, error = %err, "Vapi provisioning failed");
            }
        }
    });
}

/// The webhook and the call log routes, with their `OpenAPI` operations.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhook))
        .merge(calls::routes())
}

#[utoipa::path(post, path = "/vapi/webhook", tag = "vapi",
    description = "Vapi server messages (VAPI.md), authenticated by `x-vapi-secret` or HMAC over the raw body.",
    request_body(content = Object, description = "a Vapi server message: {\"message\": {\"type\": …}}"),
    responses((status = 200, description = "the answer for the message type ({} for informational ones)"),
        (status = 400, description = "malformed message"), (status = 401, description = "authentication failed")))]
async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let now_ms = state.store().clock().now().timestamp_millis();
    let lookup = vapi::auth::from_fn(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    if let Err(err) = vapi::auth::verify(&lookup, &body, &state.webhook().auth, now_ms) {
        metrics::counter!("va_webhook_unauthorized_total").increment(1);
        tracing::warn!(error = %err, "vapi webhook refused");
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "unauthorized", "message": "webhook authentication failed"})),
        )
            .into_response();
    }
    let message = match vapi::parse(&body) {
        Ok(m) => m,
        Err(err) => {
            metrics::counter!("va_webhook_malformed_total").increment(1);
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"code": "malformed_webhook", "message": err.to_string()})),
            )
                .into_response();
        }
    };
    let kind = message.kind().clone();
    let response = match kind {
        MessageType::AssistantRequest => assistant::answer(&state, &message).await,
        MessageType::ToolCalls => tools::answer(&state, &message).await,
        MessageType::FunctionCall => tools::answer_function_call(&state, &message).await,
        MessageType::StatusUpdate
        | MessageType::EndOfCallReport
        | MessageType::Transcript
        | MessageType::Hang => lifecycle::answer(&state, &message).await,
        _ => Json(vapi::response::empty()).into_response(),
    };
    let label = message_label(&kind);
    metrics::histogram!("va_webhook_seconds", "type" => label)
        .record(started.elapsed().as_secs_f64());
    response
}

fn message_label(kind: &MessageType) -> &'static str {
    match kind {
        MessageType::AssistantRequest => "assistant-request",
        MessageType::ToolCalls => "tool-calls",
        MessageType::FunctionCall => "function-call",
        MessageType::StatusUpdate => "status-update",
        MessageType::EndOfCallReport => "end-of-call-report",
        MessageType::Transcript => "transcript",
        MessageType::Hang => "hang",
        _ => "other",
    }
}
