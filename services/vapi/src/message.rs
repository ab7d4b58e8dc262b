//! Lenient parsing of the `{"message": {...}}` envelope Vapi posts to our server URL.
//!
//! Everything but the envelope itself is optional: Vapi adds message types and fields often, and
//! redelivered bodies differ from the first delivery (VAPI.md "Delivery"). So the whole JSON tree
//! is kept and read through typed accessors that return `None` rather than fail, and a broken
//! tool call spoils only itself, never the message it came in.

mod fields;
mod report;
mod tool_call;

use serde_json::{Map, Value};

pub use report::{ArtifactMessage, CostBreakdown, TranscriptType, usd_to_micros};
pub use tool_call::{FunctionCall, ToolCall, arguments as parse_arguments};

/// Why a body is not a Vapi message at all (answered with 400 upstream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON but not an object.
    #[error("the body is not a JSON object")]
    NotAnObject,
    /// There is no `message` object in the envelope.
    #[error("the body has no \"message\" object")]
    MissingMessage,
}

/// `message.type`. Open: unknown types are kept verbatim (a missing type is `Other("")`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `assistant-request`: answer with an assistant within 7.5 s.
    AssistantRequest,
    /// `tool-calls`: answer with tool results.
    ToolCalls,
    /// Legacy `function-call`: answer with `{"result": ...}`.
    FunctionCall,
    /// `transfer-destination-request`: answer with a destination or an error.
    TransferDestinationRequest,
    /// `status-update`
    StatusUpdate,
    /// `end-of-call-report`
    EndOfCallReport,
    /// `transcript`, including the filtered `transcript[transcriptType="final"]` form.
    Transcript,
    /// `hang`
    Hang,
    /// `speech-update`
    SpeechUpdate,
    /// `conversation-update`
    ConversationUpdate,
    /// `user-interrupted`
    UserInterrupted,
    /// `model-output`
    ModelOutput,
    /// Anything else, verbatim.
    Other(String),
}

impl MessageType {
    /// Maps the wire name.
    pub fn from_wire(raw: &str) -> Self {
        match raw {
            "assistant-request" => Self::AssistantRequest,
            "tool-calls" => Self::ToolCalls,
            "function-call" => Self::FunctionCall,
            "transfer-destination-request" => Self::TransferDestinationRequest,
            "status-update" => Self::StatusUpdate,
            "end-of-call-report" => Self::EndOfCallReport,
            "hang" => Self::Hang,
            "speech-update" => Self::SpeechUpdate,
            "conversation-update" => Self::ConversationUpdate,
            "user-interrupted" => Self::UserInterrupted,
            "model-output" => Self::ModelOutput,
            t if t == "transcript" || t.starts_with("transcript[") => Self::Transcript,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire name (`transcript` for both transcript forms).
    pub fn as_str(&self) -> &str {
        match self {
            Self::AssistantRequest => "assistant-request",
            Self::ToolCalls => "tool-calls",
            Self::FunctionCall => "function-call",
            Self::TransferDestinationRequest => "transfer-destination-request",
            Self::StatusUpdate => "status-update",
            Self::EndOfCallReport => "end-of-call-report",
            Self::Transcript => "transcript",
            Self::Hang => "hang",
            Self::SpeechUpdate => "speech-update",
            Self::ConversationUpdate => "conversation-update",
            Self::UserInterrupted => "user-interrupted",
            Self::ModelOutput => "model-output",
            Self::Other(other) => other,
        }
    }

    /// Whether Vapi uses our response body; for every other type the body is ignored and `{}`
    /// is the right answer.
    pub fn expects_answer(&self) -> bool {
        matches!(
            self,
            Self::AssistantRequest
                | Self::ToolCalls
                | Self::FunctionCall
                | Self::TransferDestinationRequest
        )
    }
}

/// A call status from `status-update` (or `call.status`). Open: new values are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// `scheduled`
    Scheduled,
    /// `queued`
    Queued,
    /// `ringing`
    Ringing,
    /// `in-progress`
    InProgress,
    /// `forwarding`
    Forwarding,
    /// `ended`
    Ended,
    /// Anything else (`not-found`, `deletion-failed`, …), verbatim.
    Other(String),
}

impl CallStatus {
    /// Maps the wire name.
    pub fn from_wire(raw: &str) -> Self {
        match raw {
            "scheduled" => Self::Scheduled,
            "queued" => Self::Queued,
            "ringing" => Self::Ringing,
            "in-progress" => Self::InProgress,
            "forwarding" => Self::Forwarding,
            "ended" => Self::Ended,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Ringing => "ringing",
            Self::InProgress => "in-progress",
            Self::Forwarding => "forwarding",
            Self::Ended => "ended",
            Self::Other(other) => other,
        }
    }

    /// Position in the call lifecycle, for a monotone state machine: a status whose rank is not
    /// above the current one is a repeat or a late arrival. `None` for unknown statuses.
    pub fn rank(&self) -> Option<u8> {
        match self {
            Self::Scheduled => Some(0),
            Self::Queued => Some(1),
            Self::Ringing => Some(2),
            Self::InProgress => Some(3),
            Self::Forwarding => Some(4),
            Self::Ended => Some(5),
            Self::Other(_) => None,
        }
    }
}

/// One parsed webhook message. Cheap accessors read the kept JSON tree on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    raw: Value,
    kind: MessageType,
    tool_calls: Vec<ToolCall>,
    unanswerable_tool_calls: usize,
    function_call: Option<FunctionCall>,
}

/// Parses a raw webhook body. Fails only when the body is not a `{"message": {...}}` envelope.
pub fn parse(raw: &[u8]) -> Result<Message, ParseError> {
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| ParseError::MalformedJson(e.to_string()))?;
    Message::from_value(value)
}

impl Message {
    /// Builds a message from an already-decoded envelope.
    pub fn from_value(raw: Value) -> Result<Self, ParseError> {
        let envelope = raw.as_object().ok_or(ParseError::NotAnObject)?;
        let message = envelope
            .get("message")
            .filter(|m| m.is_object())
            .ok_or(ParseError::MissingMessage)?;
        let kind =
            MessageType::from_wire(message.get("type").and_then(Value::as_str).unwrap_or(""));
        let (tool_calls, unanswerable_tool_calls) = tool_call::extract(message);
        let function_call = tool_call::extract_function_call(message);
        Ok(Self {
            raw,
            kind,
            tool_calls,
            unanswerable_tool_calls,
            function_call,
        })
    }

    /// The message type.
    pub fn kind(&self) -> &MessageType {
        &self.kind
    }

    /// The whole envelope as received, unknown fields included. Redact before storing it.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The envelope with secrets replaced (see [`crate::redact`]): what may be stored or logged.
    pub fn redacted(&self) -> Value {
        crate::redact(&self.raw)
    }

    /// The `message` object.
    pub fn body(&self) -> &Map<String, Value> {
        // `from_value` guarantees an object; the fallback keeps this total without a panic.
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.raw["message"]
            .as_object()
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The tool calls of a `tool-calls` message (from `toolCallList`, else
    /// `toolWithToolCallList[].toolCall`, else the deprecated `toolCalls`), in order. Entries
    /// without an id cannot be answered and are left out; see
    /// [`Message::unanswerable_tool_calls`].
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// How many tool-call entries had no id (worth a log line: Vapi will time out on them).
    pub fn unanswerable_tool_calls(&self) -> usize {
        self.unanswerable_tool_calls
    }

    /// The legacy `functionCall` of a `function-call` message.
    pub fn function_call(&self) -> Option<&FunctionCall> {
        self.function_call.as_ref()
    }

    pub(crate) fn msg(&self) -> &Value {
        &self.raw["message"]
    }

    pub(crate) fn call(&self) -> &Value {
        &self.raw["message"]["call"]
    }
}

/// Follows `path` through nested objects.
pub(crate) fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter()
        .try_fold(value, |node, key| node.as_object()?.get(*key))
        .filter(|v| !v.is_null())
}

/// A non-empty string at `path`.
pub(crate) fn str_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    at(value, path)?.as_str().filter(|s| !s.trim().is_empty())
}

/// A number at `path`, also accepting numeric strings.
pub(crate) fn f64_at(value: &Value, path: &[&str]) -> Option<f64> {
    match at(value, path)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite())
}
