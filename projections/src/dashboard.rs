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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use events::StreamKind;
use events::booking::BookingEvent;
use events::call::{CallEvent, UsageEvent};
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

    fn kinds(&self) -> Option<&'static [StreamKind]> {
        Some(&[
            StreamKind::Business,
            StreamKind::Service,
            StreamKind::Call,
            StreamKind::Usage,
            StreamKind::Booking,
        ])
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        apply_events(conn, events).boxed()
    }
}

/// An event of a kind the dashboard reads, decoded.
enum Item {
    Business(BusinessEvent),
    Service(ServiceEvent),
    Call(CallEvent),
    Usage(UsageEvent),
    Booking(Uuid, BookingEvent),
}

fn item(event: &StoredEvent) -> Option<Item> {
    match events::stream::kind_of(&event.stream_id) {
        StreamKind::Business => decode(event).map(Item::Business),
        StreamKind::Service => decode(event).map(Item::Service),
        StreamKind::Call => decode(event).map(Item::Call),
        StreamKind::Usage => decode(event).map(Item::Usage),
        StreamKind::Booking => {
            let id = event.stream_id.strip_prefix("booking-")?.parse().ok()?;
            decode(event).map(|e| Item::Booking(id, e))
        }
        _ => None,
    }
}

/// Applies events in order, then writes what they added: the batch's calls are read once and written
/// once (see `calls`), the day counters with one statement.
async fn apply_events(conn: &mut PgConnection, events: &[&StoredEvent]) -> Result<(), sqlx::Error> {
    let items: Vec<Item> = events.iter().filter_map(|e| item(e)).collect();
    let mut call_ids: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Call(e) => Some(calls::call_id_of_call(e)),
            Item::Usage(e) => calls::call_id_of_usage(e),
            _ => None,
        })
        .collect();
    call_ids.sort_unstable();
    call_ids.dedup();
    let mut pending = Pending {
        calls: calls::Calls::load(conn, &call_ids).await?,
        ..Pending::default()
    };
    pending.preload(conn, events, &items).await?;
    for item in &items {
        match item {
            Item::Business(e) => business(conn, &mut pending, e).await?,
            Item::Service(e) => service(conn, &mut pending, e).await?,
            Item::Call(e) => calls::call(conn, &mut pending, e).await?,
            Item::Usage(e) => calls::usage(conn, &mut pending, e).await?,
            Item::Booking(id, e) => booking(conn, &mut pending, *id, e).await?,
        }
    }
    pending.flush(conn).await
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

impl Delta {
    fn add(&mut self, d: Self) {
        self.calls += d.calls;
        self.answered += d.answered;
        self.timed_calls += d.timed_calls;
        self.duration_ms += d.duration_ms;
        self.tool_calls += d.tool_calls;
        self.availability_checks += d.availability_checks;
        self.bookings += d.bookings;
        self.cancellations += d.cancellations;
        self.voice_minutes += d.voice_minutes;
        self.revenue_minor += d.revenue_minor;
    }
}

/// What a batch adds to `dashboard_days`, written with one statement at its end (the counters are sums, and
/// nothing in the projector reads them back); the bookings it has yet to insert into `dashboard_bookings`
/// (one statement for a run of bookings, written before anything reads that table); the zones and
/// prices it has looked up or changed; and its calls.
#[derive(Debug, Default)]
struct Pending {
    days: HashMap<(Uuid, NaiveDate), Delta>,
    booked: Vec<Booked>,
    zones: HashMap<Uuid, String>,
    prices: HashMap<Uuid, i64>,
    calls: calls::Calls,
}

/// A `dashboard_bookings` row waiting to be inserted.
#[derive(Debug, Clone, Copy)]
struct Booked {
    tenant: Uuid,
    booking: Uuid,
    day: NaiveDate,
    revenue_minor: i64,
}

impl Pending {
    /// Reads, in one statement, the zone of every business the batch's events belong to and the price of
    /// every service they book (those the tables hold). Looking them up one by one cost a statement per
    /// business and per service in every batch: with many businesses, about one per booking.
    async fn preload(
        &mut self,
        conn: &mut PgConnection,
        events: &[&StoredEvent],
        items: &[Item],
    ) -> Result<(), sqlx::Error> {
        let mut tenants: Vec<Uuid> = events.iter().filter_map(|e| e.tenant_id).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let mut services: Vec<Uuid> = items
            .iter()
            .filter_map(|i| match i {
                Item::Booking(_, BookingEvent::AppointmentBooked { service_id, .. }) => {
                    Some(*service_id)
                }
                _ => None,
            })
            .collect();
        services.sort_unstable();
        services.dedup();
        if tenants.is_empty() && services.is_empty() {
            return Ok(());
        }
        let rows = sqlx::query(
            "select tenant_id as id, timezone, null::bigint as price_minor from dashboard_businesses \
               where tenant_id = any($1) \
             union all \
             select service_id, null, price_minor from dashboard_services where service_id = any($2)",
        )
        .bind(&tenants)
        .bind(&services)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            let id: Uuid = row.try_get("id")?;
            if let Some(zone) = row.try_get::<Option<String>, _>("timezone")? {
                self.zones.insert(id, zone);
            }
            if let Some(price) = row.try_get::<Option<i64>, _>("price_minor")? {
                self.prices.insert(id, price);
            }
        }
        Ok(())
    }

    fn bump(&mut self, tenant: Uuid, day: NaiveDate, d: Delta) {
        self.days.entry((tenant, day)).or_default().add(d);
    }

    /// The local day and hour of `at` for the business, in its zone as this projector knows it (UTC before
    /// it has seen the business).
    async fn local(
        &mut self,
        conn: &mut PgConnection,
        tenant: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(NaiveDate, i16), sqlx::Error> {
        let zone = match self.zones.entry(tenant) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(unknown) => {
                let tz: Option<String> = sqlx::query_scalar(
                    "select timezone from dashboard_businesses where tenant_id = $1",
                )
                .bind(tenant)
                .fetch_optional(&mut *conn)
                .await?;
                unknown.insert(tz.unwrap_or_else(|| "UTC".to_owned()))
            }
        };
        Ok(local_day_hour(zone, at))
    }

    /// The price of a service as this projector knows it (0 before it has seen the service).
    async fn price(&mut self, conn: &mut PgConnection, service: Uuid) -> Result<i64, sqlx::Error> {
        if let Some(price) = self.prices.get(&service) {
            return Ok(*price);
        }
        let price: Option<i64> =
            sqlx::query_scalar("select price_minor from dashboard_services where service_id = $1")
                .bind(service)
                .fetch_optional(&mut *conn)
                .await?;
        let price = price.unwrap_or(0);
        self.prices.insert(service, price);
        Ok(price)
    }

    /// Inserts the waiting bookings (one statement) and counts those that were new: a booking seen before
    /// (a replayed event) counts once. `on conflict do nothing` keeps the first of two rows for one booking
    /// in the same statement, as two statements would, and the first is the one counted.
    async fn insert_booked(&mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.booked.is_empty() {
            return Ok(());
        }
        let booked = std::mem::take(&mut self.booked);
        let mut inserted: HashSet<Uuid> = sqlx::query_scalar(
            "insert into dashboard_bookings (tenant_id, booking_id, day, revenue_minor) \
             select * from unnest($1::uuid[], $2::uuid[], $3::date[], $4::bigint[]) \
             on conflict (booking_id) do nothing returning booking_id",
        )
        .bind(booked.iter().map(|b| b.tenant).collect::<Vec<_>>())
        .bind(booked.iter().map(|b| b.booking).collect::<Vec<_>>())
        .bind(booked.iter().map(|b| b.day).collect::<Vec<_>>())
        .bind(booked.iter().map(|b| b.revenue_minor).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        for b in booked.iter().filter(|b| inserted.remove(&b.booking)) {
            let delta = Delta {
                bookings: 1,
                revenue_minor: b.revenue_minor,
                ..Delta::default()
            };
            self.bump(b.tenant, b.day, delta);
        }
        Ok(())
    }

    async fn flush(mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let calls = std::mem::take(&mut self.calls);
        calls.flush(conn, &mut self).await?;
        self.insert_booked(conn).await?;
        if self.days.is_empty() {
            return Ok(());
        }
        let n = self.days.len();
        let (mut tenant, mut day) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut columns: [Vec<i64>; 10] = Default::default();
        for ((t, d), delta) in self.days {
            tenant.push(t);
            day.push(d);
            let values = [
                delta.calls,
                delta.answered,
                delta.timed_calls,
                delta.duration_ms,
                delta.tool_calls,
                delta.availability_checks,
                delta.bookings,
                delta.cancellations,
                delta.voice_minutes,
                delta.revenue_minor,
            ];
            for (column, value) in columns.iter_mut().zip(values) {
                column.push(value);
            }
        }
        let mut query = sqlx::query(
            "insert into dashboard_days as d (tenant_id, day, calls, answered, timed_calls, duration_ms, \
               tool_calls, availability_checks, bookings, cancellations, voice_minutes, revenue_minor) \
             select * from unnest($1::uuid[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[], \
               $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[]) \
             on conflict (tenant_id, day) do update set calls = d.calls + excluded.calls, \
               answered = d.answered + excluded.answered, timed_calls = d.timed_calls + excluded.timed_calls, \
               duration_ms = d.duration_ms + excluded.duration_ms, tool_calls = d.tool_calls + excluded.tool_calls, \
               availability_checks = d.availability_checks + excluded.availability_checks, \
               bookings = d.bookings + excluded.bookings, cancellations = d.cancellations + excluded.cancellations, \
               voice_minutes = d.voice_minutes + excluded.voice_minutes, \
               revenue_minor = d.revenue_minor + excluded.revenue_minor",
        )
        .bind(tenant)
        .bind(day);
        for column in columns {
            query = query.bind(column);
        }
        query.execute(conn).await.map(drop)
    }
}

async fn business(
    conn: &mut PgConnection,
    pending: &mut Pending,
    event: &BusinessEvent,
) -> Result<(), sqlx::Error> {
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
    .await?;
    pending.zones.insert(*business_id, timezone.clone());
    Ok(())
}

async fn service(
    conn: &mut PgConnection,
    pending: &mut Pending,
    event: &ServiceEvent,
) -> Result<(), sqlx::Error> {
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
    .await?;
    pending.prices.insert(*service_id, settings.price_minor);
    Ok(())
}

async fn booking(
    conn: &mut PgConnection,
    pending: &mut Pending,
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
            let revenue_minor = pending.price(conn, *service_id).await?;
            let (day, _) = pending.local(conn, *business_id, *occurred_at).await?;
            pending.booked.push(Booked {
                tenant: *business_id,
                booking: booking_id,
                day,
                revenue_minor,
            });
            Ok(())
        }
        BookingEvent::AppointmentCancelled {
            business_id,
            occurred_at,
            ..
        } => {
            pending.insert_booked(conn).await?;
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
            let (day, _) = pending.local(conn, *business_id, *occurred_at).await?;
            let cancelled = Delta {
                cancellations: 1,
                ..Delta::default()
            };
            pending.bump(*business_id, day, cancelled);
            if let Some(b) = booked {
                sqlx::query("update dashboard_bookings set cancelled = true where booking_id = $1")
                    .bind(booking_id)
                    .execute(&mut *conn)
                    .await?;
                let refund = Delta {
                    revenue_minor: -b.get::<i64, _>("revenue_minor"),
                    ..Delta::default()
                };
                pending.bump(*business_id, b.get("day"), refund);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
