//! Billing over HTTP: a call and a booking made through the Vapi webhook show in usage and in the draft
//! invoice (JSON and CSV); the plan changes from a date; bad input is refused; other tenants are kept out
//! and finance reads every business; the projection reconciles with the event store.

use std::time::Duration;

use api::billing::ledger::reconcile;
use domain::billing::Period;
use events::Clock as _;
use events::catalog::PlatformRole;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{World, booking_date, call, first_result, tool_calls};

/// A 61-second call that started two minutes ago (billed as 2 minutes).
fn report(id: &str) -> Value {
    let now = events::SystemClock.now();
    let started = now - chrono::TimeDelta::seconds(120);
    let ended = started + chrono::TimeDelta::seconds(61);
    json!({"type": "end-of-call-report", "endedReason": "customer-ended-call",
           "startedAt": started.to_rfc3339(), "endedAt": ended.to_rfc3339(), "cost": 0.0731,
           "call": call(id)})
}

async fn usage_when(world: &World, ready: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/v1/businesses/{}/usage", world.slug);
    for _ in 0..100 {
        let (s, body) = world.api("GET", &path, Value::Null).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        if ready(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("usage never reached the expected state");
}

async fn book_through_the_webhook(world: &World, id: &str) {
    let args = json!({"service": "haircut", "date": booking_date()}).to_string();
    let (_, slots) = world
        .webhook(tool_calls(
            id,
            &[("b1", "check_service_availability", json!(args))],
        ))
        .await;
    let start = first_result(&slots)["slots"][0]["start"]
        .as_str()
        .unwrap()
        .to_owned();
    let book = json!({"service": "haircut", "start": start, "client_name": "Bea Biller"});
    let (_, booked) = world
        .webhook(tool_calls(id, &[("b2", "book_appointment", book)]))
        .await;
    assert_eq!(first_result(&booked)["status"], "booked");
    let (s, body) = world.webhook(report(id)).await;
    assert_eq!((s, body), (StatusCode::OK, json!({})));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_webhook_call_and_booking_show_in_usage_and_in_the_draft_invoice(pool: PgPool) {
    let world = World::new(pool).await;
    book_through_the_webhook(&world, "call-billing-1").await;
    let usage = usage_when(&world, |u| {
        u["usage"]["calls"] == 1 && u["usage"]["bookings"] == 1
    })
    .await;
    let period = Period::of(events::SystemClock.now()).to_string();
    assert_eq!(usage["period"], period);
    assert_eq!(usage["status"], "draft");
    assert_eq!(usage["plan"], "starter");
    assert_eq!(usage["usage"]["voice_seconds"], 61);
    assert_eq!(
        usage["usage"]["voice_minutes"], 2,
        "61 s bill as 2 started minutes"
    );
    assert_eq!(usage["provider_cost_micros"], 73_100);
    assert_eq!(
        usage["margin_micros"],
        usage["revenue_minor"].as_i64().unwrap() * 10_000 - 73_100
    );

    let path = format!("/api/v1/businesses/{}/invoices/{period}", world.slug);
    let (s, inv) = world.api("GET", &path, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{inv}");
    assert_eq!(inv["status"], "draft");
    assert_eq!(inv["currency"], "USD");
    let kinds: Vec<&str> = inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["plan_fee", "voice_overage", "bookings", "phone_numbers"]
    );
    assert_eq!(
        inv["lines"][3]["quantity"], inv["lines"][0]["quantity"],
        "the claimed number, every day from today"
    );
    let lines_total: i64 = inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(inv["total_minor"], lines_total);
    assert_eq!(
        inv["lines"][2]["amount_minor"], 50,
        "one booking at 0.50 on starter"
    );
    assert_eq!(inv["total_minor"], usage["revenue_minor"]);

    let resp = world
        .http
        .get(world.app.url(&format!("{path}?format=csv")))
        .bearer_auth(&world.owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = resp.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 + 1, "{csv}");
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .ends_with(&format!(",total,,,,,,,{}", inv["total"].as_str().unwrap()))
    );

    // The event store and the projection agree.
    world.app.wait_for_projections().await;
    let report = reconcile(&world.app.store, Period::parse(&period).unwrap(), |_| {})
        .await
        .unwrap();
    assert!(report.differences.is_empty(), "{:#?}", report.differences);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn plans_change_from_a_date_and_bad_billing_input_is_refused(pool: PgPool) {
    let world = World::new(pool).await;
    let slug = world.slug.clone();
    let (s, plans) = world.api("GET", "/api/v1/plans", Value::Null).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(plans["plans"].as_array().unwrap().len(), 3);

    let plan = format!("/api/v1/businesses/{slug}/plan");
    let (s, body) = world.api("PUT", &plan, json!({"plan": "growth"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["history"].as_array().unwrap().len(), 1);
    usage_when(&world, |u| u["plan"] == "growth").await;

    for (body, code) in [
        (json!({"plan": "platinum"}), "unknown_plan"),
        (
            json!({"plan": "scale", "effective_from": "2020-01-01"}),
            "closed_period",
        ),
        (
            json!({"plan": "scale", "effective_from": "2099-01-01"}),
            "too_far_ahead",
        ),
    ] {
        let (s, answer) = world.api("PUT", &plan, body).await;
        assert_eq!(
            (s, answer["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code))
        );
    }
    let (s, answer) = world
        .api(
            "PUT",
            &plan,
            json!({"plan": "scale", "effective_from": "2026-02-30"}),
        )
        .await;
    assert!(s.is_client_error(), "{s} {answer}");
    for bad in [
        "usage?period=2026-13",
        "usage?period=26-11",
        "invoices/2026-1",
        "invoices/2026-11?format=pdf",
    ] {
        let (s, answer) = world
            .api(
                "GET",
                &format!("/api/v1/businesses/{slug}/{bad}"),
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
    // Nothing was appended by the refused changes: still one PlanAssigned.
    let business = format!("business-{}", world.business_id);
    let plans_assigned = world
        .event_types(&business)
        .await
        .into_iter()
        .filter(|t| t == "PlanAssigned")
        .count();
    assert_eq!(plans_assigned, 1);
}

/// Registers another owner with a business of their own; their access token.
async fn register_rival(world: &World) -> String {
    let (s, other) = world
        .api(
            "POST",
            "/api/v1/auth/register",
            json!({"email": "rival@other.test", "password": "correct horse battery",
            "business": {"name": "Rival", "business_type": "salon", "timezone": "Europe/Madrid"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    other["access_token"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn only_the_business_and_finance_read_its_usage(pool: PgPool) {
    let world = World::new(pool).await;
    let path = format!("/api/v1/businesses/{}/usage", world.slug);
    let rival = &register_rival(&world).await;
    assert_eq!(
        world.call_as(rival, "GET", &path, Value::Null).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        world.call_as("", "GET", &path, Value::Null).await.0,
        StatusCode::UNAUTHORIZED
    );

    api::tenancy::admin::create_platform_user(
        &world.app.store,
        "cfo@va.test",
        "finance password",
        PlatformRole::Finance,
    )
    .await
    .unwrap();
    let (_, tok) = world
        .api(
            "POST",
            "/api/v1/auth/token",
            json!({"email": "cfo@va.test", "password": "finance password"}),
        )
        .await;
    let finance = tok["access_token"].as_str().unwrap();
    assert_eq!(
        world.call_as(finance, "GET", &path, Value::Null).await.0,
        StatusCode::OK
    );
    let plan = format!("/api/v1/businesses/{}/plan", world.slug);
    assert_eq!(
        world
            .call_as(finance, "PUT", &plan, json!({"plan": "scale"}))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "finance reads, it does not choose plans"
    );
}

/// Billing reads count against the business's request budget like every tenant endpoint; an outsider's
/// refused requests do not spend it.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn billing_reads_over_the_business_budget_are_answered_429_and_outsiders_spend_none_of_it(
    pool: PgPool,
) {
    let world = World::new(pool).await;
    let rival = &register_rival(&world).await;
    let _limited = world
        .app
        .state
        .clone()
        .with_tenant_rate_limit(api::tenancy::RateLimit {
            per_second: 0.001,
            burst: 3.0,
        });
    let path = format!("/api/v1/businesses/{}/usage", world.slug);
    for _ in 0..10 {
        let (status, _) = world.call_as(rival, "GET", &path, Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            world
                .call_as(&world.owner_token, "GET", &path, Value::Null)
                .await,
        );
    }
    assert!(
        statuses[..3].iter().all(|(s, _)| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[4].0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(statuses[4].1["code"], "rate_limited");
}
