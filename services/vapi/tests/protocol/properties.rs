//! Property tests: the parser never panics, and every answer we build validates.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use vapi::response::{ToolResults, validate_tool_response_for};
use vapi::{Message, parse};

/// Keys Vapi uses, so generated trees hit the accessors' paths instead of missing them all.
const KEYS: &[&str] = &[
    "type",
    "call",
    "id",
    "orgId",
    "function",
    "name",
    "arguments",
    "parameters",
    "toolCall",
    "toolCallList",
    "toolWithToolCallList",
    "toolCalls",
    "functionCall",
    "phoneNumber",
    "phoneNumberId",
    "customer",
    "number",
    "status",
    "endedReason",
    "timestamp",
    "startedAt",
    "endedAt",
    "cost",
    "costBreakdown",
    "total",
    "artifact",
    "messages",
    "transcript",
    "transcriptType",
    "role",
    "analysis",
    "summary",
    "assistantOverrides",
    "metadata",
    "tenant_id",
    "successEvaluation",
    "secondsFromStart",
    "twilioAuthToken",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z_]{0,8}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        "\\{[ -~\n]{0,20}\\}?".prop_map(Value::String),
        proptest::sample::select(vec![
            "tool-calls",
            "end-of-call-report",
            "status-update",
            "2027-03-15T14:30:00Z",
            "2027-03-15",
            "{}",
            "\"{}\"",
            "ended"
        ])
        .prop_map(Value::from),
    ]
}

fn json_tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A tool-call entry with random id, name and argument payload of any JSON kind.
fn tool_call() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        Just(Value::Null),
        "[a-zA-Z0-9_ \n-]{0,12}".prop_map(Value::String),
        any::<u32>().prop_map(Value::from),
    ];
    let name = prop_oneof![
        proptest::sample::select(vec![
            "get_business_services",
            "get_business_hours",
            "check_service_availability",
            "book_appointment",
            "find_appointments",
            "cancel_appointment",
            "reschedule_appointment",
        ])
        .prop_map(Value::from),
        json_tree(),
    ];
    let arguments = prop_oneof![
        json_tree(),
        json_tree().prop_map(|v| Value::String(v.to_string()))
    ];
    (id, name, arguments).prop_map(|(id, name, arguments)| {
        json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
    })
}

/// Touches every accessor; the point is that none of them panics.
fn read_everything(msg: &Message) {
    let _ = (
        msg.kind().as_str(),
        msg.kind().expects_answer(),
        msg.timestamp_ms(),
    );
    let _ = (
        msg.call_id(),
        msg.org_id(),
        msg.call_type(),
        msg.assistant_id(),
    );
    let _ = (
        msg.phone_number_id(),
        msg.dialled_number(),
        msg.customer_number(),
    );
    let _ = (
        msg.tenant_hint(),
        msg.status(),
        msg.call_status(),
        msg.ended_reason(),
    );
    let _ = (msg.started_at(), msg.ended_at(), msg.duration());
    let _ = (msg.cost_usd(), msg.cost_micros(), msg.cost_breakdown());
    let _ = (
        msg.role(),
        msg.transcript_type(),
        msg.transcript(),
        msg.artifact_transcript(),
    );
    let _ = (
        msg.artifact_messages(),
        msg.recording_url(),
        msg.analysis_summary(),
    );
    let _ = (
        msg.success_evaluation(),
        msg.structured_data(),
        msg.redacted(),
    );
    for call in msg.tool_calls() {
        let _ = call.args();
    }
    if let Some(call) = msg.function_call() {
        let _ = call.args();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(msg) = parse(&bytes) {
            read_everything(&msg);
        }
    }

    #[test]
    fn arbitrary_json_messages_parse_and_read_without_panicking(tree in json_tree()) {
        let body = json!({"message": tree}).to_string();
        match parse(body.as_bytes()) {
            Ok(msg) => read_everything(&msg),
            Err(err) => prop_assert!(!tree.is_object(), "an object message was refused: {err}"),
        }
    }

    #[test]
    fn every_answer_to_generated_tool_calls_validates(
        calls in proptest::collection::vec(tool_call(), 0..5),
        list_key in proptest::sample::select(vec!["toolCallList", "toolCalls"]),
        result in json_tree(),
    ) {
        let body = json!({"message": {"type": "tool-calls", list_key: calls}}).to_string();
        let msg = parse(body.as_bytes()).unwrap();
        read_everything(&msg);
        prop_assert_eq!(msg.tool_calls().len() + msg.unanswerable_tool_calls(), calls.len());
        let mut results = ToolResults::new();
        for call in msg.tool_calls() {
            let outcome = call.args().map(|_| &result);
            results.answer(call, outcome);
        }
        let response = results.to_value();
        let verdict = validate_tool_response_for(&response, msg.tool_calls());
        prop_assert!(verdict.is_ok(), "{:?} for {}", verdict, response);
    }
}
