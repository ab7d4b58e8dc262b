//! Booking read models: `availability` (busy intervals per staff member, what the availability endpoint
//! feeds the slot engine) and `appointments` (appointments and clients, for listing and finding a caller).

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
        async move {
            let Some((id, booking)) = decode_booking(event) else {
                return Ok(());
            };
            let tenant = booking.business_id();
            match &booking {
                BookingEvent::SlotHeld {
                    placement,
                    expires_at,
                    ..
                } => upsert_busy(conn, tenant, id, "hold", placement, Some(*expires_at)).await,
                BookingEvent::AppointmentBooked { placement, .. } => {
                    upsert_busy(conn, tenant, id, "appointment", placement, None).await
                }
                BookingEvent::AppointmentRescheduled { to, .. } => {
                    upsert_busy(conn, tenant, id, "appointment", to, None).await
                }
                BookingEvent::HoldExpired { .. }
                | BookingEvent::AppointmentCancelled { .. }
                | BookingEvent::AppointmentCompleted { .. }
                | BookingEvent::AppointmentNoShow { .. } => {
                    sqlx::query("delete from availability_busy where booking_id = $1")
                        .bind(id)
                        .execute(conn)
                        .await
                        .map(drop)
                }
                BookingEvent::SlotRequested { .. } | BookingEvent::BookingRejected { .. } => Ok(()),
            }
        }
        .boxed()
    }
}

async fn upsert_busy(
    conn: &mut PgConnection,
    tenant: Uuid,
    booking_id: Uuid,
    kind: &str,
    placement: &Placement,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into availability_busy (tenant_id, booking_id, staff_id, kind, starts_at, ends_at, \
           buffer_before_minutes, buffer_after_minutes, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         on conflict (booking_id) do update set staff_id = excluded.staff_id, kind = excluded.kind, \
           starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
           buffer_before_minutes = excluded.buffer_before_minutes, \
           buffer_after_minutes = excluded.buffer_after_minutes, expires_at = excluded.expires_at",
    )
    .bind(tenant)
    .bind(booking_id)
    .bind(placement.staff_id)
    .bind(kind)
    .bind(placement.start)
    .bind(placement.end)
    .bind(minutes(placement.buffer_before_minutes))
    .bind(minutes(placement.buffer_after_minutes))
    .bind(expires_at)
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
