//! Whole calls: the happy path end to end, and every message delivered more than once or out of order.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{CALLER, World, booking_date, call, first_result, tool_calls};

fn status(call_id: &str, s: &str) -> Value {
    let mut m = json!({"type": "status-update", "status": s, "call": call(call_id)});
    if s == "ended" {
        m["endedReason"] = json!("customer-ended-call");
    }
    m
}

fn report(call_id: &str) -> Value {
    let mut c = call(call_id);
    c["costBreakdown"] = json!({"transport": 0.01, "stt": 0.02, "llm": 0.05, "tts": 0.04, "vapi": 0.0034, "total": 0.1234});
    json!({"type": "end-of-call-report", "endedReason": "customer-ended-call",
           "startedAt": "2027-03-10T15:00:00.000Z", "endedAt": "2027-03-10T15:01:35.200Z", "cost": 0.1234,
           "artifact": {"transcript": "AI: Salon Ana\nUser: a haircut please", "messages": []},
           "analysis": {"summary": "Caller booked a haircut.", "successEvaluation": "true"},
           "call": c, "phoneNumber": {"id": super::PHONE_ID, "number": "+14155550100", "twilioAuthToken": "secret-token"}})
}

async fn wait_for_call(world: &World, call_id: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (s, body) = world
            .api("GET", &format!("/api/v1/calls/{call_id}"), Value::Null)
            .await;
        if s == StatusCode::OK && check(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("call {call_id} never reached the expected state");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_whole_call_books_an_appointment_and_leaves_a_complete_call_log(pool: PgPool) {
    let world = World::new(pool).await;
    let id = "call-e2e-1";
    let (s, assistant) = world
        .webhook(json!({"type": "assistant-request", "call": call(id)}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let a = &assistant["assistant"];
    assert_eq!(
        a["firstMessage"], "Salon Ana, Sara speaking!",
        "{assistant}"
    );
    assert_eq!(a["model"]["tools"].as_array().unwrap().len(), 7);
    assert!(
        a["model"]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Salon Ana")
    );

    let (_, services) = world
        .webhook(tool_calls(
            id,
            &[("tc1", "get_business_services", json!({}))],
        ))
        .await;
    let services = first_result(&services);
    assert_eq!(services["services"][0]["name"], "Haircut");
    assert_eq!(services["services"][0]["price"], "35.00");

    let date = booking_date();
    // Arguments as a JSON string, service by a spoken name.
    let args = json!({"service": "a haircut", "date": date}).to_string();
    let (_, slots) = world
        .webhook(tool_calls(
            id,
            &[("tc2", "check_service_availability", json!(args))],
        ))
        .await;
    let slots = first_result(&slots);
    assert_eq!(slots["timezone"], "Europe/Madrid");
    let start = slots["slots"][0]["start"].as_str().unwrap().to_owned();
    assert!(start.starts_with(&format!("{date}T08:00:00+0")), "{start}");

    let book = json!({"service": "hair cut", "start": start, "client_name": "Ana Caller"});
    let (_, booked) = world
        .webhook(tool_calls(id, &[("tc3", "book_appointment", book)]))
        .await;
    let booked = first_result(&booked);
    assert_eq!(booked["status"], "booked", "{booked}");
    assert_eq!(booked["service"], "Haircut");
    let appointment = booked["appointment_id"].as_str().unwrap().to_owned();

    assert_eq!(world.webhook(status(id, "ended")).await.0, StatusCode::OK);
    let (s, body) = world.webhook(report(id)).await;
    assert_eq!((s, body), (StatusCode::OK, json!({})));

    let log = wait_for_call(&world, id, |c| {
        c["summary"].is_string()
            && c["tool_invocations"]
                .as_array()
                .is_some_and(|t| t.len() == 3)
    })
    .await;
    assert_eq!(log["caller"], CALLER);
    assert_eq!(log["status"], "ended");
    assert_eq!(log["ended_reason"], "customer-ended-call");
    assert_eq!(log["duration_seconds"], 95.2);
    assert_eq!(log["cost_micros"], 123_400);
    assert_eq!(log["appointment_id"], appointment.as_str());
    assert_eq!(log["summary"], "Caller booked a haircut.");
    let names: Vec<&str> = log["tool_invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "get_business_services",
            "check_service_availability",
            "book_appointment"
        ]
    );
    assert!(
        log["tool_invocations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["outcome"] == "ok")
    );

    assert_eq!(
        world.event_types(&format!("call-{id}")).await,
        [
            "CallStarted",
            "ToolInvoked",
            "ToolInvoked",
            "ToolInvoked",
            "CallEnded",
            "CallReportReceived"
        ]
    );
    assert_eq!(
        world.event_types(&format!("usage-{id}")).await,
        ["UsageRecorded"]
    );
    let usage: Value = sqlx::query_scalar("select data from events where stream_id = $1")
        .bind(format!("usage-{id}"))
        .fetch_one(world.app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        (usage["kind"].as_str(), usage["quantity"].as_i64()),
        (Some("voice_seconds"), Some(96))
    );
    assert_eq!(usage["provider_cost_micros"], 123_400);
    let raw: String =
        sqlx::query_scalar("select data::text from events where event_type = 'CallReportReceived'")
            .fetch_one(world.app.store.pool())
            .await
            .unwrap();
    assert!(!raw.contains("secret-token"), "a Twilio token was stored");

    let (s, list) = world
        .api(
            "GET",
            &format!(
                "/api/v1/businesses/{}/appointments?from={}T00:00:00Z&to=2100-01-01T00:00:00Z",
                world.slug, date
            ),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert!(
        list["appointments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == appointment.as_str()),
        "{list}"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn duplicate_and_concurrent_deliveries_record_the_same_events_as_one(pool: PgPool) {
    let world = World::new(pool).await;
    let id = "call-dup";
    let date = booking_date();
    let (_, slots) = world
        .webhook(tool_calls(
            id,
            &[(
                "d1",
                "check_service_availability",
                json!({"service": "Haircut", "date": date}),
            )],
        ))
        .await;
    let start = first_result(&slots)["slots"][1]["start"]
        .as_str()
        .unwrap()
        .to_owned();
    let book = tool_calls(
        id,
        &[(
            "d2",
            "book_appointment",
            json!({"service": "Haircut", "start": start, "client_name": "Bo"}),
        )],
    );
    let messages = [
        status(id, "in-progress"),
        book,
        status(id, "ended"),
        report(id),
    ];
    for message in &messages {
        let first = world.webhook(message.clone()).await;
        let second = world.webhook(message.clone()).await;
        assert_eq!(first, second, "a redelivery answered differently");
        let (a, b, c) = tokio::join!(
            world.webhook(message.clone()),
            world.webhook(message.clone()),
            world.webhook(message.clone())
        );
        assert!(a == first && b == first && c == first);
    }
    assert_eq!(
        world.event_types(&format!("call-{id}")).await,
        [
            "CallStarted",
            "ToolInvoked",
            "CallStatusChanged",
            "ToolInvoked",
            "CallEnded",
            "CallReportReceived"
        ]
    );
    assert_eq!(
        world.event_types(&format!("usage-{id}")).await,
        ["UsageRecorded"]
    );
    let appointments: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'AppointmentBooked'")
            .fetch_one(world.app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        appointments, 1,
        "a redelivered book_appointment booked twice"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_report_before_the_ended_status_gives_the_same_call(pool: PgPool) {
    let world = World::new(pool).await;
    for (id, order) in [
        ("call-a", ["ended", "report"]),
        ("call-b", ["report", "ended"]),
    ] {
        for step in order {
            let m = if step == "ended" {
                status(id, "ended")
            } else {
                report(id)
            };
            assert_eq!(world.webhook(m).await.0, StatusCode::OK);
        }
        // A late in-progress after the end changes nothing.
        world.webhook(status(id, "in-progress")).await;
    }
    let a = wait_for_call(&world, "call-a", |c| c["summary"].is_string()).await;
    let b = wait_for_call(&world, "call-b", |c| c["summary"].is_string()).await;
    for field in [
        "status",
        "started_at",
        "ended_at",
        "duration_seconds",
        "ended_reason",
        "cost_micros",
        "summary",
        "caller",
    ] {
        assert_eq!(a[field], b[field], "{field} differs");
    }
    assert_eq!(a["status"], "ended");
    assert_eq!(
        world.event_types("call-call-b").await,
        ["CallStarted", "CallEnded", "CallReportReceived"]
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_legacy_function_call_is_answered_with_a_result_string(pool: PgPool) {
    let world = World::new(pool).await;
    let (s, answer) = world
        .webhook(json!({"type": "function-call", "call": call("call-legacy"),
                        "functionCall": {"name": "get_business_services", "parameters": {}}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let result: Value = serde_json::from_str(answer["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["services"][0]["name"], "Haircut");
    let (_, refused) = world
        .webhook(json!({"type": "function-call", "call": call("call-legacy"),
                        "functionCall": {"name": "check_service_availability", "parameters": {"service": "Haircut"}}}))
        .await;
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("date")),
        "{refused}"
    );
}

/// One `book_appointment` delivered twice across a database outage: the first delivery failed ("a
/// dependency is unavailable") and its record was written late, after the second delivery booked. Whatever
/// order the two records land in, the call log shows the booking once — the success wins, the failure never
/// replaces it. (Found by the Postgres-crash drill: the late failure record used to be stored under the same
/// event id and the success was then dropped as its duplicate.)
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_tool_call_that_failed_then_succeeded_on_redelivery_logs_the_success(pool: PgPool) {
    use domain::call::Observation;
    use events::call::ToolInvoked;

    let world = World::new(pool).await;
    let business = world
        .app
        .state
        .resolve_number(super::PHONE_ID)
        .await
        .unwrap()
        .unwrap();
    let appointment = uuid::Uuid::from_u128(0xa11);
    let invoked = |call_id: &str, ok: bool| {
        Observation::Tool(ToolInvoked {
            call_id: call_id.into(),
            tool_call_id: "tc-twice".into(),
            name: "book_appointment".into(),
            arguments: json!({"service": "Haircut"}),
            outcome: if ok { "ok" } else { "error" }.into(),
            result: if ok {
                "{\"status\":\"booked\"}"
            } else {
                "a dependency is unavailable"
            }
            .into(),
            latency_ms: 5,
            appointment_id: ok.then_some(appointment),
            occurred_at: world.app.store.clock().now(),
        })
    };
    for (id, failure_first) in [("call-redelivered-1", true), ("call-redelivered-2", false)] {
        let message = vapi::message::parse(
            json!({"message": {"type": "tool-calls", "call": call(id)}})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        let record = |ok: bool| {
            let observation = invoked(id, ok);
            let (state, business, message) = (&world.app.state, &business, &message);
            async move {
                api::webhook::lifecycle::record(state, business, message, &observation)
                    .await
                    .unwrap();
            }
        };
        let order = if failure_first {
            [false, true]
        } else {
            [true, false]
        };
        for ok in order {
            record(ok).await;
        }
        world.app.wait_for_projections().await;
        let log = wait_for_call(&world, id, |_| true).await;
        assert_eq!(log["appointment_id"], appointment.to_string());
        let tools = log["tool_invocations"].as_array().unwrap();
        assert_eq!(tools.len(), 1, "{log}");
        assert_eq!(tools[0]["outcome"], "ok", "{log}");
    }
    // The dashboard counts each of the two tool calls once.
    let counted: i64 = sqlx::query_scalar(
        "select coalesce(sum(tool_calls), 0)::bigint from dashboard_days where tenant_id = $1",
    )
    .bind(business.business_id)
    .fetch_one(world.app.store.pool())
    .await
    .unwrap();
    assert_eq!(counted, 2);
}

/// The webhook keeps each business's assistant settings and catalog in memory, checked against the catalog
/// revision on every message: a changed greeting and a new service reach the next call once projected.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_next_call_hears_a_changed_greeting_and_a_new_service(pool: PgPool) {
    let world = World::new(pool).await;
    let (_, first) = world
        .webhook(json!({"type": "assistant-request", "call": call("call-cache-1")}))
        .await;
    assert_eq!(
        first["assistant"]["firstMessage"],
        "Salon Ana, Sara speaking!"
    );
    let (_, services) = world
        .webhook(tool_calls(
            "call-cache-1",
            &[("tc1", "get_business_services", json!({}))],
        ))
        .await;
    assert_eq!(
        first_result(&services)["services"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let slug = world.slug.clone();
    let (s, b) = world
        .api(
            "PUT",
            &format!("/api/v1/businesses/{slug}/agent"),
            json!({"name": "Sara", "greeting": "Welcome back to Salon Ana!"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = world
        .api(
            "POST",
            &format!("/api/v1/businesses/{slug}/services"),
            json!({"name": "Beard trim", "duration_minutes": 15, "price": "12.00"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    world.app.wait_for_projections().await;

    let (_, second) = world
        .webhook(json!({"type": "assistant-request", "call": call("call-cache-2")}))
        .await;
    assert_eq!(
        second["assistant"]["firstMessage"],
        "Welcome back to Salon Ana!"
    );
    let prompt = second["assistant"]["model"]["messages"][0]["content"]
        .as_str()
        .unwrap();
    assert!(prompt.contains("Beard trim"), "{prompt}");
    let (_, services) = world
        .webhook(tool_calls(
            "call-cache-2",
            &[("tc1", "get_business_services", json!({}))],
        ))
        .await;
    let listed = first_result(&services);
    let mut names: Vec<&str> = listed["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Beard trim", "Haircut"], "{services}");
}

/// Each instance decides a call's next message on the state it last wrote; when another instance wrote to
/// the call meanwhile, the stale guess is refused by the stream's version and the message is decided again
/// on the stream — nothing lost, nothing twice.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn two_instances_taking_turns_on_one_call_record_every_message_once(pool: PgPool) {
    use domain::call::Observation;

    let world = World::new(pool).await;
    let one = &world.app.state;
    let other = api::AppState::new(world.app.store.clone(), None);
    let business = one.resolve_number(super::PHONE_ID).await.unwrap().unwrap();
    let id = "call-two-instances";
    let message = vapi::message::parse(
        json!({"message": {"type": "status-update", "call": call(id)}})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let line = |text: &str| Observation::Transcript {
        role: "user".into(),
        text: text.into(),
    };
    for (state, text) in [
        (one, "first"),
        (&other, "second"),
        (one, "third"),
        (&other, "fourth"),
        (one, "third"),
    ] {
        api::webhook::lifecycle::record(state, &business, &message, &line(text))
            .await
            .unwrap();
    }
    assert_eq!(
        world.event_types(&format!("call-{id}")).await,
        [
            "CallStarted",
            "TranscriptRecorded",
            "TranscriptRecorded",
            "TranscriptRecorded",
            "TranscriptRecorded"
        ]
    );
}
