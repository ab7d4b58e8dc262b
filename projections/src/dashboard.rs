//! `dashboard`: per-business counters per local day (calls, answered, durations, tool calls, availability
//! checks, bookings, cancellations, voice minutes, revenue booked) and calls per local hour.
//!
//! The projector is self-contained: it keeps each business's zone and each service's price in tables of
//! its own, fed by the business and service streams, so it never reads another read model (a rebuild or a
//! lagging catalog projector cannot change what it computes). Attribution rules, all on the business's
//! zone as known when the event is applied:
//!
//! - **A call** counts on the local day and hour it started: `CallStarted.started_at`, or, when the first
//!   message Vapi sent had no start time, the moment we first saw the call (within seconds of the start
//!   for a real call). Everything later about that call — answered, duration, tool calls, voice minutes —
//!   counts on that same day, even when it arrives after midnight.
//! - **Answered**: the call reached `in-progress` (or `forwarding`), or the agent did something in it (a
//!   tool invocation or a transcript line). A call that rang and ended with none of these was not answered.
//! - **Duration**: the end-of-call report's duration; the average is over calls that have one.
//! - **Voice minutes**: the call's `UsageRecorded` `voice_seconds`, rounded up to the started minute per
//!   call (95 s is 2 minutes).
//! - **Bookings** count on the local day of `AppointmentBooked.occurred_at`; **cancellations** on the day
//!   of `AppointmentCancelled.occurred_at`.
//! - **Revenue booked** is the booked service's price (minor units, as the service was priced when the
//!   booking was applied) added on the booking's day. A cancellation takes it off that *same* booking day
//!   again, so a day's revenue is what the bookings made that day are still worth and never goes below
//!   zero; a reschedule changes nothing.

mod calls;
mod rules;

use chrono::{DateTime, NaiveDate, Utc};
use events::booking::BookingEvent;
use events::catalog::{BusinessEvent, ServiceEvent};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::{PgConnection, Row};
use store::StoredEvent;
use uuid::Uuid;

use crate::Projector;
pub use rules::{answered_status, billed_minutes, is_availability_check, local_day_hour};

/// Builds the `dashboard_*` tables.
pub struct Dashboard;

impl Projector for Dashboard {
    fn name(&self) -> &'static str {
        "dashboard"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "dashboard_businesses",
            "dashboard_services",
            "dashboard_calls",
            "dashboard_tool_calls",
            "dashboard_bookings",
            "dashboard_days",
            "dashboard_hours",
        ]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            match events::stream::kind_of(&event.stream_id) {
                events::StreamKind::Business => match decode(event) {
                    Some(e) => business(conn, &e).await,
                    None => Ok(()),
                },
                events::StreamKind::Service => match decode(event) {
                    Some(e) => service(conn, &e).await,
                    None => Ok(()),
                },
                events::StreamKind::Call => match decode(event) {
                    Some(e) => calls::call(conn, &e).await,
                    None => Ok(()),
                },
                events::StreamKind::Usage => match decode(event) {
                    Some(e) => calls::usage(conn, &e).await,
                    None => Ok(()),
                },
                events::StreamKind::Booking => {
                    let id = event
                        .stream_id
                        .strip_prefix("booking-")
                        .and_then(|id| id.parse().ok());
                    match (id, decode(event)) {
                        (Some(id), Some(e)) => booking(conn, id, &e).await,
                        _ => Ok(()),
                    }
                }
                _ => Ok(()),
            }
        }
        .boxed()
    }
}

/// Decodes an event of a kind the dashboard reads; an undecodable one is logged and skipped (it cannot
/// change what the dashboard counts, and stopping the projector over it would stall every tenant).
fn decode<E: serde::de::DeserializeOwned>(event: &StoredEvent) -> Option<E> {
    events::aggregate::decode_tagged(&event.event_type, &event.data)
        .inspect_err(|e| {
            tracing::warn!(event_id = %event.event_id, error = %e, "undecodable event skipped by dashboard");
        })
        .ok()
}

/// What one event adds to one day's counters.
#[derive(Debug, Default, Clone, Copy)]
struct Delta {
    calls: i64,
    answered: i64,
    timed_calls: i64,
    duration_ms: i64,
    tool_calls: i64,
    availability_checks: i64,
    bookings: i64,
    cancellations: i64,
    voice_minutes: i64,
    revenue_minor: i64,
}

async fn bump(
    conn: &mut PgConnection,
    tenant: Uuid,
    day: NaiveDate,
    d: Delta,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into dashboard_days as d (tenant_id, day, calls, answered, timed_calls, duration_ms, \
           tool_calls, availability_checks, bookings, cancellations, voice_minutes, revenue_minor) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         on conflict (tenant_id, day) do update set calls = d.calls + excluded.calls, \
           answered = d.answered + excluded.answered, timed_calls = d.timed_calls + excluded.timed_calls, \
           duration_ms = d.duration_ms + excluded.duration_ms, tool_calls = d.tool_calls + excluded.tool_calls, \
           availability_checks = d.availability_checks + excluded.availability_checks, \
           bookings = d.bookings + excluded.bookings, cancellations = d.cancellations + excluded.cancellations, \
           voice_minutes = d.voice_minutes + excluded.voice_minutes, \
           revenue_minor = d.revenue_minor + excluded.revenue_minor",
    )
    .bind(tenant)
    .bind(day)
    .bind(d.calls)
    .bind(d.answered)
    .bind(d.timed_calls)
    .bind(d.duration_ms)
    .bind(d.tool_calls)
    .bind(d.availability_checks)
    .bind(d.bookings)
    .bind(d.cancellations)
    .bind(d.voice_minutes)
    .bind(d.revenue_minor)
    .execute(conn)
    .await
    .map(drop)
}

/// The business's zone as this projector knows it (UTC before it has seen the business).
async fn timezone(conn: &mut PgConnection, tenant: Uuid) -> Result<String, sqlx::Error> {
    let tz: Option<String> =
        sqlx::query_scalar("select timezone from dashboard_businesses where tenant_id = $1")
            .bind(tenant)
            .fetch_optional(conn)
            .await?;
    Ok(tz.unwrap_or_else(|| "UTC".to_owned()))
}

async fn local(
    conn: &mut PgConnection,
    tenant: Uuid,
    at: DateTime<Utc>,
) -> Result<(NaiveDate, i16), sqlx::Error> {
    Ok(local_day_hour(&timezone(conn, tenant).await?, at))
}

async fn business(conn: &mut PgConnection, event: &BusinessEvent) -> Result<(), sqlx::Error> {
    let (BusinessEvent::BusinessRegistered {
        business_id,
        timezone,
        currency,
        ..
    }
    | BusinessEvent::BusinessProfileUpdated {
        business_id,
        timezone,
        currency,
        ..
    }) = event
    else {
        return Ok(());
    };
    sqlx::query(
        "insert into dashboard_businesses (tenant_id, timezone, currency) values ($1, $2, $3) \
         on conflict (tenant_id) do update set timezone = excluded.timezone, currency = excluded.currency",
    )
    .bind(business_id)
    .bind(timezone)
    .bind(currency)
    .execute(conn)
    .await
    .map(drop)
}

async fn service(conn: &mut PgConnection, event: &ServiceEvent) -> Result<(), sqlx::Error> {
    let (ServiceEvent::ServiceAdded {
        service_id,
        business_id,
        settings,
        ..
    }
    | ServiceEvent::ServiceUpdated {
        service_id,
        business_id,
        settings,
        ..
    }) = event
    else {
        return Ok(());
    };
    sqlx::query(
        "insert into dashboard_services (tenant_id, service_id, price_minor) values ($1, $2, $3) \
         on conflict (service_id) do update set price_minor = excluded.price_minor",
    )
    .bind(business_id)
    .bind(service_id)
    .bind(settings.price_minor)
    .execute(conn)
    .await
    .map(drop)
}

async fn booking(
    conn: &mut PgConnection,
    booking_id: Uuid,
    event: &BookingEvent,
) -> Result<(), sqlx::Error> {
    match event {
        BookingEvent::AppointmentBooked {
            business_id,
            service_id,
            occurred_at,
            ..
        } => {
            let price: Option<i64> = sqlx::query_scalar(
                "select price_minor from dashboard_services where service_id = $1",
            )
            .bind(service_id)
            .fetch_optional(&mut *conn)
            .await?;
            let revenue = price.unwrap_or(0);
            let (day, _) = local(conn, *business_id, *occurred_at).await?;
            let inserted = sqlx::query(
                "insert into dashboard_bookings (tenant_id, booking_id, day, revenue_minor) \
                 values ($1, $2, $3, $4) on conflict (booking_id) do nothing",
            )
            .bind(business_id)
            .bind(booking_id)
            .bind(day)
            .bind(revenue)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(());
            }
            let delta = Delta {
                bookings: 1,
                revenue_minor: revenue,
                ..Delta::default()
            };
            bump(conn, *business_id, day, delta).await
        }
        BookingEvent::AppointmentCancelled {
            business_id,
            occurred_at,
            ..
        } => {
            let booked = sqlx::query(
                "select day, revenue_minor, cancelled from dashboard_bookings where booking_id = $1",
            )
            .bind(booking_id)
            .fetch_optional(&mut *conn)
            .await?;
            if booked
                .as_ref()
                .is_some_and(|b| b.get::<bool, _>("cancelled"))
            {
                return Ok(());
            }
            let (day, _) = local(conn, *business_id, *occurred_at).await?;
            let cancelled = Delta {
                cancellations: 1,
                ..Delta::default()
            };
            bump(conn, *business_id, day, cancelled).await?;
            if let Some(b) = booked {
                sqlx::query("update dashboard_bookings set cancelled = true where booking_id = $1")
                    .bind(booking_id)
                    .execute(&mut *conn)
                    .await?;
                let refund = Delta {
                    revenue_minor: -b.get::<i64, _>("revenue_minor"),
                    ..Delta::default()
                };
                bump(conn, *business_id, b.get("day"), refund).await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
