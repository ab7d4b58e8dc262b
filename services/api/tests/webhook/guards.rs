//! What the webhook refuses or answers without side effects: bad credentials, garbage, unknown numbers.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{HMAC_SECRET, SECRET, World, booking_date, call, tool_calls};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn wrong_secret_bad_signature_or_stale_timestamp_get_401_and_store_nothing(pool: PgPool) {
    let world = World::new(pool).await;
    let before = world.event_count().await;
    let body = json!({"message": {"type": "status-update", "status": "in-progress", "call": call("c-auth")}}).to_string();
    #[expect(
        clippy::disallowed_methods,
        reason = "signing against the server's real clock"
    )]
    let now = chrono::Utc::now().timestamp_millis();
    let stale = now - 10 * 60 * 1000;
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("x-vapi-secret", "wrong".into())],
        vec![
            ("x-timestamp", now.to_string()),
            ("x-signature", "00".repeat(32)),
        ],
        vec![
            ("x-timestamp", now.to_string()),
            (
                "x-signature",
                vapi::auth::sign("other-key", now, body.as_bytes()),
            ),
        ],
        vec![
            ("x-timestamp", stale.to_string()),
            (
                "x-signature",
                vapi::auth::sign(HMAC_SECRET, stale, body.as_bytes()),
            ),
        ],
    ];
    for headers in cases {
        let (s, answer) = world.webhook_raw(body.clone().into_bytes(), &headers).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{headers:?}: {answer}");
    }
    assert_eq!(world.event_count().await, before);
    // The same body correctly signed is accepted.
    let ok = [
        ("x-timestamp", now.to_string()),
        (
            "x-signature",
            vapi::auth::sign(HMAC_SECRET, now, body.as_bytes()),
        ),
    ];
    assert_eq!(
        world.webhook_raw(body.into_bytes(), &ok).await.0,
        StatusCode::OK
    );
    assert!(world.event_count().await > before);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn garbage_unknown_types_unknown_numbers_and_bad_arguments_get_the_documented_answers(
    pool: PgPool,
) {
    let world = World::new(pool).await;
    let before = world.event_count().await;
    let secret = [("x-vapi-secret", SECRET.to_owned())];

    let (s, body) = world.webhook_raw(b"{not json".to_vec(), &secret).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_webhook");
    assert_eq!(
        world
            .webhook(json!({"type": "speech-update", "call": call("c-x")}))
            .await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        world.webhook(json!({"type": "brand-new-type"})).await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        world
            .webhook(json!({"type": "status-update", "status": "ended"}))
            .await,
        (StatusCode::OK, json!({}))
    );

    let mut stranger = call("c-stranger");
    stranger["phoneNumberId"] = json!("pn_nobody");
    let (s, refused) = world
        .webhook(json!({"type": "assistant-request", "call": stranger}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        refused["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{refused}"
    );
    let (s, tools) = world
        .webhook(json!({"type": "tool-calls", "call": stranger, "toolCallList": [
            {"id": "t1", "type": "function", "function": {"name": "get_business_services", "arguments": {}}}]}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(tools["results"][0]["error"].is_string(), "{tools}");
    // Nothing of any tenant was stored or leaked for the unknown number.
    assert_eq!(world.event_count().await, before);

    let (s, answer) = world
        .webhook(tool_calls(
            "c-bad",
            &[
                ("b1", "check_service_availability", json!("{garbled")),
                (
                    "b2",
                    "check_service_availability",
                    json!({"service": "Haircut"}),
                ),
                (
                    "b3",
                    "book_appointment",
                    json!({"service": "Massage", "start": "2030-01-01T10:00", "client_name": "X"}),
                ),
                ("b4", "launch_rockets", json!({})),
                (
                    "b5",
                    "cancel_appointment",
                    json!({"appointment_id": "not-a-uuid"}),
                ),
            ],
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    vapi::response::validate_tool_response(&answer).unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for (r, id) in results.iter().zip(["b1", "b2", "b3", "b4", "b5"]) {
        assert_eq!(r["toolCallId"], id);
        assert!(
            r["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty() && !e.contains('\n')),
            "{r}"
        );
    }
    let booked: i64 = sqlx::query_scalar(
        "select count(*) from events where event_type in ('AppointmentBooked', 'SlotRequested')",
    )
    .fetch_one(world.app.store.pool())
    .await
    .unwrap();
    assert_eq!(booked, 0);
    let _: Value = answer;
}

/// DESIGN.md §10: tool calls have a per-business budget. Over it, each call is answered with a spoken
/// "busy" error (still HTTP 200 and a valid tool response) and nothing is booked or recorded. (That one
/// business's spent budget leaves another's alone is the limiter's unit test, `tenancy::rate_limit`.)
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn tool_calls_over_the_business_budget_are_answered_busy_and_store_nothing(pool: PgPool) {
    let world = World::new(pool).await;
    let _limited = world
        .app
        .state
        .clone()
        .with_tool_rate_limit(api::tenancy::RateLimit {
            per_second: 0.001,
            burst: 2.0,
        });
    let services = ("s", "get_business_services", json!({}));
    let (s, first) = world
        .webhook(tool_calls(
            "c-budget",
            &[services.clone(), services.clone()],
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        first["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["result"].is_string()),
        "{first}"
    );
    let before = world.event_count().await;
    let book = (
        "b",
        "book_appointment",
        json!({"service": "Haircut", "start": format!("{}T10:00", booking_date()), "client_name": "Ana"}),
    );
    let (s, over) = world
        .webhook(tool_calls("c-budget", &[book, services]))
        .await;
    assert_eq!(s, StatusCode::OK);
    vapi::response::validate_tool_response(&over).unwrap();
    for r in over["results"].as_array().unwrap() {
        assert!(
            r["error"].as_str().is_some_and(|e| e.contains("busy")),
            "{over}"
        );
    }
    assert_eq!(
        world.event_count().await,
        before,
        "nothing booked or recorded over budget"
    );
}
