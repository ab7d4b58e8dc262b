//! Response bodies in Vapi's exact shapes, and the validator the API tests rely on.

use serde_json::{Map, Value, json};
use vapi::response::{
    self, AssistantResponse, ToolResults, compact_json, single_line, validate_tool_response,
    validate_tool_response_for,
};
use vapi::{ArgError, parse};

use crate::fixture;

#[test]
fn tool_results_have_vapis_exact_shape_in_call_order() {
    let mut results = ToolResults::new();
    results.push_json(
        "call_7Hq2",
        "check_service_availability",
        &json!({"slots": [], "date": "2027-03-15"}),
    );
    results.push_error("tc_2", "book_appointment", "missing date (YYYY-MM-DD)");
    results.push_text("tc_3", "get_business_hours", "open\r\nall day\nlong");
    assert_eq!(
        results.to_value(),
        json!({"results": [
            {"toolCallId": "call_7Hq2", "name": "check_service_availability",
             "result": r#"{"date":"2027-03-15","slots":[]}"#},
            {"toolCallId": "tc_2", "name": "book_appointment", "error": "missing date (YYYY-MM-DD)"},
            {"toolCallId": "tc_3", "name": "get_business_hours", "result": "open all day long"},
        ]})
    );
    assert_eq!(serde_json::to_value(&results).unwrap(), results.to_value());
    validate_tool_response(&results.to_value()).unwrap();
}

#[test]
fn json_results_stay_single_line_and_decode_to_the_original() {
    let original = json!({"note": "line one\nline two\r\n", "odd": "a\u{2028}b\u{2029}c\u{85}d"});
    let text = compact_json(&original);
    assert!(
        !text.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), original);
}

#[test]
fn single_line_turns_every_line_break_into_one_space() {
    assert_eq!(single_line("a\r\nb\nc\rd\u{2028}e"), "a b c d e");
    assert_eq!(single_line("plain"), "plain");
}

#[test]
fn a_call_without_a_name_is_answered_as_unknown() {
    let mut results = ToolResults::new();
    results.push_error("id-1", "  ", "unknown tool");
    assert_eq!(results.results()[0].name, response::UNNAMED_TOOL);
    validate_tool_response(&results.to_value()).unwrap();
}

#[test]
fn every_call_of_a_message_gets_its_answer_even_with_garbled_arguments() {
    let msg = parse(fixture!("tool_calls_string_args.json")).unwrap();
    let mut results = ToolResults::with_capacity(msg.tool_calls().len());
    for call in msg.tool_calls() {
        let outcome = call.args().map(|_| json!({"ok": true}));
        results.answer(call, outcome.as_ref().map_err(ArgError::to_string));
    }
    let body = results.to_value();
    validate_tool_response_for(&body, msg.tool_calls()).unwrap();
    let error = body["results"][2]["error"].as_str().unwrap();
    assert!(
        error.starts_with("the tool arguments could not be read"),
        "{error}"
    );
    assert!(body["results"][1]["result"].is_string());
}

#[test]
fn the_validator_rejects_each_broken_rule() {
    let bad = [
        json!([]),
        json!({}),
        json!({"results": {}}),
        json!({"results": [{"name": "x", "result": "r"}]}),
        json!({"results": [{"toolCallId": "", "name": "x", "result": "r"}]}),
        json!({"results": [{"toolCallId": "a", "result": "r"}]}),
        json!({"results": [{"toolCallId": "a", "name": "", "result": "r"}]}),
        json!({"results": [{"toolCallId": "a", "name": "x"}]}),
        json!({"results": [{"toolCallId": "a", "name": "x", "result": "r", "error": "e"}]}),
        json!({"results": [{"toolCallId": "a", "name": "x", "result": {"slots": []}}]}),
        json!({"results": [{"toolCallId": "a", "name": "x", "error": "two\nlines"}]}),
        json!({"results": [{"toolCallId": "a", "name": "x", "result": "cr\r"}]}),
        json!({"results": [{"toolCallId": 1, "name": "x", "result": "r"}]}),
    ];
    for body in bad {
        assert!(validate_tool_response(&body).is_err(), "accepted {body}");
    }
    validate_tool_response(&json!({"results": []})).unwrap();
}

#[test]
fn the_validator_checks_ids_and_order_against_the_calls() {
    let msg = parse(fixture!("tool_calls_string_args.json")).unwrap();
    let mut results = ToolResults::new();
    for call in msg.tool_calls().iter().rev() {
        results.push_text(&call.id, &call.name, "ok");
    }
    assert!(validate_tool_response_for(&results.to_value(), msg.tool_calls()).is_err());
}

#[test]
fn a_saved_assistant_answer_carries_overrides_and_metadata() {
    let mut variables = Map::new();
    variables.insert("business_name".into(), json!("Cuts & Co"));
    let mut metadata = Map::new();
    metadata.insert("tenant_id".into(), json!("biz-42"));
    let mut other = Map::new();
    other.insert("firstMessage".into(), json!("Hi, Cuts & Co!"));
    other.insert("metadata".into(), json!("must not win"));
    let body = AssistantResponse::Saved {
        assistant_id: "asst_1".into(),
        variable_values: variables,
        metadata,
        other_overrides: other,
    }
    .to_value();
    assert_eq!(
        body,
        json!({"assistantId": "asst_1", "assistantOverrides": {
            "variableValues": {"business_name": "Cuts & Co"},
            "metadata": {"tenant_id": "biz-42"},
            "firstMessage": "Hi, Cuts & Co!"}})
    );
}

#[test]
fn transient_transfer_and_error_answers_have_their_shapes() {
    let assistant = json!({"name": "Front desk", "model": {"tools": []}});
    assert_eq!(
        AssistantResponse::Transient(assistant.clone()).to_value(),
        json!({"assistant": assistant})
    );
    assert_eq!(
        AssistantResponse::Transfer {
            number: "+15550001111".into()
        }
        .to_value(),
        json!({"destination": {"type": "number", "number": "+15550001111"}})
    );
    assert_eq!(
        AssistantResponse::Error("Sorry, this number is not in service.\n".into()).to_value(),
        json!({"error": "Sorry, this number is not in service. "})
    );
}

#[test]
fn informational_and_legacy_answers_have_their_shapes() {
    assert_eq!(response::empty(), json!({}));
    assert_eq!(
        response::function_call_result(&json!({"a": 1})),
        json!({"result": r#"{"a":1}"#})
    );
    assert_eq!(
        response::function_call_text("x\ny"),
        json!({"result": "x y"})
    );
    assert_eq!(
        response::error_response("no\r\nway"),
        json!({"error": "no way"})
    );
}
