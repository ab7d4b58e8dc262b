//! The dashboard read model and the live feed (issue 6), fed by calls played through the Vapi webhook.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{World, booking_date, call, first_result, tool_calls};

const ZONE: Tz = chrono_tz::America::New_York;

#[expect(
    clippy::disallowed_methods,
    reason = "the server books on the real clock; the test needs its local today"
)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

/// `hh:mm` local time on `date` in New York, as UTC.
fn ny(date: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
    date.and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap())
        .and_local_timezone(ZONE)
        .unwrap()
        .with_timezone(&Utc)
}

/// Vapi's `call` object for a call that started at `started`.
fn started_call(id: &str, started: DateTime<Utc>) -> Value {
    let mut c = call(id);
    c["startedAt"] = json!(started.to_rfc3339());
    c
}

fn with_call(mut message: Value, id: &str, started: DateTime<Utc>) -> Value {
    message["call"] = started_call(id, started);
    message
}

fn status(id: &str, started: DateTime<Utc>, s: &str) -> Value {
    json!({"type": "status-update", "status": s, "endedReason": "customer-ended-call",
           "call": started_call(id, started)})
}

fn report(id: &str, started: DateTime<Utc>, millis: i64) -> Value {
    let ended = started + TimeDelta::milliseconds(millis);
    json!({"type": "end-of-call-report", "endedReason": "customer-ended-call",
           "startedAt": started.to_rfc3339(), "endedAt": ended.to_rfc3339(), "cost": 0.05,
           "call": started_call(id, started)})
}

/// One tool call of call `id`, answered; returns the parsed result.
async fn tool(
    world: &World,
    id: &str,
    started: DateTime<Utc>,
    tc: &str,
    name: &str,
    args: Value,
) -> Value {
    let (s, answer) = world
        .webhook(with_call(tool_calls(id, &[(tc, name, args)]), id, started))
        .await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    first_result(&answer)
}

async fn dashboard(world: &World, query: &str) -> (StatusCode, Value) {
    world
        .api(
            "GET",
            &format!("/api/v1/businesses/{}/dashboard{query}", world.slug),
            Value::Null,
        )
        .await
}

/// Polls the dashboard until `ready` holds (the projection lags the webhook).
async fn dashboard_when(world: &World, query: &str, ready: impl Fn(&Value) -> bool) -> Value {
    world.app.wait_for_projections().await;
    let mut last = Value::Null;
    for _ in 0..100 {
        let (s, body) = dashboard(world, query).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        if ready(&body) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("dashboard never got there: {last}");
}

async fn move_to_new_york(world: &World) {
    let (s, b) = world
        .api(
            "PATCH",
            &format!("/api/v1/businesses/{}", world.slug),
            json!({"timezone": "America/New_York"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    world.app.wait_for_projections().await;
}

/// Plays call A (yesterday 23:30 New York, i.e. today in UTC), B (today 10:00, books twice, cancels
/// one) and C (today 10:20, never answered).
async fn play_three_calls(world: &World, today: NaiveDate) {
    let date = booking_date();
    let yesterday = today.pred_opt().unwrap();
    let a = ny(yesterday, 23, 30);
    assert_eq!(a.date_naive(), today, "call A must be on the UTC today");
    world.webhook(status("dash-a", a, "in-progress")).await;
    tool(
        world,
        "dash-a",
        a,
        "a1",
        "check_service_availability",
        json!({"service": "Haircut", "date": date}),
    )
    .await;
    world.webhook(status("dash-a", a, "ended")).await;
    assert_eq!(
        world.webhook(report("dash-a", a, 95_200)).await.0,
        StatusCode::OK
    );

    let b = ny(today, 10, 0);
    let slots = tool(
        world,
        "dash-b",
        b,
        "b1",
        "check_service_availability",
        json!({"service": "Haircut", "date": date}),
    )
    .await;
    let mut booked = Vec::new();
    for (i, tc) in ["b2", "b3"].into_iter().enumerate() {
        let start = slots["slots"][i]["start"].as_str().unwrap();
        let r = tool(
            world,
            "dash-b",
            b,
            tc,
            "book_appointment",
            json!({"service": "Haircut", "start": start, "client_name": "Dee"}),
        )
        .await;
        assert_eq!(r["status"], "booked", "{r}");
        booked.push(r["appointment_id"].as_str().unwrap().to_owned());
    }
    let r = tool(
        world,
        "dash-b",
        b,
        "b4",
        "cancel_appointment",
        json!({"appointment_id": booked[0]}),
    )
    .await;
    assert_eq!(r["status"], "cancelled", "{r}");
    world.webhook(status("dash-b", b, "ended")).await;
    assert_eq!(
        world.webhook(report("dash-b", b, 60_000)).await.0,
        StatusCode::OK
    );

    let c = ny(today, 10, 20);
    world.webhook(status("dash-c", c, "ended")).await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_dashboard_counts_calls_bookings_and_a_cancellation_on_their_local_days(pool: PgPool) {
    let world = World::new(pool).await;
    move_to_new_york(&world).await;
    let today = now().with_timezone(&ZONE).date_naive();
    let yesterday = today.pred_opt().unwrap();
    play_three_calls(&world, today).await;

    let query = format!("?from={yesterday}&to={today}");
    let body = dashboard_when(&world, &query, |b| {
        b["totals"]["calls"] == 3
            && b["totals"]["cancellations"] == 1
            && b["totals"]["voice_minutes"] == 3
    })
    .await;
    assert_eq!(body["timezone"], "America/New_York");
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some(&*yesterday.to_string()), Some(&*today.to_string()))
    );
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{body}");
    let (first, second) = (&days[0], &days[1]);
    assert_eq!(first["date"], yesterday.to_string());
    // Call A started at 23:30 local: yesterday locally although it is today in UTC.
    assert_eq!(
        (
            &first["calls"],
            &first["answered"],
            &first["tool_calls"],
            &first["availability_checks"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1)),
        "{first}"
    );
    assert_eq!(first["voice_minutes"], 2, "95.2 s is two started minutes");
    assert_eq!(first["average_duration_seconds"], 95.2);
    assert_eq!(
        (&first["bookings"], &first["conversion"]),
        (&json!(0), &json!(0.0))
    );

    assert_eq!(second["date"], today.to_string());
    assert_eq!(
        (&second["calls"], &second["answered"]),
        (&json!(2), &json!(1)),
        "call C was never answered: {second}"
    );
    assert_eq!(
        (&second["tool_calls"], &second["availability_checks"]),
        (&json!(4), &json!(1))
    );
    assert_eq!(
        (&second["bookings"], &second["cancellations"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(second["conversion"], 1.0);
    assert_eq!(second["voice_minutes"], 1);
    assert_eq!(second["average_duration_seconds"], 60.0);
    // Two haircuts booked at 35.00, one cancelled again.
    assert_eq!(
        (&second["revenue_booked"], &second["revenue_booked_minor"]),
        (&json!("35.00"), &json!(3500))
    );

    let totals = &body["totals"];
    assert_eq!(
        (&totals["calls"], &totals["answered"], &totals["bookings"]),
        (&json!(3), &json!(2), &json!(2))
    );
    assert_eq!(
        (&totals["tool_calls"], &totals["availability_checks"]),
        (&json!(5), &json!(2))
    );
    assert_eq!(totals["conversion"], 0.6667);
    assert_eq!(totals["average_duration_seconds"], 77.6);
    assert_eq!(totals["revenue_booked"], "35.00");
    assert_eq!(
        body["busiest_hours"],
        json!([{"hour": 10, "calls": 2}, {"hour": 23, "calls": 1}])
    );

    // Today alone, and the default range (the last 30 days ending today) which holds both days.
    let (s, only_today) = dashboard(&world, &format!("?from={today}&to={today}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(only_today["totals"]["calls"], 2);
    let (s, default) = dashboard(&world, "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(default["days"].as_array().unwrap().len(), 30);
    assert_eq!(default["to"], today.to_string());
    assert_eq!(default["totals"], body["totals"]);

    // Deterministic: a rebuild from position zero gives the same dashboard as the live projection.
    projections::rebuild::rebuild(&world.app.store, &projections::dashboard::Dashboard)
        .await
        .unwrap();
    let (s, rebuilt) = dashboard(&world, &query).await;
    assert_eq!(s, StatusCode::OK, "{rebuilt}");
    assert_eq!(rebuilt, body, "a rebuild changed the dashboard");

    // The call log too: the live projection applied these calls' events in small batches, the rebuild in
    // one, where each call's events fall into rounds of their own.
    let pool = world.app.store.pool();
    let call_log = || async {
        sqlx::query_scalar::<_, Value>(
            "select jsonb_build_object( \
               'calls', (select jsonb_agg(to_jsonb(c) order by c.call_id) from call_log c), \
               'tools', (select jsonb_agg(to_jsonb(t) order by t.call_id, t.tool_call_id) \
                         from call_tool_invocations t), \
               'lines', (select jsonb_agg(to_jsonb(l) order by l.call_id, l.position) \
                         from call_transcript_lines l))",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let live = call_log().await;
    assert_eq!(live["calls"].as_array().map(Vec::len), Some(3), "{live}");
    projections::rebuild::rebuild(&world.app.store, &projections::call_log::CallLog)
        .await
        .unwrap();
    assert_eq!(call_log().await, live, "a rebuild changed the call log");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn bad_dashboard_dates_are_refused_with_422(pool: PgPool) {
    let world = World::new(pool).await;
    for query in [
        "?from=2026-02-30&to=2026-03-01",
        "?from=21-11-2026",
        "?to=tomorrow",
        "?from=2026-11-02&to=2026-11-01",
        "?from=2025-01-01&to=2026-01-02",
    ] {
        let (s, body) = dashboard(&world, query).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert!(body["code"].is_string(), "{body}");
    }
    let (s, _) = dashboard(&world, "?from=2024-01-01&to=2024-12-31").await;
    assert_eq!(s, StatusCode::OK, "366 days is the most, and allowed");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn another_tenants_member_gets_404_on_dashboard_and_live(pool: PgPool) {
    let world = World::new(pool).await;
    let (s, reg) = world
        .call_as("", "POST", "/api/v1/auth/register", json!({"email": "bo@elsewhere.test", "password": "another good password",
            "business": {"name": "Elsewhere", "business_type": "spa", "timezone": "Europe/Berlin"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reg}");
    let other = reg["access_token"].as_str().unwrap();
    let slug = &world.slug;
    for path in [
        format!("/api/v1/businesses/{slug}/dashboard"),
        format!("/api/v1/businesses/{slug}/live"),
    ] {
        let (s, body) = world.call_as(other, "GET", &path, Value::Null).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let live = |q: String| {
        world
            .http
            .get(world.app.url(&format!("/api/v1/businesses/{slug}/live{q}")))
            .send()
    };
    assert_eq!(
        live(format!("?access_token={other}"))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        live(String::new()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        live("?access_token=forged".into()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // The owner may follow the feed with the token in the query, as a browser's EventSource must.
    let resp = live(format!("?access_token={}", world.owner_token))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
}

/// One SSE event block as received, and when.
struct Received {
    at: tokio::time::Instant,
    event: String,
    id: Option<String>,
    data: Value,
}

/// Reads SSE blocks off `resp` into a channel, stamped with their arrival time.
fn sse_reader(mut resp: reqwest::Response) -> tokio::sync::mpsc::UnboundedReceiver<Received> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buf = String::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                let (Some(event), Some(data)) = (field("event:"), field("data:")) else {
                    continue; // a keep-alive comment
                };
                let received = Received {
                    at: tokio::time::Instant::now(),
                    event,
                    id: field("id:"),
                    data: serde_json::from_str(&data).unwrap(),
                };
                if tx.send(received).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn live_feed_delivers_a_webhook_booking_within_a_second(pool: PgPool) {
    let world = World::new(pool).await;
    let id = "live-1";
    let (_, slots) = world
        .webhook(tool_calls(
            id,
            &[(
                "l1",
                "check_service_availability",
                json!({"service": "Haircut", "date": booking_date()}),
            )],
        ))
        .await;
    let start = first_result(&slots)["slots"][0]["start"]
        .as_str()
        .unwrap()
        .to_owned();

    let resp = world
        .http
        .get(
            world
                .app
                .url(&format!("/api/v1/businesses/{}/live", world.slug)),
        )
        .bearer_auth(&world.owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut events = sse_reader(resp);

    let (s, booked) = world
        .webhook(tool_calls(
            id,
            &[(
                "l2",
                "book_appointment",
                json!({"service": "Haircut", "start": start, "client_name": "Liv"}),
            )],
        ))
        .await;
    let answered = tokio::time::Instant::now();
    assert_eq!(s, StatusCode::OK);
    let appointment = first_result(&booked)["appointment_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let deadline = answered + Duration::from_secs(1);
    let booked_event = loop {
        let received = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("no AppointmentBooked on the live feed within 1 s of the webhook response")
            .expect("the live feed ended");
        if received.event == "AppointmentBooked" {
            break received;
        }
    };
    assert!(booked_event.at <= deadline);
    let data = &booked_event.data;
    assert_eq!(data["type"], "AppointmentBooked");
    assert_eq!(data["stream_id"], format!("booking-{appointment}"));
    assert_eq!(data["data"]["business_id"], world.business_id.as_str());
    assert!(data["occurred_at"].is_string(), "{data}");
    assert!(
        booked_event.id.is_some_and(|id| id.parse::<i64>().is_ok()),
        "no position id"
    );
}
