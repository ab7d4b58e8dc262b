//! Bad input answers 4xx with `{"code","message"}` and appends nothing.

use reqwest::StatusCode;
use serde_json::json;

use super::{Api, assert_error};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn every_kind_of_bad_input_is_refused_with_a_code_and_nothing_is_appended(
    pool: sqlx::PgPool,
) {
    let api = Api::spawn(pool).await;
    let owner = api.register("ana@salon.test", "Salon").await;
    let (slug, t) = (owner.slug.as_str(), owner.token.as_str());
    let before = api.event_count().await;
    let register = |email: &str, timezone: &str| {
        json!({"email": email, "password": "correct horse battery",
               "business": {"name": "Mars Salon", "timezone": timezone}})
    };

    // Unknown time zone.
    assert_error(
        &api.post(
            "/api/v1/auth/register",
            None,
            register("new@x.test", "Mars/Olympus_Mons"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_timezone",
    );
    // Duplicate email (case and spaces do not make it new).
    assert_error(
        &api.post(
            "/api/v1/auth/register",
            None,
            register("  ANA@salon.test", "Europe/Madrid"),
        )
        .await,
        StatusCode::CONFLICT,
        "email_taken",
    );
    // Close before open, overlapping intervals, a time past 24:00.
    let hours = format!("/api/v1/businesses/{slug}/hours");
    for (weekly, why) in [
        (json!({"mon": [["17:00", "09:00"]]}), "close before open"),
        (
            json!({"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}),
            "overlap",
        ),
        (json!({"mon": [["09:00", "25:00"]]}), "bad time"),
        (json!({"someday": [["09:00", "10:00"]]}), "bad weekday"),
    ] {
        let answer = api.put(&hours, t, json!({"weekly": weekly})).await;
        assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "invalid_hours");
        assert!(!answer.1["message"].as_str().unwrap().is_empty(), "{why}");
    }
    // Negative duration, three decimals, a negative price, a missing price.
    let services = format!("/api/v1/businesses/{slug}/services");
    assert_error(
        &api.post(
            &services,
            Some(t),
            json!({"name": "Cut", "duration_minutes": -30, "price": "35.00"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "out_of_range",
    );
    for price in ["35.001", "-35.00", "abc"] {
        assert_error(
            &api.post(
                &services,
                Some(t),
                json!({"name": "Cut", "duration_minutes": 30, "price": price}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_price",
        );
    }
    assert_error(
        &api.post(
            &services,
            Some(t),
            json!({"name": "Cut", "duration_minutes": 30}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_field",
    );
    // Malformed JSON and a body of the wrong shape.
    let raw = reqwest::Client::new()
        .post(api.app.url(&services))
        .bearer_auth(t)
        .header("content-type", "application/json")
        .body("{\"name\": \"Cut\", ")
        .send()
        .await
        .unwrap();
    let status = raw.status();
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "malformed_json");
    assert_error(
        &api.post(&services, Some(t), json!({"name": 5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    // An oversized body (over 1 MiB).
    let huge = json!({"name": "x".repeat(1_100_000), "duration_minutes": 30, "price": "1"});
    assert_error(
        &api.post(&services, Some(t), huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );

    assert_eq!(api.event_count().await, before, "bad input appended events");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(pool: sqlx::PgPool) {
    let api = Api::spawn(pool).await;
    api.register("ana@salon.test", "Salon").await;
    let before = api.event_count().await;
    let wrong = api
        .post(
            "/api/v1/auth/token",
            None,
            json!({"email": "ana@salon.test", "password": "not the password"}),
        )
        .await;
    let unknown = api
        .post(
            "/api/v1/auth/token",
            None,
            json!({"email": "nobody@salon.test", "password": "not the password"}),
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        wrong, unknown,
        "the answers tell a registered email from an unknown one"
    );
    let (status, _) = api.get("/api/v1/auth/me", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.event_count().await, before);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_openapi_document_covers_every_endpoint(pool: sqlx::PgPool) {
    let api = Api::spawn(pool).await;
    let doc: serde_json::Value = reqwest::get(api.app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = [
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/token"),
        ("get", "/api/v1/auth/me"),
        ("get", "/api/v1/businesses"),
        ("get", "/api/v1/businesses/{slug}"),
        ("patch", "/api/v1/businesses/{slug}"),
        ("put", "/api/v1/businesses/{slug}/hours"),
        ("get", "/api/v1/businesses/{slug}/hours"),
        ("put", "/api/v1/businesses/{slug}/agent"),
        ("get", "/api/v1/businesses/{slug}/agent"),
        ("post", "/api/v1/businesses/{slug}/services"),
        ("get", "/api/v1/businesses/{slug}/services"),
        ("get", "/api/v1/businesses/{slug}/services/{id}"),
        ("patch", "/api/v1/businesses/{slug}/services/{id}"),
        ("delete", "/api/v1/businesses/{slug}/services/{id}"),
        ("post", "/api/v1/businesses/{slug}/staff"),
        ("get", "/api/v1/businesses/{slug}/staff"),
        ("get", "/api/v1/businesses/{slug}/staff/{id}"),
        ("patch", "/api/v1/businesses/{slug}/staff/{id}"),
        ("delete", "/api/v1/businesses/{slug}/staff/{id}"),
        ("get", "/api/v1/businesses/{slug}/members"),
        ("post", "/api/v1/businesses/{slug}/members"),
        ("patch", "/api/v1/businesses/{slug}/members/{user_id}"),
        ("delete", "/api/v1/businesses/{slug}/members/{user_id}"),
        ("post", "/api/v1/admin/phone-numbers"),
        ("post", "/api/v1/admin/phone-numbers/{number}/suspend"),
        ("get", "/api/v1/phone-numbers/available"),
        ("post", "/api/v1/businesses/{slug}/phone-number"),
        ("get", "/api/v1/businesses/{slug}/phone-number"),
        ("delete", "/api/v1/businesses/{slug}/phone-number"),
        ("get", "/api/v1/businesses/{slug}/availability"),
        ("post", "/api/v1/businesses/{slug}/holds"),
        ("post", "/api/v1/businesses/{slug}/appointments"),
        ("get", "/api/v1/businesses/{slug}/appointments"),
        ("post", "/api/v1/appointments/{id}/cancel"),
        ("post", "/api/v1/appointments/{id}/reschedule"),
        ("get", "/api/v1/businesses/{slug}/calls"),
        ("get", "/api/v1/calls/{id}"),
        ("get", "/api/v1/businesses/{slug}/dashboard"),
        ("get", "/api/v1/businesses/{slug}/live"),
        ("get", "/api/v1/audit/calls"),
        ("get", "/api/v1/audit/streams/{stream_id}"),
        ("get", "/api/v1/plans"),
        ("put", "/api/v1/businesses/{slug}/plan"),
        ("get", "/api/v1/businesses/{slug}/usage"),
        ("get", "/api/v1/businesses/{slug}/invoices/{period}"),
        ("post", "/vapi/webhook"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];
    for (method, path) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from /openapi.json"
        );
    }
    // Nothing else is documented ...
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, expected.len(), "{:#}", doc["paths"]);
    // ... and every documented operation is routed (an unauthenticated probe gets neither 404 nor 405).
    let http = reqwest::Client::new();
    for (method, path) in expected {
        let concrete = path
            .replace("{slug}", "no-such-business")
            .replace("{id}", "00000000-0000-0000-0000-000000000000")
            .replace("{user_id}", "00000000-0000-0000-0000-000000000000")
            .replace("{number}", "+15550000000")
            .replace("{stream_id}", "call-x");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let status = http
            .request(method.clone(), api.app.url(&concrete))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete}: {status}"
        );
    }
}
