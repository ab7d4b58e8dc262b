//! Vapi function-tool definitions (name, description, JSON schema of the arguments, server URL)
//! for the transient assistant we hand out on `assistant-request`.

use serde_json::{Value, json};

use super::Tool;

/// All seven tool definitions, each pointing at `server_url` (our webhook).
pub fn tool_definitions(server_url: &str) -> Vec<Value> {
    Tool::ALL
        .iter()
        .filter_map(|tool| tool_definition(tool, server_url))
        .collect()
}

/// One tool's definition in Vapi's function-tool format; `None` for [`Tool::Unknown`].
pub fn tool_definition(tool: &Tool, server_url: &str) -> Option<Value> {
    let (description, parameters) = describe(tool)?;
    Some(json!({
        "type": "function",
        "function": {
            "name": tool.as_str(),
            "description": description,
            "parameters": parameters,
        },
        "server": { "url": server_url },
    }))
}

fn describe(tool: &Tool) -> Option<(&'static str, Value)> {
    let service_id = json!({
        "type": "string",
        "description": "Id of the service, from get_business_services. Prefer this when known.",
    });
    let service = json!({
        "type": "string",
        "description": "Name of the service as the caller said it, e.g. \"haircut\". Use when no id is known.",
    });
    let staff_id = json!({
        "type": "string",
        "description": "Id of a preferred staff member, only if the caller asked for one.",
    });
    let start = json!({
        "type": "string",
        "description": "Start time in the business's local time as YYYY-MM-DDTHH:MM (or RFC 3339 with offset).",
    });
    let appointment_id = json!({
        "type": "string",
        "description": "Id of the appointment, from find_appointments or book_appointment.",
    });
    let client_phone = json!({
        "type": "string",
        "description": "Client phone number in E.164. Omit to use the caller's number.",
    });
    let date = |what: &str| json!({"type": "string", "format": "date", "description": what});

    Some(match tool {
        Tool::GetBusinessServices => (
            "List the services this business offers with duration and price.",
            object(&json!({}), &[]),
        ),
        Tool::GetBusinessHours => (
            "Opening hours per day between two dates (default: the coming week).",
            object(
                &json!({
                    "from": date("First day, YYYY-MM-DD."),
                    "to": date("Last day, YYYY-MM-DD."),
                }),
                &[],
            ),
        ),
        Tool::CheckServiceAvailability => (
            "Free start times for a service on one day. Give service_id or service.",
            object(
                &json!({
                    "service_id": service_id,
                    "service": service,
                    "date": date("The day to check, YYYY-MM-DD, in the business's time zone."),
                    "staff_id": staff_id,
                }),
                &["date"],
            ),
        ),
        Tool::BookAppointment => (
            "Book an appointment at a start time returned by check_service_availability.",
            object(
                &json!({
                    "service_id": service_id,
                    "service": service,
                    "start": start,
                    "client_name": {"type": "string", "description": "The name to book under."},
                    "client_phone": client_phone,
                    "staff_id": staff_id,
                    "notes": {"type": "string", "description": "Anything the business should know."},
                }),
                &["start", "client_name"],
            ),
        ),
        Tool::FindAppointments => (
            "The client's upcoming appointments.",
            object(&json!({ "client_phone": client_phone }), &[]),
        ),
        Tool::CancelAppointment => (
            "Cancel an appointment. Confirm with the caller first.",
            object(
                &json!({ "appointment_id": appointment_id }),
                &["appointment_id"],
            ),
        ),
        Tool::RescheduleAppointment => (
            "Move an appointment to a new start time. Check availability first.",
            object(
                &json!({ "appointment_id": appointment_id, "start": start }),
                &["appointment_id", "start"],
            ),
        ),
        Tool::Unknown(_) => return None,
    })
}

fn object(properties: &Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
    })
}
