//! Booking acceptance tests of issue 4 over HTTP against the real server, Postgres and NATS: the race,
//! concurrent idempotent retries, holds and expiry, reschedule onto itself, cancel-and-rebook, bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;
use std::time::Duration;

use api::testkit::TestApp;
use chrono::{DateTime, Days, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

/// A business in New York open 09:00–17:00 daily with Ann (trim 30 min, full cut 90 min), Bea (colour),
/// a retired service, and an HTTP client holding the owner's token.
struct Salon {
    app: TestApp,
    http: reqwest::Client,
    token: String,
    slug: String,
    trim: String,
    full: String,
    colour: String,
    retired: String,
    ann: String,
    bea: String,
    /// Tomorrow, business-local `YYYY-MM-DD`.
    day: String,
}

impl Salon {
    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, None, Some(body)).await
    }

    async fn book(
        &self,
        service: &str,
        time: &str,
        staff: Option<&str>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let body = json!({"service_id": service, "start": format!("{}T{time}", self.day), "staff_id": staff,
                          "client": {"name": "Dana", "phone": "+1 555 010 2030"}});
        let path = format!("/api/v1/businesses/{}/appointments", self.slug);
        self.call(Method::POST, &path, key, Some(body)).await
    }

    async fn spawn(pool: PgPool) -> Self {
        let app = TestApp::spawn(pool).await;
        // The races below send 100 requests at once: more than a tenant's default burst (100, shared with
        // setup). This suite tests booking, not the rate limiter (tenancy tests cover that).
        let _ = app
            .state
            .clone()
            .with_tenant_rate_limit(api::tenancy::rate_limit::RateLimit {
                per_second: 10_000.0,
                burst: 10_000.0,
            });
        let http = reqwest::Client::new();
        let (status, owner) = http
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({"email": "owner@salon.test", "password": "correct horse battery",
                          "business": {"name": "Salon", "business_type": "salon", "timezone": "America/New_York"}}))
            .send()
            .await
            .map(|r| (r.status(), r))
            .unwrap();
        let owner: Value = owner.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{owner}");
        let day = (events::Clock::now(&events::SystemClock)
            .with_timezone(&chrono_tz::America::New_York)
            .date_naive()
            + Days::new(1))
        .to_string();
        let mut salon = Self {
            app,
            http,
            token: owner["access_token"].as_str().unwrap().into(),
            slug: owner["business"]["slug"].as_str().unwrap().into(),
            trim: String::new(),
            full: String::new(),
            colour: String::new(),
            retired: String::new(),
            ann: String::new(),
            bea: String::new(),
            day,
        };
        let slug = salon.slug.clone();
        let open = every_day("09:00", "17:00");
        let (status, body) = salon
            .call(
                Method::PUT,
                &format!("/api/v1/businesses/{slug}/hours"),
                None,
                Some(json!({"weekly": open})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut ids = Vec::new();
        for (name, minutes) in [("Trim", 30), ("Full cut", 90), ("Colour", 60), ("Perm", 60)] {
            let (status, body) = salon
                .post(
                    &format!("/api/v1/businesses/{slug}/services"),
                    json!({"name": name, "duration_minutes": minutes, "price": "30.00", "slot_step_minutes": 15,
                           "buffer_after_minutes": 5, "horizon_days": 30}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            ids.push(body["id"].as_str().unwrap().to_owned());
        }
        [salon.trim, salon.full, salon.colour, salon.retired] = ids.try_into().unwrap();
        salon.app.wait_for_projections().await;
        for (name, services) in [
            ("Ann", vec![&salon.trim, &salon.full, &salon.retired]),
            ("Bea", vec![&salon.colour]),
        ] {
            let (status, body) = salon
                .post(
                    &format!("/api/v1/businesses/{slug}/staff"),
                    json!({"name": name, "service_ids": services}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let id = body["id"].as_str().unwrap().to_owned();
            if name == "Ann" {
                salon.ann = id;
            } else {
                salon.bea = id;
            }
        }
        let path = format!("/api/v1/businesses/{slug}/services/{}", salon.retired);
        assert!(
            salon
                .call(Method::DELETE, &path, None, None)
                .await
                .0
                .is_success()
        );
        salon.app.wait_for_projections().await;
        salon
    }

    async fn count(&self, event_type: &str) -> i64 {
        sqlx::query_scalar("select count(*) from events where event_type = $1")
            .bind(event_type)
            .fetch_one(self.app.store.pool())
            .await
            .unwrap()
    }

    async fn events(&self) -> i64 {
        sqlx::query_scalar("select count(*) from events")
            .fetch_one(self.app.store.pool())
            .await
            .unwrap()
    }
}

/// Weekly hours open `from`–`to` every day.
fn every_day(from: &str, to: &str) -> Value {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| ((*d).to_owned(), json!([[from, to]])))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn assert_disjoint(mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>) {
    intervals.sort();
    for pair in intervals.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlap: {pair:?}");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_hundred_concurrent_http_bookings_never_overlap_and_every_loser_gets_409_with_alternatives(
    pool: PgPool,
) {
    let salon = Arc::new(Salon::spawn(pool).await);
    let requested_before = salon.count("SlotRequested").await;
    let mut tasks = Vec::new();
    for i in 0..100_u32 {
        let salon = salon.clone();
        tasks.push(tokio::spawn(async move {
            let time = format!("{:02}:{:02}", 9 + (i % 12) * 15 / 60, (i % 12) * 15 % 60);
            let service = if i % 3 == 0 {
                salon.full.clone()
            } else {
                salon.trim.clone()
            };
            let staff = (i % 2 == 0).then(|| salon.ann.clone());
            salon.book(&service, &time, staff.as_deref(), None).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == StatusCode::CREATED {
            won += 1;
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["code"], "slot_unavailable");
            assert!(
                !body["alternatives"].as_array().unwrap().is_empty(),
                "{body}"
            );
        }
    }
    assert!(won >= 1);
    assert_eq!(salon.count("SlotRequested").await - requested_before, 100);
    assert_eq!(salon.count("AppointmentBooked").await, won);
    let booked: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "select (data->'placement'->>'start')::timestamptz, \
           (data->'placement'->>'end')::timestamptz + make_interval(mins => (data->'placement'->>'buffer_after_minutes')::int) \
         from events where event_type = 'AppointmentBooked'",
    )
    .fetch_all(salon.app.store.pool())
    .await
    .unwrap();
    assert_disjoint(booked);
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        sqlx::query_as("select lower(during), upper(during) from allocations")
            .fetch_all(salon.app.store.pool())
            .await
            .unwrap();
    assert_eq!(i64::try_from(rows.len()).unwrap(), won);
    assert_disjoint(rows);
    let report = api::booking::verify::verify(&salon.app.store)
        .await
        .unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_same_idempotency_key_sent_ten_times_at_once_books_once_with_ten_identical_answers(
    pool: PgPool,
) {
    let salon = Arc::new(Salon::spawn(pool).await);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let salon = salon.clone();
            tokio::spawn(async move { salon.book(&salon.trim, "10:00", None, Some("key-1")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(answers[0].0, StatusCode::CREATED, "{}", answers[0].1);
    assert!(answers.iter().all(|a| *a == answers[0]));
    assert_eq!(salon.count("AppointmentBooked").await, 1);
    let (status, body) = salon.book(&salon.trim, "11:00", None, Some("key-1")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_key_reused")
        )
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn holds_expire_appointments_move_onto_themselves_and_a_cancelled_interval_can_be_rebooked(
    pool: PgPool,
) {
    let salon = Salon::spawn(pool).await;
    let slug = salon.slug.clone();
    let (status, hold) = salon
        .post(
            &format!("/api/v1/businesses/{slug}/holds"),
            json!({"service_id": salon.trim, "start": format!("{}T09:00", salon.day), "ttl_seconds": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    assert_eq!(
        salon.book(&salon.trim, "09:00", None, None).await.0,
        StatusCode::CONFLICT
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = salon.book(&salon.trim, "09:00", None, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(salon.count("HoldExpired").await, 1);

    let (status, long) = salon.book(&salon.full, "13:00", None, None).await;
    assert_eq!(status, StatusCode::CREATED, "{long}");
    let id = long["id"].as_str().unwrap();
    let (status, moved) = salon
        .post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            json!({"start": format!("{}T13:30", salon.day)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert!(moved["start"].as_str().unwrap().contains("T13:30:00"));

    let (status, _) = salon
        .post(&format!("/api/v1/appointments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, again) = salon.book(&salon.full, "13:30", None, None).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");

    salon.app.wait_for_projections().await;
    let path = format!(
        "/api/v1/businesses/{slug}/availability?service_id={}&date={}",
        salon.full, salon.day
    );
    let (status, availability) = salon.call(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{availability}");
    let starts: Vec<&str> = availability["days"][0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    assert!(
        !starts.iter().any(|s| s.contains("T13:30:00")),
        "{starts:?}"
    );
    assert!(starts.iter().any(|s| s.contains("T15:15:00")), "{starts:?}");
    let (status, list) = salon
        .call(
            Method::GET,
            &format!("/api/v1/businesses/{slug}/appointments"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["appointments"].as_array().unwrap().len(), 3, "{list}");
}

/// The API keeps each business's catalog in memory (checked against `catalog_revisions` on every request):
/// once the catalog projector has applied a change, availability and booking follow it at once, although
/// the earlier catalog was cached by the requests before it.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn catalog_changes_reach_availability_and_booking_although_the_old_catalog_was_cached(
    pool: PgPool,
) {
    let salon = Salon::spawn(pool).await;
    let slug = salon.slug.clone();
    let starts = |availability: &Value| -> Vec<String> {
        availability["days"][0]["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["start"].as_str().unwrap().to_owned())
            .collect()
    };
    let path = format!(
        "/api/v1/businesses/{slug}/availability?service_id={}&date={}",
        salon.trim, salon.day
    );
    let (status, before) = salon.call(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert!(
        starts(&before).iter().any(|s| s.contains("T09:00:00")),
        "{before}"
    );
    let (status, body) = salon.book(&salon.trim, "16:00", None, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Hours 10:00–17:00 from now on, and a trim becomes 45 minutes long.
    let late = every_day("10:00", "17:00");
    let (status, body) = salon
        .call(
            Method::PUT,
            &format!("/api/v1/businesses/{slug}/hours"),
            None,
            Some(json!({"weekly": late})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = salon
        .call(
            Method::PATCH,
            &format!("/api/v1/businesses/{slug}/services/{}", salon.trim),
            None,
            Some(json!({"name": "Trim", "duration_minutes": 45, "price": "30.00", "slot_step_minutes": 15,
                        "buffer_after_minutes": 5, "horizon_days": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    salon.app.wait_for_projections().await;

    let (status, after) = salon.call(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let after_starts = starts(&after);
    assert!(
        after_starts
            .first()
            .is_some_and(|s| s.contains("T10:00:00")),
        "{after}"
    );
    let first_end = after["days"][0]["slots"][0]["end"].as_str().unwrap();
    assert!(first_end.contains("T10:45:00"), "45 minutes now: {after}");
    let (status, body) = salon.book(&salon.trim, "09:30", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("outside_hours")),
        "{body}"
    );
    let (status, body) = salon.book(&salon.trim, "10:00", None, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body["end"].as_str().unwrap().contains("T10:45:00"),
        "{body}"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn bad_booking_input_is_a_clear_4xx_and_appends_nothing(pool: PgPool) {
    let salon = Salon::spawn(pool).await;
    let before = salon.events().await;
    let far = (events::Clock::now(&events::SystemClock).date_naive() + Days::new(60)).to_string();
    let past = (events::Clock::now(&events::SystemClock).date_naive() - Days::new(2)).to_string();
    let slug = salon.slug.clone();
    let path = format!("/api/v1/businesses/{slug}/appointments");
    for (body, status, code) in [
        (
            json!({"service_id": salon.trim, "start": format!("{far}T10:00")}),
            422,
            "outside_horizon",
        ),
        (
            json!({"service_id": salon.trim, "start": format!("{}T10:05", salon.day)}),
            422,
            "off_grid",
        ),
        (
            json!({"service_id": salon.retired, "start": format!("{}T10:00", salon.day)}),
            422,
            "service_retired",
        ),
        (
            json!({"service_id": salon.trim, "start": format!("{}T10:00", salon.day), "staff_id": salon.bea}),
            422,
            "staff_not_eligible",
        ),
        (
            json!({"service_id": salon.trim, "start": format!("{past}T10:00")}),
            422,
            "start_in_past",
        ),
    ] {
        let (got, answer) = salon.post(&path, body.clone()).await;
        assert_eq!(
            (got.as_u16(), answer["code"].as_str()),
            (status, Some(code)),
            "{body} → {answer}"
        );
    }
    let unknown = uuid::Uuid::now_v7();
    let (got, answer) = salon
        .post(&format!("/api/v1/appointments/{unknown}/cancel"), json!({}))
        .await;
    assert_eq!(
        (got, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(salon.events().await, before);
}
