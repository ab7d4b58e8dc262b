//! Lenient parsing of every message shape we rely on, from fixtures shaped like VAPI.md.

use chrono::{TimeZone, Utc};
use serde_json::json;
use vapi::message::{CallStatus, MessageType, TranscriptType, usd_to_micros};
use vapi::tools::Tool;
use vapi::{ArgError, ParseError, parse};

use crate::fixture;

#[test]
fn an_assistant_request_yields_the_routing_keys() {
    let msg = parse(fixture!("assistant_request.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::AssistantRequest);
    assert!(msg.kind().expects_answer());
    assert_eq!(msg.call_id(), Some("call-ar-1"));
    assert_eq!(msg.org_id(), Some("org_1"));
    assert_eq!(msg.phone_number_id(), Some("pn_abc"));
    assert_eq!(msg.dialled_number(), Some("+15557654321"));
    assert_eq!(msg.customer_number(), Some("+15551234567"));
    assert_eq!(msg.call_status(), Some(CallStatus::Ringing));
    assert_eq!(msg.timestamp_ms(), Some(1_790_000_000_000));
    assert_eq!(msg.tenant_hint(), None);
}

#[test]
fn the_redacted_payload_keeps_everything_but_the_twilio_token() {
    let msg = parse(fixture!("assistant_request.json")).unwrap();
    let stored = msg.redacted();
    assert_eq!(
        stored["message"]["phoneNumber"]["twilioAuthToken"],
        "[redacted]"
    );
    assert_eq!(stored["message"]["phoneNumber"]["name"], "Main line");
    assert!(!stored.to_string().contains("super-secret-token"));
    assert!(
        msg.raw().to_string().contains("super-secret-token"),
        "raw stays intact"
    );
}

#[test]
fn a_phone_number_id_falls_back_to_the_phone_number_object() {
    let msg = parse(
        br#"{"message":{"type":"assistant-request","phoneNumber":{"id":"pn_x"},
        "customer":{"number":"+15550000000"}}}"#,
    )
    .unwrap();
    assert_eq!(msg.phone_number_id(), Some("pn_x"));
    assert_eq!(msg.customer_number(), Some("+15550000000"));
    assert_eq!(msg.call_id(), None, "a missing call is no failure");
}

#[test]
fn tool_calls_with_object_arguments_are_read_from_the_tool_call_list() {
    let msg = parse(fixture!("tool_calls_object_args.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::ToolCalls);
    let [call] = msg.tool_calls() else {
        panic!("one call expected")
    };
    assert_eq!(call.id, "call_7Hq2");
    assert_eq!(call.tool(), Tool::CheckServiceAvailability);
    let args = call.arguments.as_ref().unwrap();
    assert_eq!(args["service"], "haircut");
    assert_eq!(args["date"], "2027-03-15");
    assert_eq!(msg.tenant_hint(), Some("biz-42"));
}

#[test]
fn tool_calls_with_string_arguments_are_parsed_one_by_one() {
    let msg = parse(fixture!("tool_calls_string_args.json")).unwrap();
    let calls = msg.tool_calls();
    let ids: Vec<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["tc_1", "tc_2", "tc_3", "tc_4"],
        "the list wins over deprecated toolCalls"
    );
    assert_eq!(calls[0].arguments, Ok(serde_json::Map::new()));
    assert_eq!(
        calls[1].arguments.as_ref().unwrap()["client_name"],
        "Ada Lovelace"
    );
    assert!(
        matches!(calls[2].arguments, Err(ArgError::Garbled { .. })),
        "garbled arguments spoil only their own call"
    );
    assert_eq!(
        calls[3].arguments,
        Ok(serde_json::Map::new()),
        "an empty string is no arguments"
    );
    assert_eq!(
        msg.timestamp_ms(),
        Some(1_790_000_000_123),
        "a float timestamp is truncated"
    );
}

#[test]
fn the_deprecated_tool_calls_array_is_used_when_nothing_else_is_there() {
    let msg = parse(fixture!("tool_calls_deprecated_only.json")).unwrap();
    let [call] = msg.tool_calls() else {
        panic!("one call expected")
    };
    assert_eq!(
        (call.id.as_str(), call.tool()),
        ("old_1", Tool::GetBusinessHours)
    );
}

#[test]
fn tool_with_tool_call_list_is_the_fallback_and_lends_its_name() {
    let msg = parse(
        br#"{"message":{"type":"tool-calls","toolCallList":[],"toolWithToolCallList":[
        {"type":"function","function":{"name":"find_appointments"},
         "toolCall":{"id":"w1","type":"function","function":{"arguments":"{\"client_phone\":\"+15550001111\"}"}}},
        {"type":"function","function":{"name":"no_call_here"}}]}}"#,
    )
    .unwrap();
    let [call] = msg.tool_calls() else {
        panic!("one call expected")
    };
    assert_eq!(call.id, "w1");
    assert_eq!(call.name, "find_appointments");
    assert_eq!(
        call.arguments.as_ref().unwrap()["client_phone"],
        "+15550001111"
    );
}

#[test]
fn tool_calls_without_an_id_are_counted_not_answered() {
    let msg = parse(
        br#"{"message":{"type":"tool-calls","toolCallList":[
        {"function":{"name":"get_business_services"}},
        {"id":7,"function":{"name":"get_business_services","arguments":null}}]}}"#,
    )
    .unwrap();
    assert_eq!(msg.unanswerable_tool_calls(), 1);
    let [call] = msg.tool_calls() else {
        panic!("one call expected")
    };
    assert_eq!(call.id, "7", "a numeric id is kept as text");
}

#[test]
fn arguments_that_are_not_an_object_are_an_error_on_the_call() {
    let msg = parse(
        br#"{"message":{"type":"tool-calls","toolCallList":[
        {"id":"a","function":{"name":"x","arguments":[1,2]}},
        {"id":"b","function":{"name":"x","arguments":"42"}},
        {"id":"c","function":{"name":"x","arguments":"\"{\\\"date\\\":\\\"2027-01-01\\\"}\""}}]}}"#,
    )
    .unwrap();
    let calls = msg.tool_calls();
    assert_eq!(
        calls[0].arguments,
        Err(ArgError::NotAnObject { got: "a list" })
    );
    assert_eq!(
        calls[1].arguments,
        Err(ArgError::NotAnObject { got: "a number" })
    );
    assert_eq!(
        calls[2].arguments.as_ref().unwrap()["date"],
        "2027-01-01",
        "double-encoded arguments are unwrapped once"
    );
}

#[test]
fn a_status_update_yields_status_reason_and_metadata_hint() {
    let msg = parse(fixture!("status_update.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::StatusUpdate);
    assert!(!msg.kind().expects_answer());
    assert_eq!(msg.status(), Some(CallStatus::Ended));
    assert_eq!(msg.ended_reason(), Some("customer-ended-call"));
    assert_eq!(msg.tenant_hint(), Some("biz-from-call-metadata"));
    assert_eq!(msg.dialled_number(), Some("+15557654321"));
}

#[test]
fn call_statuses_are_open_and_ranked_for_a_monotone_machine() {
    assert!(CallStatus::InProgress.rank() < CallStatus::Ended.rank());
    assert_eq!(
        CallStatus::from_wire("not-found"),
        CallStatus::Other("not-found".into())
    );
    assert_eq!(CallStatus::from_wire("not-found").rank(), None);
    assert_eq!(CallStatus::from_wire("in-progress").as_str(), "in-progress");
}

#[test]
fn an_end_of_call_report_yields_times_cost_and_artifact() {
    let msg = parse(fixture!("end_of_call_report.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::EndOfCallReport);
    assert_eq!(msg.ended_reason(), Some("assistant-said-end-call-phrase"));
    let started = Utc.with_ymd_and_hms(2027, 3, 10, 15, 0, 5).unwrap();
    assert_eq!(msg.started_at(), Some(started));
    assert_eq!(
        msg.duration(),
        Some(chrono::Duration::milliseconds(210_500))
    );
    assert_eq!(
        msg.cost_micros(),
        Some(123_457),
        "0.1234565 USD rounds half away from zero"
    );
    let breakdown = msg.cost_breakdown().unwrap();
    assert_eq!(breakdown.llm, Some(0.05));
    assert_eq!(breakdown.raw["llmPromptTokens"], 1200);
    assert!(msg.artifact_transcript().unwrap().starts_with("AI: Hello"));
    let messages = msg.artifact_messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1].role.as_deref(), Some("user"));
    assert_eq!(messages[1].seconds_from_start, Some(4.1));
    assert_eq!(messages[2].message, None);
    assert_eq!(
        msg.recording_url(),
        Some("https://storage.example.test/rec.wav")
    );
    assert_eq!(
        msg.analysis_summary(),
        Some("Caller booked a haircut for March 15.")
    );
    assert_eq!(msg.success_evaluation().as_deref(), Some("true"));
    assert_eq!(msg.structured_data(), Some(&json!({"booked": true})));
}

#[test]
fn times_and_cost_fall_back_to_the_call_object() {
    let msg = parse(
        br#"{"message":{"type":"end-of-call-report","call":{"id":"c",
        "startedAt":"2027-03-10T15:00:00Z","endedAt":"2027-03-10T15:01:00+00:00","cost":"0.5"},
        "summary":"short","transcript":"User: hi"}}"#,
    )
    .unwrap();
    assert_eq!(msg.duration(), Some(chrono::Duration::seconds(60)));
    assert_eq!(msg.cost_micros(), Some(500_000));
    assert_eq!(msg.analysis_summary(), Some("short"));
    assert_eq!(msg.artifact_transcript(), Some("User: hi"));
}

#[test]
fn an_end_before_its_start_has_no_duration() {
    let msg = parse(
        br#"{"message":{"type":"end-of-call-report",
        "startedAt":"2027-03-10T15:01:00Z","endedAt":"2027-03-10T15:00:00Z"}}"#,
    )
    .unwrap();
    assert_eq!(msg.duration(), None);
}

#[test]
fn usd_amounts_become_integer_micros_with_a_fixed_rounding_rule() {
    assert_eq!(usd_to_micros(0.0), Some(0));
    assert_eq!(usd_to_micros(1.0), Some(1_000_000));
    assert_eq!(usd_to_micros(0.000_000_5), Some(1));
    assert_eq!(usd_to_micros(0.000_000_4), Some(0));
    assert_eq!(usd_to_micros(-0.01), None);
    assert_eq!(usd_to_micros(f64::NAN), None);
    assert_eq!(usd_to_micros(f64::INFINITY), None);
}

#[test]
fn a_final_transcript_yields_role_type_and_text() {
    let msg = parse(fixture!("transcript.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::Transcript);
    assert_eq!(msg.role(), Some("user"));
    assert_eq!(msg.transcript_type(), Some(TranscriptType::Final));
    assert_eq!(msg.transcript(), Some("Do you have anything on Friday?"));
    assert_eq!(
        msg.artifact_transcript(),
        None,
        "an utterance is not the call transcript"
    );
}

#[test]
fn the_filtered_final_transcript_type_is_a_final_transcript() {
    let msg = parse(fixture!("transcript_final_filtered.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::Transcript);
    assert_eq!(msg.transcript_type(), Some(TranscriptType::Final));
    assert_eq!(msg.role(), Some("assistant"));
}

#[test]
fn a_hang_is_recognised_and_needs_no_answer() {
    let msg = parse(fixture!("hang.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::Hang);
    assert!(!msg.kind().expects_answer());
    assert_eq!(msg.call_id(), Some("call-hang-1"));
}

#[test]
fn an_unknown_type_is_kept_verbatim_with_its_fields() {
    let msg = parse(fixture!("unknown_type.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::Other("voice-input".into()));
    assert!(!msg.kind().expects_answer());
    assert_eq!(msg.body()["brandNewField"]["nested"], json!([1, 2, 3]));
}

#[test]
fn a_missing_type_is_an_empty_other_type() {
    let msg = parse(br#"{"message":{"call":{"id":"c"}}}"#).unwrap();
    assert_eq!(msg.kind(), &MessageType::Other(String::new()));
}

#[test]
fn a_legacy_function_call_yields_name_and_parameters() {
    let msg = parse(fixture!("function_call.json")).unwrap();
    assert_eq!(msg.kind(), &MessageType::FunctionCall);
    let call = msg.function_call().unwrap();
    assert_eq!(call.tool(), Tool::CheckServiceAvailability);
    assert_eq!(call.parameters.as_ref().unwrap()["service_id"], "svc_1");
    assert!(call.args().is_ok());
    assert!(msg.tool_calls().is_empty());
}

#[test]
fn bodies_that_are_not_an_envelope_are_refused_with_a_reason() {
    assert!(matches!(
        parse(b"{not json"),
        Err(ParseError::MalformedJson(_))
    ));
    assert!(matches!(parse(b""), Err(ParseError::MalformedJson(_))));
    assert_eq!(parse(b"[1]"), Err(ParseError::NotAnObject));
    assert_eq!(parse(b"{}"), Err(ParseError::MissingMessage));
    assert_eq!(
        parse(br#"{"message":"hi"}"#),
        Err(ParseError::MissingMessage)
    );
    assert_eq!(
        parse(br#"{"message":null}"#),
        Err(ParseError::MissingMessage)
    );
}

#[test]
fn wrong_field_types_read_as_absent_rather_than_failing() {
    let msg = parse(
        br#"{"message":{"type":"status-update","status":5,"timestamp":"soon",
        "call":{"id":["x"],"customer":"nobody","startedAt":"yesterday","costBreakdown":[]}}}"#,
    )
    .unwrap();
    assert_eq!(msg.status(), None);
    assert_eq!(msg.timestamp_ms(), None);
    assert_eq!(msg.call_id(), None);
    assert_eq!(msg.customer_number(), None);
    assert_eq!(msg.started_at(), None);
    assert_eq!(msg.cost_breakdown(), None);
}
