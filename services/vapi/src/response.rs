//! Response bodies in exactly the shapes Vapi reads (VAPI.md "Messages that need an answer").
//!
//! Tool results are strings that Vapi hands to the model verbatim; a newline in one makes Vapi
//! drop the result, so every string leaving this module is forced onto a single line.

mod validate;

use serde::Serialize;
use serde_json::{Map, Value, json};

pub use validate::{validate_tool_response, validate_tool_response_for};

use crate::message::ToolCall;

/// Name sent when a tool call arrived without one; the schema requires a non-empty `name`, and
/// Vapi matches results by `toolCallId` anyway.
pub const UNNAMED_TOOL: &str = "unknown";

/// `{"results": [...]}` for a `tool-calls` message: one entry per call, in call order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolResults {
    results: Vec<ToolResult>,
}

/// One entry of [`ToolResults`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResult {
    /// The exact id of the call answered.
    pub tool_call_id: String,
    /// The tool name.
    pub name: String,
    /// `result` or `error`, always a single-line string.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The two ways to answer a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Serialized as `"result"`.
    Result(String),
    /// Serialized as `"error"`.
    Error(String),
}

impl ToolResults {
    /// An empty result list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `n` results.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            results: Vec::with_capacity(n),
        }
    }

    /// Answers `tool_call_id` with `result` written as compact, single-line JSON text.
    pub fn push_json(&mut self, tool_call_id: &str, name: &str, result: &Value) {
        self.push(tool_call_id, name, Outcome::Result(compact_json(result)));
    }

    /// Answers `tool_call_id` with plain text (line breaks become spaces).
    pub fn push_text(&mut self, tool_call_id: &str, name: &str, text: &str) {
        self.push(tool_call_id, name, Outcome::Result(single_line(text)));
    }

    /// Answers `tool_call_id` with an error the agent can relay (line breaks become spaces).
    pub fn push_error(&mut self, tool_call_id: &str, name: &str, message: &str) {
        self.push(tool_call_id, name, Outcome::Error(single_line(message)));
    }

    /// Answers a parsed call: `Ok` becomes a JSON `result`, `Err` an `error`.
    pub fn answer<E: std::fmt::Display>(&mut self, call: &ToolCall, outcome: Result<&Value, E>) {
        match outcome {
            Ok(result) => self.push_json(&call.id, &call.name, result),
            Err(error) => self.push_error(&call.id, &call.name, &error.to_string()),
        }
    }

    fn push(&mut self, tool_call_id: &str, name: &str, outcome: Outcome) {
        let name = name.trim();
        self.results.push(ToolResult {
            tool_call_id: tool_call_id.to_owned(),
            name: if name.is_empty() { UNNAMED_TOOL } else { name }.to_owned(),
            outcome,
        });
    }

    /// The entries so far.
    pub fn results(&self) -> &[ToolResult] {
        &self.results
    }

    /// The response body as a JSON value.
    pub fn to_value(&self) -> Value {
        let results = self
            .results
            .iter()
            .map(|r| {
                let (key, text) = match &r.outcome {
                    Outcome::Result(text) => ("result", text),
                    Outcome::Error(text) => ("error", text),
                };
                json!({"toolCallId": r.tool_call_id, "name": r.name, key: text})
            })
            .collect::<Vec<_>>();
        json!({ "results": results })
    }
}

/// `{"result": "..."}` for a legacy `function-call`, from a JSON result.
pub fn function_call_result(result: &Value) -> Value {
    json!({ "result": compact_json(result) })
}

/// `{"result": "..."}` for a legacy `function-call`, from text (an error is sent this way too:
/// the legacy protocol has no error field the model reads).
pub fn function_call_text(text: &str) -> Value {
    json!({ "result": single_line(text) })
}

/// `{"error": "..."}`: spoken to the caller on `assistant-request`, refused transfer on
/// `transfer-destination-request`.
pub fn error_response(message: &str) -> Value {
    json!({ "error": single_line(message) })
}

/// `{}`: the answer to every informational message.
pub fn empty() -> Value {
    Value::Object(Map::new())
}

/// The answer to an `assistant-request`.
#[derive(Debug, Clone, PartialEq)]
pub enum AssistantResponse {
    /// A saved assistant with per-call overrides:
    /// `{"assistantId", "assistantOverrides": {"variableValues", "metadata", ...other}}`.
    Saved {
        /// The saved assistant's id.
        assistant_id: String,
        /// Values for `{{placeholders}}` in the assistant's prompts.
        variable_values: Map<String, Value>,
        /// Echoed back on every later message of the call (`call.assistantOverrides.metadata`).
        metadata: Map<String, Value>,
        /// Any further override keys (`firstMessage`, …); they cannot replace the two above.
        other_overrides: Map<String, Value>,
    },
    /// A full transient assistant: `{"assistant": {...}}`.
    Transient(Value),
    /// Forward the call: `{"destination": {"type": "number", "number"}}`.
    Transfer {
        /// E.164 number to forward to.
        number: String,
    },
    /// Refuse the call with a sentence spoken to the caller: `{"error": "..."}`.
    Error(String),
}

impl AssistantResponse {
    /// The response body.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Saved {
                assistant_id,
                variable_values,
                metadata,
                other_overrides,
            } => {
                let mut overrides = other_overrides.clone();
                overrides.insert(
                    "variableValues".into(),
                    Value::Object(variable_values.clone()),
                );
                overrides.insert("metadata".into(), Value::Object(metadata.clone()));
                json!({ "assistantId": assistant_id, "assistantOverrides": overrides })
            }
            Self::Transient(assistant) => json!({ "assistant": assistant }),
            Self::Transfer { number } => {
                json!({ "destination": { "type": "number", "number": number } })
            }
            Self::Error(message) => error_response(message),
        }
    }
}

/// Puts text on one line: CR, LF, CRLF and the Unicode line and paragraph separators become a
/// single space each.
pub fn single_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push(' ');
            }
            '\n' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Compact JSON text with no line break of any kind. `serde_json` already escapes CR and LF inside
/// strings; the Unicode separators it leaves raw are escaped here, which keeps the JSON exact.
pub fn compact_json(value: &Value) -> String {
    let text = value.to_string();
    if !text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return text;
    }
    text.replace('\u{85}', "\\u0085")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}
