//! The booking service against real Postgres, driven through its catalog seam (`BusinessCatalog`) rather
//! than HTTP: races, idempotency, holds and their expiry, reschedule, cancel, bad input, the verifier.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::{Arc, Mutex};

use api::booking::verify::verify;
use api::booking::{
    BookRequest, BookingService, BusinessCatalog, CatalogService, CatalogStaff, ClientInput,
    CommandContext, HoldRequest, RescheduleRequest,
};
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use domain::scheduling::{DateOverrides, ServiceRules, StaffSchedule, WeeklyHours};
use events::Clock;
use sqlx::PgPool;
use store::EventStore;
use uuid::Uuid;

#[derive(Debug)]
struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, by: TimeDelta) {
        *self.0.lock().unwrap() += by;
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

const BUSINESS: Uuid = Uuid::from_u128(0xb0);
const SHORT: Uuid = Uuid::from_u128(0x51); // 30 minutes
const LONG: Uuid = Uuid::from_u128(0x52); // 90 minutes
const RETIRED: Uuid = Uuid::from_u128(0x53);
const COLOUR: Uuid = Uuid::from_u128(0x54); // only Bea performs it
const ANN: Uuid = Uuid::from_u128(0xa1);
const BEA: Uuid = Uuid::from_u128(0xa2);

fn rules(duration: u32) -> ServiceRules {
    ServiceRules {
        step_minutes: Some(15),
        buffer_after_minutes: 5,
        horizon_days: 30,
        ..ServiceRules::new(duration)
    }
}

/// New York, open 09:00–17:00 every day; Ann does everything but colour, Bea only colour.
fn catalog() -> BusinessCatalog {
    let days: Vec<(chrono::Weekday, &[(&str, &str)])> = [
        chrono::Weekday::Mon,
        chrono::Weekday::Tue,
        chrono::Weekday::Wed,
        chrono::Weekday::Thu,
        chrono::Weekday::Fri,
        chrono::Weekday::Sat,
        chrono::Weekday::Sun,
    ]
    .into_iter()
    .map(|d| (d, &[("09:00", "17:00")][..]))
    .collect();
    let service = |id, name: &str, minutes, retired| CatalogService {
        id,
        name: name.into(),
        rules: rules(minutes),
        retired,
    };
    BusinessCatalog {
        business_id: BUSINESS,
        timezone: chrono_tz::America::New_York,
        weekly: WeeklyHours::parse(&days).unwrap(),
        overrides: DateOverrides::none(),
        services: vec![
            service(SHORT, "Trim", 30, false),
            service(LONG, "Full cut", 90, false),
            service(RETIRED, "Perm", 60, true),
            service(COLOUR, "Colour", 60, false),
        ],
        staff: vec![
            CatalogStaff {
                id: ANN,
                name: "Ann".into(),
                service_ids: vec![SHORT, LONG, RETIRED],
                schedule: StaffSchedule::business_hours(ANN),
            },
            CatalogStaff {
                id: BEA,
                name: "Bea".into(),
                service_ids: vec![COLOUR],
                schedule: StaffSchedule::business_hours(BEA),
            },
        ],
    }
}

async fn service(pool: PgPool) -> (BookingService, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(Mutex::new(at("2027-03-01T12:00:00Z"))));
    let store = EventStore::open(pool).await.unwrap();
    (BookingService::new(store).with_clock(clock.clone()), clock)
}

fn book(service_id: Uuid, start: &str) -> BookRequest {
    BookRequest {
        service_id,
        start: at(start),
        staff_id: None,
        client: None,
        hold_id: None,
        notes: None,
    }
}

/// A hold of `service_id` at `start` for anyone, expiring after `ttl_seconds` (`None`: the default).
fn hold_request(service_id: Uuid, start: &str, ttl_seconds: Option<u32>) -> HoldRequest {
    HoldRequest {
        service_id,
        start: at(start),
        staff_id: None,
        ttl_seconds,
    }
}

fn keyed(key: &str) -> CommandContext {
    CommandContext {
        idempotency_key: Some(key.into()),
        ..CommandContext::default()
    }
}

async fn count(pool: &PgPool, event_type: &str) -> i64 {
    sqlx::query_scalar("select count(*) from events where event_type = $1")
        .bind(event_type)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn all_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `[start − before, end + after)` of every live appointment in the event log, by booking stream.
async fn booked_intervals_from_events(pool: &PgPool) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let rows: Vec<(serde_json::Value,)> =
        sqlx::query_as("select data from events where event_type = 'AppointmentBooked'")
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(data,)| {
            let p = &data["placement"];
            let start: DateTime<Utc> = serde_json::from_value(p["start"].clone()).unwrap();
            let end: DateTime<Utc> = serde_json::from_value(p["end"].clone()).unwrap();
            let before = p["buffer_before_minutes"].as_i64().unwrap();
            let after = p["buffer_after_minutes"].as_i64().unwrap();
            (
                start - TimeDelta::minutes(before),
                end + TimeDelta::minutes(after),
            )
        })
        .collect()
}

fn assert_disjoint(mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>) {
    intervals.sort();
    for pair in intervals.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlap: {pair:?}");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_hundred_concurrent_bookings_of_overlapping_lengths_never_overlap_and_every_loser_gets_alternatives(
    pool: PgPool,
) {
    let (service, _) = service(pool.clone()).await;
    let catalog = Arc::new(catalog());
    let mut tasks = Vec::new();
    for i in 0..100_i64 {
        let (service, catalog) = (service.clone(), catalog.clone());
        tasks.push(tokio::spawn(async move {
            let start = at("2027-03-02T14:00:00Z") + TimeDelta::minutes(15 * (i % 12));
            let mut request = book(
                if i % 3 == 0 { LONG } else { SHORT },
                "2027-03-02T14:00:00Z",
            );
            request.start = start;
            request.staff_id = (i % 2 == 0).then_some(ANN);
            service
                .book(&catalog, &request, &CommandContext::default())
                .await
        }));
    }
    let mut won = 0;
    for task in tasks {
        let reply = task.await.unwrap().unwrap();
        if reply.status == StatusCode::CREATED {
            won += 1;
        } else {
            assert_eq!(reply.status, StatusCode::CONFLICT);
            assert_eq!(reply.body["code"], "slot_unavailable");
            assert!(!reply.body["alternatives"].as_array().unwrap().is_empty());
        }
    }
    assert!(won >= 1);
    assert_eq!(count(&pool, "SlotRequested").await, 100);
    assert_eq!(count(&pool, "AppointmentBooked").await, won);
    assert_eq!(count(&pool, "BookingRejected").await, 100 - won);
    assert_disjoint(booked_intervals_from_events(&pool).await);
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "select lower(during), upper(during) from allocations where resource_id = $1",
    )
    .bind(ANN)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(i64::try_from(rows.len()).unwrap(), won);
    assert_disjoint(rows);
    assert!(
        verify(service.store())
            .await
            .unwrap()
            .differences
            .is_empty()
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_same_idempotency_key_ten_times_at_once_books_once_and_answers_ten_times_the_same(
    pool: PgPool,
) {
    let (service, _) = service(pool.clone()).await;
    let catalog = Arc::new(catalog());
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (service, catalog) = (service.clone(), catalog.clone());
        tasks.push(tokio::spawn(async move {
            let request = book(SHORT, "2027-03-02T15:00:00Z");
            service
                .book(&catalog, &request, &keyed("call-1/tool-7"))
                .await
                .unwrap()
        }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    assert!(replies.iter().all(|r| *r == replies[0]), "{replies:#?}");
    assert_eq!(replies[0].status, StatusCode::CREATED);
    assert_eq!(count(&pool, "AppointmentBooked").await, 1);
    assert_eq!(count(&pool, "SlotRequested").await, 1);

    let other = book(SHORT, "2027-03-02T16:00:00Z");
    let err = service
        .book(&catalog, &other, &keyed("call-1/tool-7"))
        .await
        .unwrap_err();
    assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err.code, "idempotency_key_reused");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_hold_blocks_others_until_it_expires_and_is_then_released_by_the_next_booking(
    pool: PgPool,
) {
    let (service, clock) = service(pool.clone()).await;
    let catalog = catalog();
    let ctx = CommandContext::default();
    let hold = hold_request(SHORT, "2027-03-02T15:00:00Z", Some(60));
    let held = service.hold(&catalog, &hold, &ctx).await.unwrap();
    assert_eq!(held.status, StatusCode::CREATED);

    let taken = service
        .book(&catalog, &book(SHORT, "2027-03-02T15:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(taken.status, StatusCode::CONFLICT);

    clock.advance(TimeDelta::seconds(61));
    let booked = service
        .book(&catalog, &book(SHORT, "2027-03-02T15:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(booked.status, StatusCode::CREATED);
    assert_eq!(count(&pool, "HoldExpired").await, 1);
    let same_tx: i64 = sqlx::query_scalar(
        "select count(distinct tx_id) from events where event_type in ('HoldExpired', 'AppointmentBooked')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        same_tx, 1,
        "the hold is released in the booking's transaction"
    );
    assert!(
        verify(service.store())
            .await
            .unwrap()
            .differences
            .is_empty()
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_holder_books_their_live_hold(pool: PgPool) {
    let (service, _) = service(pool.clone()).await;
    let catalog = catalog();
    let ctx = CommandContext::default();
    let hold = hold_request(LONG, "2027-03-02T15:00:00Z", None);
    let held = service.hold(&catalog, &hold, &ctx).await.unwrap();
    let hold_id: Uuid = serde_json::from_value(held.body["hold_id"].clone()).unwrap();
    let mut request = book(LONG, "2027-03-02T15:00:00Z");
    request.hold_id = Some(hold_id);
    request.client = Some(ClientInput {
        name: "Dana".into(),
        phone: Some("+1 555 010 2030".into()),
        email: None,
    });
    let booked = service.book(&catalog, &request, &ctx).await.unwrap();
    assert_eq!(booked.status, StatusCode::CREATED, "{:?}", booked.body);
    assert_eq!(booked.body["id"], hold_id.to_string());
    assert_eq!(booked.body["start"], "2027-03-02T10:00:00-05:00");
    assert_eq!(count(&pool, "ClientRegistered").await, 1);
    assert!(
        verify(service.store())
            .await
            .unwrap()
            .differences
            .is_empty()
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_appointment_moves_onto_an_overlapping_time_of_itself_and_a_cancelled_slot_can_be_rebooked(
    pool: PgPool,
) {
    let (service, _) = service(pool.clone()).await;
    let catalog = catalog();
    let ctx = CommandContext::default();
    let booked = service
        .book(&catalog, &book(LONG, "2027-03-02T15:00:00Z"), &ctx)
        .await
        .unwrap();
    let id: Uuid = serde_json::from_value(booked.body["id"].clone()).unwrap();
    let moved = service
        .reschedule(
            &catalog,
            id,
            &RescheduleRequest {
                start: at("2027-03-02T15:30:00Z"),
                staff_id: None,
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(count(&pool, "AppointmentRescheduled").await, 1);

    let taken = service
        .book(&catalog, &book(SHORT, "2027-03-02T16:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(taken.status, StatusCode::CONFLICT);
    service.cancel(&catalog, id, None, &ctx).await.unwrap();
    let rebooked = service
        .book(&catalog, &book(LONG, "2027-03-02T15:30:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(rebooked.status, StatusCode::CREATED);
    assert!(
        verify(service.store())
            .await
            .unwrap()
            .differences
            .is_empty()
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn bad_input_is_a_clear_client_error_and_appends_nothing(pool: PgPool) {
    let (service, _) = service(pool.clone()).await;
    let catalog = catalog();
    let ctx = CommandContext::default();
    let cases: Vec<(BookRequest, StatusCode, &str)> = vec![
        (
            book(SHORT, "2027-05-03T15:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_horizon",
        ),
        (
            book(SHORT, "2027-03-02T15:05:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "off_grid",
        ),
        (
            book(RETIRED, "2027-03-02T15:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "service_retired",
        ),
        (
            BookRequest {
                staff_id: Some(BEA),
                ..book(SHORT, "2027-03-02T15:00:00Z")
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "staff_not_eligible",
        ),
        (
            book(SHORT, "2027-02-27T15:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "start_in_past",
        ),
        (
            book(Uuid::from_u128(9), "2027-03-02T15:00:00Z"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (request, status, code) in cases {
        let err = service.book(&catalog, &request, &ctx).await.unwrap_err();
        assert_eq!((err.status, err.code), (status, code), "{request:?}");
    }
    let err = service
        .cancel(&catalog, Uuid::from_u128(77), None, &ctx)
        .await
        .unwrap_err();
    assert_eq!((err.status, err.code), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(all_events(&pool).await, 0);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn any_staff_goes_to_the_least_booked_qualified_member(pool: PgPool) {
    let (service, _) = service(pool.clone()).await;
    let mut catalog = catalog();
    catalog.staff[1].service_ids.push(SHORT);
    let ctx = CommandContext::default();
    let first = service
        .book(&catalog, &book(SHORT, "2027-03-02T15:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(first.body["staff_id"], ANN.to_string());
    let second = service
        .book(&catalog, &book(SHORT, "2027-03-02T18:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(
        second.body["staff_id"],
        BEA.to_string(),
        "Ann already has one that day"
    );
}

/// Placing a booking reads only the allocations near its start (not every future appointment of the
/// business); the window must still reach an appointment the day before whose day-long buffer runs into
/// the requested time.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_day_long_buffer_from_the_day_before_still_blocks_and_far_bookings_do_not(pool: PgPool) {
    const RETREAT: Uuid = Uuid::from_u128(0x55);
    let (service, _) = service(pool.clone()).await;
    let mut catalog = catalog();
    catalog.services.push(CatalogService {
        id: RETREAT,
        name: "Retreat".into(),
        rules: ServiceRules {
            buffer_after_minutes: 24 * 60,
            ..rules(60)
        },
        retired: false,
    });
    catalog.staff[0].service_ids.push(RETREAT);
    let ctx = CommandContext::default();
    // 09:00–10:00 in New York on the 10th; Ann is kept until 10:00 on the 11th.
    let retreat = service
        .book(&catalog, &book(RETREAT, "2027-03-10T14:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(retreat.status, StatusCode::CREATED, "{}", retreat.body);
    let blocked = service
        .book(&catalog, &book(SHORT, "2027-03-11T14:30:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(blocked.status, StatusCode::CONFLICT, "{}", blocked.body);
    assert_eq!(
        blocked.body["alternatives"][0]["start"], "2027-03-11T10:00:00-05:00",
        "the first free time is when the buffer ends"
    );
    let after_buffer = service
        .book(&catalog, &book(SHORT, "2027-03-11T15:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(after_buffer.status, StatusCode::CREATED);
    // Weeks away, the same wall-clock time is free.
    let far = service
        .book(&catalog, &book(SHORT, "2027-03-25T14:30:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(far.status, StatusCode::CREATED);
    assert_disjoint(booked_intervals_from_events(&pool).await);
}

/// A command reads and appends through one connection of its own and gives it back before anything else
/// takes one (`BookingService::place`). With a pool of one connection, a command that held its connection
/// while taking another would wait for itself until the acquire timed out.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn every_booking_command_completes_on_a_pool_of_one_connection(pool: PgPool) {
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let (service, clock) = service(one).await;
    let catalog = catalog();
    let ctx = CommandContext::default();

    // A hold, booked by its holder.
    let hold = hold_request(SHORT, "2027-03-02T14:00:00Z", Some(60));
    let held = service
        .hold(&catalog, &hold, &keyed("hold-1"))
        .await
        .unwrap();
    assert_eq!(held.status, StatusCode::CREATED);
    let hold_id: Uuid = serde_json::from_value(held.body["hold_id"].clone()).unwrap();
    let mut from_hold = book(SHORT, "2027-03-02T14:00:00Z");
    from_hold.hold_id = Some(hold_id);
    let booked = service.book(&catalog, &from_hold, &ctx).await.unwrap();
    assert_eq!(booked.status, StatusCode::CREATED);

    // A keyed booking with a client, and its key replayed.
    let mut with_client = book(LONG, "2027-03-02T16:00:00Z");
    with_client.client = Some(ClientInput {
        name: "Cleo".into(),
        phone: Some("+15550001234".into()),
        email: None,
    });
    let first = service
        .book(&catalog, &with_client, &keyed("book-1"))
        .await
        .unwrap();
    assert_eq!(first.status, StatusCode::CREATED);
    let again = service
        .book(&catalog, &with_client, &keyed("book-1"))
        .await
        .unwrap();
    assert_eq!(again.body, first.body);

    // A taken slot: rejected with alternatives read after the placement gave its connection back.
    let taken = service
        .book(&catalog, &book(SHORT, "2027-03-02T16:30:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(!taken.body["alternatives"].as_array().unwrap().is_empty());

    // Rescheduled onto an overlapping time of itself, then cancelled.
    let id: Uuid = serde_json::from_value(first.body["id"].clone()).unwrap();
    let moved = service
        .reschedule(
            &catalog,
            id,
            &RescheduleRequest {
                start: at("2027-03-02T16:30:00Z"),
                staff_id: None,
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(moved.status, StatusCode::OK);
    let cancelled = service.cancel(&catalog, id, None, &ctx).await.unwrap();
    assert_eq!(cancelled.status, StatusCode::OK);

    // An expired hold in the way is released inside the booking (its stream read through the same connection).
    let hold = hold_request(SHORT, "2027-03-03T15:00:00Z", Some(60));
    service.hold(&catalog, &hold, &ctx).await.unwrap();
    clock.advance(TimeDelta::seconds(61));
    let over_expired = service
        .book(&catalog, &book(SHORT, "2027-03-03T15:00:00Z"), &ctx)
        .await
        .unwrap();
    assert_eq!(over_expired.status, StatusCode::CREATED);
    assert_eq!(count(&pool, "HoldExpired").await, 1);
    assert!(
        verify(service.store())
            .await
            .unwrap()
            .differences
            .is_empty()
    );
    // The test database is dropped after the test: this pool's connection must not keep it open.
    service.store().pool().close().await;
}
