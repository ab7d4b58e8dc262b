//! The read-only auditor: reads every business it is not a member of, and every write route — found in
//! `/openapi.json`, so a route added later is covered too — answers 403 and appends nothing.

use chrono::{Datelike as _, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{World, assert_error};

/// Write operations that are not bearer-authenticated business actions: public sign-up and login, and
/// the Vapi webhook (authenticated by the Vapi secret, not a user token).
const NOT_USER_WRITES: [&str; 3] = [
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/token",
    "POST /vapi/webhook",
];

/// A date a few days ahead, as `YYYY-MM-DD`.
fn booking_date() -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "tests pick a date relative to the real clock the server uses"
    )]
    let d = (Utc::now() + TimeDelta::days(3)).date_naive();
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// What the auditor's write attempts need: a staff member, an appointment and two free slots of A.
struct Fixtures {
    staff_id: String,
    appointment_id: String,
    slots: Vec<String>,
}

async fn fixtures(w: &World) -> Fixtures {
    let a = &w.a;
    let staff = w
        .ok(
            &a.token,
            Method::POST,
            &format!("/api/v1/businesses/{}/staff", a.slug),
            json!({"name": "Eve", "service_ids": [a.service_id]}),
        )
        .await;
    w.app.wait_for_projections().await;
    let (s, avail) = w
        .get(
            &a.token,
            &format!(
                "/api/v1/businesses/{}/availability?service_id={}&date={}",
                a.slug,
                a.service_id,
                booking_date()
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{avail}");
    let slots: Vec<String> = avail["days"][0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slots.len(), 3, "{avail}");
    let booked = w
        .ok(
            &a.token,
            Method::POST,
            &format!("/api/v1/businesses/{}/appointments", a.slug),
            json!({"service_id": a.service_id, "start": slots[0], "client": {"name": "Carla"}}),
        )
        .await;
    w.app.wait_for_projections().await;
    Fixtures {
        staff_id: staff["id"].as_str().unwrap().to_owned(),
        appointment_id: booked["id"]
            .as_str()
            .or_else(|| booked["appointment_id"].as_str())
            .unwrap_or_else(|| panic!("no appointment id: {booked}"))
            .to_owned(),
        slots: slots[1..].to_vec(),
    }
}

/// A plausible body for each write route (valid for an owner), keyed by `METHOD /path/template`.
fn body_for(w: &World, f: &Fixtures, operation: &str) -> Option<Value> {
    let a = &w.a;
    let body = match operation {
        "PATCH /api/v1/businesses/{slug}" => json!({"name": "Audited"}),
        "PUT /api/v1/businesses/{slug}/hours" => {
            json!({"weekly": {"mon": [["09:00", "17:00"]]}, "overrides": {}})
        }
        "PUT /api/v1/businesses/{slug}/agent" => json!({"name": "Eve", "greeting": "Hello"}),
        "POST /api/v1/businesses/{slug}/services" => {
            json!({"name": "Shave", "duration_minutes": 15, "price": "5"})
        }
        "PATCH /api/v1/businesses/{slug}/services/{id}" => json!({"price": "1"}),
        "POST /api/v1/businesses/{slug}/staff" => json!({"name": "Mallory", "service_ids": []}),
        "PATCH /api/v1/businesses/{slug}/staff/{id}" => json!({"service_ids": []}),
        "POST /api/v1/businesses/{slug}/members" => {
            json!({"email": "audit@va.test", "role": "owner"})
        }
        "PATCH /api/v1/businesses/{slug}/members/{user_id}" => json!({"role": "viewer"}),
        "POST /api/v1/admin/phone-numbers" => json!({"number": "+14155550199",
            "provider_phone_number_id": "pn_x", "locality": "San Francisco", "region": "CA"}),
        "POST /api/v1/admin/phone-numbers/{number}/suspend" => json!({"reason": "audit"}),
        "POST /api/v1/businesses/{slug}/phone-number" => json!({"number": "+14155550199"}),
        "POST /api/v1/businesses/{slug}/holds" => {
            json!({"service_id": a.service_id, "start": f.slots[0]})
        }
        "POST /api/v1/businesses/{slug}/appointments" => {
            json!({"service_id": a.service_id, "start": f.slots[0], "client": {"name": "Mallory"}})
        }
        "POST /api/v1/appointments/{id}/cancel" => json!({"reason": "the auditor tried"}),
        "POST /api/v1/appointments/{id}/reschedule" => json!({"start": f.slots[1]}),
        "PUT /api/v1/businesses/{slug}/plan" => json!({"plan": "growth"}),
        op if op.starts_with("DELETE ") => return None,
        op => panic!(
            "new write route {op}: add a plausible body to body_for, and make sure a read-only auditor gets 403"
        ),
    };
    Some(body)
}

/// The concrete path for a documented template, with business A's ids.
fn fill(w: &World, f: &Fixtures, template: &str) -> String {
    let id = if template.contains("/services/") {
        w.a.service_id.as_str()
    } else if template.contains("/staff/") {
        f.staff_id.as_str()
    } else if template.contains("/appointments/") {
        f.appointment_id.as_str()
    } else {
        "unused"
    };
    let path = template
        .replace("{slug}", &w.a.slug)
        .replace("{id}", id)
        .replace("{user_id}", &w.a.user_id)
        .replace("{number}", "+14155550100");
    assert!(
        !path.contains('{'),
        "unknown path parameter in {template}: extend fill()"
    );
    path
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_auditor_reads_every_business_but_every_write_route_answers_403(pool: PgPool) {
    let w = World::new(pool).await;
    let f = fixtures(&w).await;
    let (a, b) = (&w.a, &w.b);

    // Reads, of both businesses, though the auditor is a member of neither.
    for shop in [a, b] {
        let s = &shop.slug;
        for path in [
            format!("/api/v1/businesses/{s}"),
            format!("/api/v1/businesses/{s}/hours"),
            format!("/api/v1/businesses/{s}/agent"),
            format!("/api/v1/businesses/{s}/services"),
            format!("/api/v1/businesses/{s}/services/{}", shop.service_id),
            format!("/api/v1/businesses/{s}/staff"),
            format!("/api/v1/businesses/{s}/members"),
            format!("/api/v1/businesses/{s}/phone-number"),
            format!("/api/v1/businesses/{s}/calls"),
            format!("/api/v1/calls/{}", shop.call_id),
            format!("/api/v1/businesses/{s}/appointments"),
            format!(
                "/api/v1/businesses/{s}/availability?service_id={}&date={}",
                shop.service_id,
                booking_date()
            ),
        ] {
            let (status, body) = w.get(&w.auditor, &path).await;
            assert_eq!(status, StatusCode::OK, "auditor GET {path}: {body}");
        }
    }
    let (_, appointments) = w
        .get(
            &w.auditor,
            &format!("/api/v1/businesses/{}/appointments", a.slug),
        )
        .await;
    assert_eq!(appointments["appointments"].as_array().unwrap().len(), 1);
    let (_, staff) = w
        .get(
            &w.auditor,
            &format!("/api/v1/businesses/{}/staff/{}", a.slug, f.staff_id),
        )
        .await;
    assert_eq!(staff["name"], "Eve", "{staff}");

    // Every documented write, from the OpenAPI document: 403 `forbidden`, and nothing appended.
    let (_, doc) = w.get("", "/openapi.json").await;
    let before = w.event_count().await;
    let mut tried = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            if !["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let operation = format!("{method} {template}");
            if NOT_USER_WRITES.contains(&operation.as_str()) {
                continue;
            }
            let path = fill(&w, &f, template);
            let body = body_for(&w, &f, &operation);
            let answer = w
                .call(&w.auditor, method.parse().unwrap(), &path, body)
                .await;
            assert_error(&answer, StatusCode::FORBIDDEN, "forbidden", &operation);
            tried.push(operation);
        }
    }
    assert!(
        tried.len() >= 20,
        "only {} write routes found: {tried:?}",
        tried.len()
    );
    w.app.wait_for_projections().await;
    assert_eq!(
        w.event_count().await,
        before,
        "a refused write appended events"
    );

    // The same bodies are real writes for the owner (so the 403s above are not bad requests).
    let (s, body) = w
        .call(
            &a.token,
            Method::POST,
            &format!("/api/v1/appointments/{}/reschedule", f.appointment_id),
            Some(json!({"start": f.slots[1]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
