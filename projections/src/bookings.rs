//! Booking read models: `availability` (busy intervals per staff member, what the availability endpoint
//! feeds the slot engine) and `appointments` (appointments and clients, for listing and finding a caller).

use std::collections::HashMap;

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

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        write_busy(conn, std::iter::once(event)).boxed()
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        write_busy(conn, events.iter().copied()).boxed()
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
async fn write_busy(
    conn: &mut PgConnection,
    events: impl Iterator<Item = &StoredEvent> + Send,
) -> Result<(), sqlx::Error> {
    let mut last: HashMap<Uuid, Option<BusyRow>> = HashMap::new();
    for event in events {
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

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            if event.stream_id.starts_with("client-") {
                return apply_client(conn, event).await;
            }
            let Some((id, booking)) = decode_booking(event) else {
                return Ok(());
            };
            let at = event.recorded_at;
            match &booking {
                BookingEvent::AppointmentBooked {
                    business_id,
                    service_id,
                    placement,
                    client_id,
                    notes,
                    ..
                } => sqlx::query(
                    "insert into appointments (tenant_id, booking_id, service_id, staff_id, client_id, \
                       status, starts_at, ends_at, notes, booked_at, updated_at) \
                     values ($1, $2, $3, $4, $5, 'booked', $6, $7, $8, $9, $9) \
                     on conflict (booking_id) do update set status = 'booked', \
                       staff_id = excluded.staff_id, starts_at = excluded.starts_at, \
                       ends_at = excluded.ends_at, client_id = excluded.client_id, \
                       notes = excluded.notes, updated_at = excluded.updated_at",
                )
                .bind(business_id)
                .bind(id)
                .bind(service_id)
                .bind(placement.staff_id)
                .bind(client_id)
                .bind(placement.start)
                .bind(placement.end)
                .bind(notes)
                .bind(at)
                .execute(conn)
                .await
                .map(drop),
                BookingEvent::AppointmentRescheduled { to, .. } => sqlx::query(
                    "update appointments set staff_id = $2, starts_at = $3, ends_at = $4, \
                       updated_at = $5 where booking_id = $1",
                )
                .bind(id)
                .bind(to.staff_id)
                .bind(to.start)
                .bind(to.end)
                .bind(at)
                .execute(conn)
                .await
                .map(drop),
                BookingEvent::AppointmentCancelled { .. } => set_status(conn, id, "cancelled", at).await,
                BookingEvent::AppointmentCompleted { .. } => set_status(conn, id, "completed", at).await,
                BookingEvent::AppointmentNoShow { .. } => set_status(conn, id, "no_show", at).await,
                _ => Ok(()),
            }
        }
        .boxed()
    }
}

async fn set_status(
    conn: &mut PgConnection,
    booking_id: Uuid,
    status: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update appointments set status = $2, updated_at = $3 where booking_id = $1")
        .bind(booking_id)
        .bind(status)
        .bind(at)
        .execute(conn)
        .await
        .map(drop)
}

async fn apply_client(conn: &mut PgConnection, event: &StoredEvent) -> Result<(), sqlx::Error> {
    let Some(client_id) = event
        .stream_id
        .strip_prefix("client-")
        .and_then(|id| id.parse::<Uuid>().ok())
    else {
        return Ok(());
    };
    let Ok(client) =
        events::aggregate::decode_tagged::<ClientEvent>(&event.event_type, &event.data)
    else {
        return Ok(());
    };
    let (ClientEvent::ClientRegistered {
        business_id,
        details,
        ..
    }
    | ClientEvent::ClientDetailsUpdated {
        business_id,
        details,
        ..
    }) = &client;
    sqlx::query(
        "insert into clients (tenant_id, client_id, name, phone, email, updated_at) \
         values ($1, $2, $3, $4, $5, $6) \
         on conflict (client_id) do update set name = excluded.name, phone = excluded.phone, \
           email = excluded.email, updated_at = excluded.updated_at",
    )
    .bind(business_id)
    .bind(client_id)
    .bind(&details.name)
    .bind(details.phone.as_deref().map(normalize_phone))
    .bind(&details.email)
    .bind(event.recorded_at)
    .execute(conn)
    .await
    .map(drop)
}
