//! Checks a tool-calls response against Vapi's published rules, for our own tests and the API
//! tests: a `results` array whose entries carry a non-empty `toolCallId` and `name` and exactly
//! one of `result`/`error`, a string without line breaks.

use serde_json::Value;

use crate::message::ToolCall;

const LINE_BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// `Ok` when `response` is a valid `tool-calls` answer, else a description of the first problem.
pub fn validate_tool_response(response: &Value) -> Result<(), String> {
    let object = response
        .as_object()
        .ok_or("the response is not a JSON object")?;
    let results = object
        .get("results")
        .ok_or("the response has no \"results\"")?
        .as_array()
        .ok_or("\"results\" is not an array")?;
    results
        .iter()
        .enumerate()
        .try_for_each(|(i, entry)| validate_entry(entry).map_err(|e| format!("results[{i}]: {e}")))
}

fn validate_entry(entry: &Value) -> Result<(), String> {
    let entry = entry.as_object().ok_or("not an object")?;
    for key in ["toolCallId", "name"] {
        match entry.get(key) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) => return Err(format!("\"{key}\" is empty")),
            Some(_) => return Err(format!("\"{key}\" is not a string")),
            None => return Err(format!("\"{key}\" is missing")),
        }
    }
    let (key, text) = match (entry.get("result"), entry.get("error")) {
        (Some(result), None) => ("result", result),
        (None, Some(error)) => ("error", error),
        (Some(_), Some(_)) => return Err("has both \"result\" and \"error\"".into()),
        (None, None) => return Err("has neither \"result\" nor \"error\"".into()),
    };
    let text = text
        .as_str()
        .ok_or_else(|| format!("\"{key}\" is not a string"))?;
    if text.contains(LINE_BREAKS) {
        return Err(format!("\"{key}\" contains a line break"));
    }
    Ok(())
}

/// [`validate_tool_response`], plus: exactly one entry per call, in call order, with each
/// call's exact id.
pub fn validate_tool_response_for(response: &Value, calls: &[ToolCall]) -> Result<(), String> {
    validate_tool_response(response)?;
    let ids: Vec<&str> = response["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .filter_map(|r| r["toolCallId"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let expected: Vec<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    if ids == expected {
        Ok(())
    } else {
        Err(format!(
            "result ids {ids:?} do not match the calls {expected:?}"
        ))
    }
}
