//! Tool calls and the legacy function call, with arguments as an object or as a JSON string.

use serde_json::{Map, Value};

use super::{at, str_at};
use crate::tools::{ArgError, Tool, ToolArgs};

/// One tool call to answer. A bad argument payload is kept as an error on the call itself, so
/// the other calls of the message still run and this one gets an `error` result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The exact id to echo back as `toolCallId`; also the idempotency key of side effects.
    pub id: String,
    /// The tool name as sent (may be empty if the payload had none).
    pub name: String,
    /// The argument object, or why it could not be read.
    pub arguments: Result<Map<String, Value>, ArgError>,
}

impl ToolCall {
    /// The tool this call names.
    pub fn tool(&self) -> Tool {
        Tool::from_name(&self.name)
    }

    /// The validated arguments for [`ToolCall::tool`].
    pub fn args(&self) -> Result<ToolArgs, ArgError> {
        let arguments = self.arguments.as_ref().map_err(Clone::clone)?;
        ToolArgs::parse(&self.tool(), arguments)
    }
}

/// The legacy `functionCall: {name, parameters}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    /// The function name as sent.
    pub name: String,
    /// The parameter object, or why it could not be read.
    pub parameters: Result<Map<String, Value>, ArgError>,
}

impl FunctionCall {
    /// The tool this call names.
    pub fn tool(&self) -> Tool {
        Tool::from_name(&self.name)
    }

    /// The validated parameters for [`FunctionCall::tool`].
    pub fn args(&self) -> Result<ToolArgs, ArgError> {
        let parameters = self.parameters.as_ref().map_err(Clone::clone)?;
        ToolArgs::parse(&self.tool(), parameters)
    }
}

/// The tool calls of `message` and how many entries had to be dropped for lack of an id.
pub(super) fn extract(message: &Value) -> (Vec<ToolCall>, usize) {
    let entries: Vec<(&Value, Option<&Value>)> =
        if let Some(list) = non_empty(message, "toolCallList") {
            list.iter().map(|call| (call, None)).collect()
        } else if let Some(list) = non_empty(message, "toolWithToolCallList") {
            // Each entry is a tool definition with the call under `toolCall`; the definition's
            // `function.name` stands in when the call itself lacks one.
            list.iter()
                .filter_map(|entry| Some((at(entry, &["toolCall"])?, Some(entry))))
                .collect()
        } else if let Some(list) = non_empty(message, "toolCalls") {
            list.iter().map(|call| (call, None)).collect()
        } else {
            Vec::new()
        };
    let mut calls = Vec::with_capacity(entries.len());
    let mut dropped = 0;
    for (call, definition) in entries {
        let Some(id) = id_of(call) else {
            dropped += 1;
            continue;
        };
        let name = str_at(call, &["function", "name"])
            .or_else(|| str_at(call, &["name"]))
            .or_else(|| definition.and_then(|d| str_at(d, &["function", "name"])))
            .unwrap_or("")
            .trim()
            .to_owned();
        let raw_args = at(call, &["function", "arguments"])
            .or_else(|| at(call, &["function", "parameters"]))
            .or_else(|| at(call, &["arguments"]))
            .or_else(|| at(call, &["parameters"]));
        calls.push(ToolCall {
            id,
            name,
            arguments: arguments(raw_args),
        });
    }
    (calls, dropped)
}

/// The legacy `functionCall`, when present.
pub(super) fn extract_function_call(message: &Value) -> Option<FunctionCall> {
    let call = at(message, &["functionCall"]).filter(|c| c.is_object())?;
    Some(FunctionCall {
        name: str_at(call, &["name"]).unwrap_or("").trim().to_owned(),
        parameters: arguments(at(call, &["parameters"]).or_else(|| at(call, &["arguments"]))),
    })
}

fn non_empty<'v>(message: &'v Value, key: &str) -> Option<&'v Vec<Value>> {
    at(message, &[key])?
        .as_array()
        .filter(|list| !list.is_empty())
}

/// The call id, exactly as sent (a number is accepted and written out as text).
fn id_of(call: &Value) -> Option<String> {
    match at(call, &["id"])? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads tool arguments sent as an object or as a JSON string. Absent, `null` and `""` mean "no
/// arguments". A string holding a JSON-encoded string is unwrapped once, since models sometimes
/// double-encode.
pub fn arguments(raw: Option<&Value>) -> Result<Map<String, Value>, ArgError> {
    match raw {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(Value::String(text)) => match decode(text)? {
            Value::String(inner) => match decode(&inner)? {
                Value::String(_) => Err(ArgError::NotAnObject { got: "a string" }),
                other => object(other),
            },
            other => object(other),
        },
        Some(other) => object(other.clone()),
    }
}

fn decode(text: &str) -> Result<Value, ArgError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| ArgError::Garbled {
        detail: e.to_string(),
    })
}

fn object(value: Value) -> Result<Map<String, Value>, ArgError> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        Value::Bool(_) => Err(ArgError::NotAnObject { got: "a boolean" }),
        Value::Number(_) => Err(ArgError::NotAnObject { got: "a number" }),
        Value::String(_) => Err(ArgError::NotAnObject { got: "a string" }),
        Value::Array(_) => Err(ArgError::NotAnObject { got: "a list" }),
    }
}
