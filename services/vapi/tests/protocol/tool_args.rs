//! Tool names, argument schemas, and lenient argument parsing with speakable errors.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};
use vapi::tools::{
    BookAppointmentArgs, CheckAvailabilityArgs, GetBusinessHoursArgs, ServiceRef, StartTime,
    ToolArgs,
};
use vapi::{ArgError, Tool, tool_definitions};

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn date(s: &str) -> NaiveDate {
    let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") else {
        panic!("bad test date {s}");
    };
    date
}

#[test]
fn availability_accepts_a_spoken_service_name_and_a_date() {
    let args =
        CheckAvailabilityArgs::parse(&map(json!({"service": " haircut ", "date": "2027-03-15"})))
            .unwrap();
    assert_eq!(
        args,
        CheckAvailabilityArgs {
            service: ServiceRef {
                id: None,
                name: Some("haircut".into())
            },
            date: date("2027-03-15"),
            staff_id: None,
        }
    );
}

#[test]
fn availability_without_a_date_says_which_form_is_expected() {
    let err = CheckAvailabilityArgs::parse(&map(json!({"service_id": "svc_1"}))).unwrap_err();
    assert_eq!(err.to_string(), "missing date (YYYY-MM-DD)");
}

#[test]
fn availability_with_a_spoken_date_is_refused_with_the_expected_form() {
    let err = CheckAvailabilityArgs::parse(&map(json!({"service": "cut", "date": "next Friday"})))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid date "next Friday" (expected YYYY-MM-DD)"#
    );
}

#[test]
fn availability_without_any_service_asks_for_one() {
    let err = CheckAvailabilityArgs::parse(&map(json!({"date": "2027-03-15", "service": ""})))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing service (a service name or service_id)"
    );
}

#[test]
fn numbers_camel_case_and_full_timestamps_are_tolerated() {
    let args = CheckAvailabilityArgs::parse(&map(json!({
        "serviceId": 12, "date": "2027-03-15T00:00:00Z", "staffId": 3, "unexpected": true
    })))
    .unwrap();
    assert_eq!(args.service.id.as_deref(), Some("12"));
    assert_eq!(args.date, date("2027-03-15"));
    assert_eq!(args.staff_id.as_deref(), Some("3"));
}

#[test]
fn a_date_with_trailing_garbage_is_not_silently_truncated() {
    let err = CheckAvailabilityArgs::parse(&map(json!({"service": "x", "date": "2027-03-155"})))
        .unwrap_err();
    assert!(
        matches!(err, ArgError::Invalid { field: "date", .. }),
        "{err}"
    );
}

#[test]
fn booking_takes_a_business_local_start_and_defaults_the_phone() {
    let args = BookAppointmentArgs::parse(&map(json!({
        "service_id": "svc_1", "start": "2027-03-15T14:30", "client_name": "Ada", "notes": ""
    })))
    .unwrap();
    let local = NaiveDateTime::parse_from_str("2027-03-15T14:30", "%Y-%m-%dT%H:%M").unwrap();
    assert_eq!(args.start, StartTime::Local(local));
    assert_eq!(
        args.client_phone, None,
        "None means: use the caller's number"
    );
    assert_eq!(args.notes, None);
}

#[test]
fn booking_takes_an_rfc3339_start_with_offset() {
    let args = BookAppointmentArgs::parse(&map(json!({
        "service": "Haircut", "start": "2027-03-15T14:30:00-04:00", "client_name": "Ada",
        "client_phone": "+15550001111"
    })))
    .unwrap();
    let StartTime::Instant(start) = args.start else {
        panic!("instant expected")
    };
    assert_eq!(start.to_rfc3339(), "2027-03-15T14:30:00-04:00");
    assert_eq!(args.client_phone.as_deref(), Some("+15550001111"));
}

#[test]
fn booking_without_a_name_or_with_a_vague_start_explains_itself() {
    let err =
        BookAppointmentArgs::parse(&map(json!({"service": "x", "start": "2027-03-15T10:00"})))
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing client_name (the name to book under)"
    );
    let err = BookAppointmentArgs::parse(&map(json!({
        "service": "x", "start": "tomorrow\nmorning", "client_name": "Ada"
    })))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid start "tomorrow morning" (expected a time like 2027-03-15T14:30)"#
    );
}

#[test]
fn hours_accept_no_range_but_refuse_a_reversed_one() {
    assert_eq!(
        GetBusinessHoursArgs::parse(&Map::new()).unwrap(),
        GetBusinessHoursArgs {
            from: None,
            to: None
        }
    );
    let err = GetBusinessHoursArgs::parse(&map(json!({"from": "2027-03-20", "to": "2027-03-10"})))
        .unwrap_err();
    assert!(
        matches!(err, ArgError::Invalid { field: "to", .. }),
        "{err}"
    );
}

#[test]
fn each_tool_parses_its_own_arguments() {
    let cases = [
        (Tool::GetBusinessServices, json!({"anything": 1}), true),
        (Tool::FindAppointments, json!({}), true),
        (
            Tool::CancelAppointment,
            json!({"appointment_id": "ap_1"}),
            true,
        ),
        (Tool::CancelAppointment, json!({}), false),
        (
            Tool::RescheduleAppointment,
            json!({"appointment_id": "ap_1", "start": "2027-03-15 09:00"}),
            true,
        ),
        (
            Tool::RescheduleAppointment,
            json!({"appointment_id": "ap_1"}),
            false,
        ),
    ];
    for (tool, args, ok) in cases {
        assert_eq!(
            ToolArgs::parse(&tool, &map(args.clone())).is_ok(),
            ok,
            "{tool} {args}"
        );
    }
    assert_eq!(
        ToolArgs::parse(&Tool::from_name("order_pizza"), &Map::new()),
        Err(ArgError::UnknownTool("order_pizza".into()))
    );
}

#[test]
fn tool_names_round_trip_and_unknown_names_are_kept() {
    for tool in Tool::ALL {
        assert_eq!(Tool::from_name(tool.as_str()), tool);
    }
    assert_eq!(Tool::from_name("book_it"), Tool::Unknown("book_it".into()));
}

#[test]
fn tool_definitions_cover_all_seven_tools_in_vapi_function_format() {
    let defs = tool_definitions("https://api.example.test/vapi/webhook");
    assert_eq!(defs.len(), 7);
    for (def, tool) in defs.iter().zip(Tool::ALL) {
        assert_eq!(def["type"], "function");
        assert_eq!(def["function"]["name"], tool.as_str());
        assert!(
            def["function"]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        assert_eq!(
            def["server"]["url"],
            "https://api.example.test/vapi/webhook"
        );
        let params = &def["function"]["parameters"];
        assert_eq!(params["type"], "object");
        for required in params["required"].as_array().unwrap() {
            let name = required.as_str().unwrap();
            assert!(
                params["properties"].get(name).is_some(),
                "{tool}: {name} undefined"
            );
        }
    }
}

#[test]
fn the_schema_argument_names_are_the_ones_the_parser_reads() {
    let defs = tool_definitions("https://x.test");
    let props = |name: &str| -> Vec<String> {
        let def = defs.iter().find(|d| d["function"]["name"] == name).unwrap();
        let mut keys: Vec<String> = def["function"]["parameters"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(
        props("check_service_availability"),
        ["date", "service", "service_id", "staff_id"]
    );
    assert_eq!(
        props("book_appointment"),
        [
            "client_name",
            "client_phone",
            "notes",
            "service",
            "service_id",
            "staff_id",
            "start"
        ]
    );
    assert_eq!(props("reschedule_appointment"), ["appointment_id", "start"]);
    assert_eq!(props("get_business_hours"), ["from", "to"]);
}
