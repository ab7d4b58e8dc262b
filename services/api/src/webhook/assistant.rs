//! `assistant-request`: the shared agent, configured for the business whose number was called.
//!
//! With `VAPI_ASSISTANT_ID` set, the saved assistant plus per-call overrides (variable values and
//! metadata naming the tenant); otherwise a full transient assistant carrying our tool definitions and
//! pointing back at this webhook. `{"error": …}` (spoken to the caller) for unknown numbers and for
//! businesses with voice booking off. Must be fast: Vapi gives up after 7.5 s.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use domain::call::Observation;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use vapi::Message;
use vapi::response::AssistantResponse;

use crate::AppState;
use crate::tenancy::read::{AgentView, BusinessView, ServiceView};

pub async fn answer(state: &AppState, message: &Message) -> Response {
    let refuse = |sentence: &str| {
        Json(AssistantResponse::Error(sentence.to_owned()).to_value()).into_response()
    };
    let business = match super::routing::business_for(state, message).await {
        Ok(Some(b)) => b,
        Ok(None) => return refuse("Sorry, this number is not connected to a business. Goodbye."),
        Err(err) => {
            tracing::warn!(error = %err, "assistant-request routing failed");
            return refuse("Sorry, we cannot take your call right now. Please try again later.");
        }
    };
    let snapshot = match snapshot(state, business.business_id).await {
        Ok(Some(snapshot)) => snapshot,
        Ok(None) => {
            return refuse("Sorry, this number is not connected to a business. Goodbye.");
        }
        Err(err) => {
            tracing::warn!(error = %err, "assistant-request could not read the catalog");
            return refuse("Sorry, we cannot take your call right now. Please try again later.");
        }
    };
    let AssistantCatalog {
        view,
        agent,
        services,
    } = &*snapshot;
    if !view.voice_booking_enabled {
        return refuse(&format!(
            "Thank you for calling {}. We are not taking bookings by phone right now.",
            view.name
        ));
    }
    if message.call_id().is_some()
        && let Err(err) =
            super::lifecycle::record(state, &business, message, &Observation::Seen).await
    {
        tracing::warn!(error = %err, "could not record the call start");
    }
    let now = state.store().clock().now();
    let tz: chrono_tz::Tz = view.timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = now.with_timezone(&tz).format("%A %Y-%m-%d").to_string();
    let services: Vec<&ServiceView> = services
        .iter()
        .filter(|s| s.voice_booking_enabled)
        .collect();
    let response = build(state, view, agent.as_ref(), &services, &today);
    Json(response.to_value()).into_response()
}

/// What an assistant is built from: the business, its agent settings and its services.
#[derive(Debug)]
pub struct AssistantCatalog {
    view: BusinessView,
    agent: Option<AgentView>,
    services: Vec<ServiceView>,
}

/// The business's [`AssistantCatalog`] at its current catalog revision: one query when cached (the
/// revision), else the three reads; `None` for a business the read model does not know.
async fn snapshot(
    state: &AppState,
    tenant: Uuid,
) -> Result<Option<Arc<AssistantCatalog>>, sqlx::Error> {
    let pool = state.store().pool();
    let revision = crate::booking::catalog::revision(pool, tenant).await?;
    if let Some(cached) = state.assistants().get(tenant, revision) {
        return Ok(Some(cached));
    }
    let (view, agent, services) = tokio::try_join!(
        crate::tenancy::read::business(pool, tenant),
        crate::tenancy::read::agent(pool, tenant),
        crate::tenancy::read::services(pool, tenant, false),
    )?;
    let Some(view) = view else {
        return Ok(None);
    };
    let snapshot = Arc::new(AssistantCatalog {
        view,
        agent,
        services,
    });
    state
        .assistants()
        .put(tenant, revision, Arc::clone(&snapshot));
    Ok(Some(snapshot))
}

fn build(
    state: &AppState,
    view: &BusinessView,
    agent: Option<&AgentView>,
    services: &[&ServiceView],
    today: &str,
) -> AssistantResponse {
    let config = state.webhook();
    let service_line = services
        .iter()
        .map(|s| {
            format!(
                "{} ({} min, {} {})",
                s.name, s.duration_minutes, s.price, s.currency
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut variables = Map::new();
    variables.insert("business_name".into(), json!(view.name));
    variables.insert("business_type".into(), json!(view.business_type));
    variables.insert("timezone".into(), json!(view.timezone));
    variables.insert("today".into(), json!(today));
    variables.insert("services".into(), json!(service_line));
    let mut metadata = Map::new();
    metadata.insert("tenant_id".into(), json!(view.id));
    metadata.insert("business_slug".into(), json!(view.slug));
    let greeting = agent.map_or_else(
        || {
            format!(
                "Thank you for calling {}. How can I help you today?",
                view.name
            )
        },
        |a| a.greeting.clone(),
    );
    if let Some(id) = &config.assistant_id {
        let mut other = Map::new();
        other.insert("firstMessage".into(), json!(greeting));
        AssistantResponse::Saved {
            assistant_id: id.clone(),
            variable_values: variables,
            metadata,
            other_overrides: other,
        }
    } else {
        let url = format!("{}/vapi/webhook", config.public_url.trim_end_matches('/'));
        let prompt = system_prompt(view, agent, &service_line, today);
        let mut assistant = json!({
            "name": agent.map_or("VoiceAppoint", |a| a.name.as_str()),
            "firstMessage": greeting,
            "model": {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "messages": [{"role": "system", "content": prompt}],
                "tools": vapi::tools::tool_definitions(&url),
            },
            "server": {"url": url},
            "metadata": Value::Object(metadata),
        });
        if let Some(voice) = agent.and_then(|a| a.voice_id.as_deref()) {
            assistant["voice"] = json!({"provider": "11labs", "voiceId": voice});
        }
        AssistantResponse::Transient(assistant)
    }
}

/// How the agent should behave, adapted to the kind of business and the owner's own instructions.
fn system_prompt(
    view: &BusinessView,
    agent: Option<&AgentView>,
    services: &str,
    today: &str,
) -> String {
    let role = match view.business_type.as_str() {
        "salon" | "barber" | "spa" => "the friendly front desk of a salon/spa",
        "clinic" | "dental" | "medical" => {
            "the calm, discreet receptionist of a clinic; never give medical advice"
        }
        "restaurant" => "the host of a restaurant taking table reservations",
        _ => "a helpful receptionist",
    };
    let mut prompt = format!(
        "You are {role} for {name}. Today is {today} ({tz}). Services: {services}. \
         Always use the tools: check availability before offering times, book only a slot the tool \
         returned, confirm the date and time back to the caller in their words, and never invent prices, \
         hours or slots. Times from tools carry the business's UTC offset.",
        name = view.name,
        tz = view.timezone,
    );
    if let Some(agent) = agent {
        if let Some(p) = &agent.personality {
            let _ = write!(prompt, " Personality: {p}.");
        }
        if let Some(i) = &agent.instructions {
            let _ = write!(prompt, " Owner's instructions: {i}");
        }
    }
    prompt
}
