//! Booking read models: `availability` (busy intervals per staff member, what the availability endpoint
//! feeds the slot engine) and `appointments` (appointments and clients, for listing and finding a caller).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use events::StreamKind;
use events::booking::{BookingEvent, Placement};
use events::client::{ClientEvent, normalize_phone};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use store::StoredEvent;
use uuid::Uuid;

use crate::Projector;

/// The booking id of a `booking-<uuid>` stream.
fn booking_id(event: &StoredEvent) -> Option<Uuid> {
    event.stream_id.strip_prefix("booking-")?.parse().ok()
}

fn decode_booking(event: &StoredEvent) -> Option<(Uuid, BookingEvent)> {
    let id = booking_id(event)?;
    let decoded = events::aggregate::decode_tagged(&event.event_type, &event.data).ok()?;
    Some((id, decoded))
}

fn minutes(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Busy intervals per staff member (or per business without staff).
pub struct Availability;

impl Projector for Availability {
    fn name(&self) -> &'static str {
        "availability"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["availability_busy"]
    }

    fn kinds(&self) -> Option<&'static [StreamKind]> {
        Some(&[StreamKind::Booking])
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        write_busy(conn, events).boxed()
    }
}

/// One booking's row in `availability_busy`.
struct BusyRow {
    tenant: Uuid,
    kind: &'static str,
    placement: Placement,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every event sets a booking's row whole or removes it, so a batch is its last word per booking: one
/// delete and one multi-row upsert, whatever the batch holds.
async fn write_busy(conn: &mut PgConnection, events: &[&StoredEvent]) -> Result<(), sqlx::Error> {
    let mut last: HashMap<Uuid, Option<BusyRow>> = HashMap::new();
    for &event in events {
        let Some((id, booking)) = decode_booking(event) else {
            continue;
        };
        let tenant = booking.business_id();
        let row = |kind, placement: &Placement, expires_at| BusyRow {
            tenant,
            kind,
            placement: *placement,
            expires_at,
        };
        match &booking {
            BookingEvent::SlotHeld {
                placement,
                expires_at,
                ..
            } => {
                last.insert(id, Some(row("hold", placement, Some(*expires_at))));
            }
            BookingEvent::AppointmentBooked { placement, .. } => {
                last.insert(id, Some(row("appointment", placement, None)));
            }
            BookingEvent::AppointmentRescheduled { to, .. } => {
                last.insert(id, Some(row("appointment", to, None)));
            }
            BookingEvent::HoldExpired { .. }
            | BookingEvent::AppointmentCancelled { .. }
            | BookingEvent::AppointmentCompleted { .. }
            | BookingEvent::AppointmentNoShow { .. } => {
                last.insert(id, None);
            }
            BookingEvent::SlotRequested { .. } | BookingEvent::BookingRejected { .. } => {}
        }
    }
    let gone: Vec<Uuid> = last
        .iter()
        .filter_map(|(id, row)| row.is_none().then_some(*id))
        .collect();
    if !gone.is_empty() {
        sqlx::query("delete from availability_busy where booking_id = any($1)")
            .bind(&gone)
            .execute(&mut *conn)
            .await?;
    }
    let rows: Vec<(Uuid, BusyRow)> = last
        .into_iter()
        .filter_map(|(id, row)| Some((id, row?)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&(Uuid, BusyRow)) -> i32| rows.iter().map(f).collect::<Vec<i32>>();
    sqlx::query(
        "insert into availability_busy (tenant_id, booking_id, staff_id, kind, starts_at, ends_at, \
           buffer_before_minutes, buffer_after_minutes, expires_at) \
         select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], \
           $6::timestamptz[], $7::int[], $8::int[], $9::timestamptz[]) \
         on conflict (booking_id) do update set staff_id = excluded.staff_id, kind = excluded.kind, \
           starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
           buffer_before_minutes = excluded.buffer_before_minutes, \
           buffer_after_minutes = excluded.buffer_after_minutes, expires_at = excluded.expires_at",
    )
    .bind(rows.iter().map(|(_, r)| r.tenant).collect::<Vec<_>>())
    .bind(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, r)| r.placement.staff_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, r)| r.kind).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, r)| r.placement.start).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, r)| r.placement.end).collect::<Vec<_>>())
    .bind(column(|(_, r)| minutes(r.placement.buffer_before_minutes)))
    .bind(column(|(_, r)| minutes(r.placement.buffer_after_minutes)))
    .bind(rows.iter().map(|(_, r)| r.expires_at).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map(drop)
}

/// Appointments (with their status) and clients.
pub struct Appointments;

impl Projector for Appointments {
    fn name(&self) -> &'static str {
        "appointments"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["appointments", "clients"]
    }

    fn kinds(&self) -> Option<&'static [StreamKind]> {
        Some(&[StreamKind::Booking, StreamKind::Client])
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        write_appointments(conn, events).boxed()
    }
}

/// An `appointments` row as `AppointmentBooked` writes it.
struct BookedRow {
    tenant: Uuid,
    booking: Uuid,
    service: Uuid,
    client: Option<Uuid>,
    placement: Placement,
    notes: Option<String>,
    at: DateTime<Utc>,
}

/// A `clients` row as a client event writes it (whole).
struct ClientRow {
    tenant: Uuid,
    client: Uuid,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    at: DateTime<Utc>,
}

/// Upserts waiting to be written: bookings and client details, each written whole, so consecutive ones
/// go in one multi-row statement. An event that changes an appointment row in place (reschedule, status)
/// first writes the waiting bookings, and a second upsert of the same row first writes the first, so the
/// statements run in the events' order wherever they touch the same row.
#[derive(Default)]
struct Upserts {
    booked: Vec<BookedRow>,
    clients: Vec<ClientRow>,
}

async fn write_appointments(
    conn: &mut PgConnection,
    events: &[&StoredEvent],
) -> Result<(), sqlx::Error> {
    let mut waiting = Upserts::default();
    for &event in events {
        if event.stream_id.starts_with("client-") {
            if let Some(row) = client_row(event) {
                if waiting.clients.iter().any(|c| c.client == row.client) {
                    upsert_clients(conn, &mut waiting.clients).await?;
                }
                waiting.clients.push(row);
            }
            continue;
        }
        let Some((id, booking)) = decode_booking(event) else {
            continue;
        };
        let at = event.recorded_at;
        if let BookingEvent::AppointmentBooked {
            business_id,
            service_id,
            placement,
            client_id,
            notes,
            ..
        } = booking
        {
            if waiting.booked.iter().any(|b| b.booking == id) {
                upsert_booked(conn, &mut waiting.booked).await?;
            }
            waiting.booked.push(BookedRow {
                tenant: business_id,
                booking: id,
                service: service_id,
                client: client_id,
                placement,
                notes,
                at,
            });
            continue;
        }
        let change = match &booking {
            BookingEvent::AppointmentRescheduled { to, .. } => Change::Moved(to),
            BookingEvent::AppointmentCancelled { .. } => Change::Status("cancelled"),
            BookingEvent::AppointmentCompleted { .. } => Change::Status("completed"),
            BookingEvent::AppointmentNoShow { .. } => Change::Status("no_show"),
            _ => continue,
        };
        upsert_booked(conn, &mut waiting.booked).await?;
        change.write(conn, id, at).await?;
    }
    upsert_booked(conn, &mut waiting.booked).await?;
    upsert_clients(conn, &mut waiting.clients).await
}

/// How a later event changes an appointment's row in place.
enum Change<'a> {
    Moved(&'a Placement),
    Status(&'static str),
}

impl Change<'_> {
    async fn write(
        &self,
        conn: &mut PgConnection,
        booking: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let query = match self {
            Self::Moved(to) => sqlx::query(
                "update appointments set staff_id = $2, starts_at = $3, ends_at = $4, \
                   updated_at = $5 where booking_id = $1",
            )
            .bind(booking)
            .bind(to.staff_id)
            .bind(to.start)
            .bind(to.end)
            .bind(at),
            Self::Status(status) => sqlx::query(
                "update appointments set status = $2, updated_at = $3 where booking_id = $1",
            )
            .bind(booking)
            .bind(*status)
            .bind(at),
        };
        query.execute(conn).await.map(drop)
    }
}

/// Writes (and empties) the waiting bookings with one statement.
async fn upsert_booked(
    conn: &mut PgConnection,
    rows: &mut Vec<BookedRow>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into appointments (tenant_id, booking_id, service_id, staff_id, client_id, \
           status, starts_at, ends_at, notes, booked_at, updated_at) \
         select t, b, s, st, c, 'booked', f, e, n, a, a from unnest($1::uuid[], $2::uuid[], \
           $3::uuid[], $4::uuid[], $5::uuid[], $6::timestamptz[], $7::timestamptz[], $8::text[], \
           $9::timestamptz[]) as r(t, b, s, st, c, f, e, n, a) \
         on conflict (booking_id) do update set status = 'booked', \
           staff_id = excluded.staff_id, starts_at = excluded.starts_at, \
           ends_at = excluded.ends_at, client_id = excluded.client_id, \
           notes = excluded.notes, updated_at = excluded.updated_at",
    )
    .bind(rows.iter().map(|r| r.tenant).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.booking).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.service).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.placement.staff_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.client).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.placement.start).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.placement.end).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.notes.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    rows.clear();
    Ok(())
}

/// The client row a client event sets; `None` for a malformed stream id or event.
fn client_row(event: &StoredEvent) -> Option<ClientRow> {
    let client = event.stream_id.strip_prefix("client-")?.parse().ok()?;
    let (ClientEvent::ClientRegistered {
        business_id,
        details,
        ..
    }
    | ClientEvent::ClientDetailsUpdated {
        business_id,
        details,
        ..
    }) = events::aggregate::decode_tagged::<ClientEvent>(&event.event_type, &event.data).ok()?;
    Some(ClientRow {
        tenant: business_id,
        client,
        phone: details.phone.as_deref().map(normalize_phone),
        name: details.name,
        email: details.email,
        at: event.recorded_at,
    })
}

/// Writes (and empties) the waiting client rows with one statement.
async fn upsert_clients(
    conn: &mut PgConnection,
    rows: &mut Vec<ClientRow>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into clients (tenant_id, client_id, name, phone, email, updated_at) \
         select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], \
           $6::timestamptz[]) \
         on conflict (client_id) do update set name = excluded.name, phone = excluded.phone, \
           email = excluded.email, updated_at = excluded.updated_at",
    )
    .bind(rows.iter().map(|r| r.tenant).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.client).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.phone.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.email.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    rows.clear();
    Ok(())
}
