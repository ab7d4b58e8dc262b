//! Events of a phone call (`call-<vapi call id>`) and of recorded usage (`usage-<vapi call id>`).
//!
//! Vapi gives no event ids and may deliver a message twice, three times, concurrently, or out of
//! order; so every call event gets a deterministic id from `(call id, kind, discriminator)` — see
//! [`call_event_id`] — and the store's idempotency by event id turns redeliveries into no-ops.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Namespace of the deterministic call-event ids.
const CALL_NAMESPACE: Uuid = Uuid::from_u128(0x5c1e_0b2a_7d41_4f0e_9a55_0c0a_11e0_0001);

/// The id of the call event of `kind` (e.g. `status:ended`, `tool:<tool call id>`) for `call_id`.
pub fn call_event_id(call_id: &str, kind: &str) -> Uuid {
    Uuid::new_v5(&CALL_NAMESPACE, format!("{call_id}|{kind}").as_bytes())
}

/// The stream of a call.
pub fn call_stream(call_id: &str) -> String {
    format!("call-{call_id}")
}

/// The stream of a call's recorded usage.
pub fn usage_stream(call_id: &str) -> String {
    format!("usage-{call_id}")
}

/// The first thing known about a call: who called which business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallStarted {
    pub call_id: String,
    pub business_id: Uuid,
    #[serde(default)]
    pub org_id: Option<String>,
    #[serde(default)]
    pub phone_number_id: Option<String>,
    #[serde(default)]
    pub dialled_number: Option<String>,
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default)]
    pub call_type: Option<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// Which message revealed the call (`assistant-request`, `status-update`, …).
    pub first_seen_in: String,
    pub occurred_at: DateTime<Utc>,
}

/// One tool call the agent made during the call, with what we answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInvoked {
    pub call_id: String,
    pub tool_call_id: String,
    pub name: String,
    pub arguments: serde_json::Value,
    /// `ok` or `error`.
    pub outcome: String,
    /// The single-line string sent back to Vapi (result or error).
    pub result: String,
    pub latency_ms: u64,
    #[serde(default)]
    pub appointment_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

/// Vapi's end-of-call report, secrets redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallReport {
    pub call_id: String,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    #[serde(default)]
    pub ended_reason: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub transcript: Option<String>,
    #[serde(default)]
    pub recording_url: Option<String>,
    /// Provider cost in micro-dollars.
    #[serde(default)]
    pub cost_micros: Option<i64>,
    #[serde(default)]
    pub cost_breakdown: serde_json::Value,
    /// The whole message, redacted, for auditors.
    #[serde(default)]
    pub raw: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// The events of a call stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CallEvent {
    CallStarted(CallStarted),
    CallStatusChanged {
        call_id: String,
        status: String,
        occurred_at: DateTime<Utc>,
    },
    ToolInvoked(ToolInvoked),
    TranscriptRecorded {
        call_id: String,
        role: String,
        text: String,
        occurred_at: DateTime<Utc>,
    },
    CallEnded {
        call_id: String,
        #[serde(default)]
        ended_reason: Option<String>,
        #[serde(default)]
        ended_at: Option<DateTime<Utc>>,
        occurred_at: DateTime<Utc>,
    },
    CallReportReceived(CallReport),
    /// Vapi's `hang`: the assistant waited too long (often on us).
    HangNotified {
        call_id: String,
        occurred_at: DateTime<Utc>,
    },
}

/// What is billed or costed: one fact per call and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum UsageEvent {
    UsageRecorded {
        business_id: Uuid,
        #[serde(default)]
        call_id: Option<String>,
        /// `voice_seconds`, `tool_call`, `booking`, `phone_number_day`.
        kind: String,
        quantity: i64,
        /// Provider (Vapi) cost in micro-dollars.
        provider_cost_micros: i64,
        /// The instant the usage is attributed to (a call: its start).
        usage_at: DateTime<Utc>,
        occurred_at: DateTime<Utc>,
    },
}

/// Vapi call statuses in the order a call goes through them; unknown statuses have no rank.
pub fn status_rank(status: &str) -> Option<u8> {
    match status {
        "scheduled" => Some(0),
        "queued" => Some(1),
        "ringing" => Some(2),
        "in-progress" => Some(3),
        "forwarding" => Some(4),
        "ended" => Some(5),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_call_and_kind_always_get_the_same_event_id() {
        assert_eq!(
            call_event_id("c1", "status:ended"),
            call_event_id("c1", "status:ended")
        );
        assert_ne!(
            call_event_id("c1", "status:ended"),
            call_event_id("c2", "status:ended")
        );
        assert_ne!(
            call_event_id("c1", "status:ended"),
            call_event_id("c1", "report")
        );
    }
}
