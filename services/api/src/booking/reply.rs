//! The JSON booking answers with: instants in the business's own offset (what a caller is told), ids,
//! and `{"code": "slot_unavailable", "alternatives": […]}` when the slot is taken.

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use events::booking::{Alternative, Placement};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{BusinessCatalog, Reply};

/// RFC 3339 with the business's UTC offset, e.g. `2027-03-14T09:00:00-04:00`.
pub fn local_rfc3339(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `{"start","end","staff_ids"}` of one free slot, in the business's offset.
pub fn slot_json(tz: Tz, slot: &domain::scheduling::Slot) -> Value {
    json!({
        "start": local_rfc3339(tz, slot.start),
        "end": local_rfc3339(tz, slot.end),
        "staff_ids": slot.staff_ids,
    })
}

/// `{"start","end","staff_ids"}` for each alternative.
pub fn alternatives_json(tz: Tz, alternatives: &[Alternative]) -> Value {
    alternatives
        .iter()
        .map(|slot| {
            json!({
                "start": local_rfc3339(tz, slot.start),
                "end": local_rfc3339(tz, slot.end),
                "staff_ids": slot.staff_ids,
            })
        })
        .collect()
}

/// What an appointment looks like to a client.
pub struct AppointmentView<'a> {
    pub id: Uuid,
    pub status: &'a str,
    pub service_id: Uuid,
    pub placement: Placement,
    pub client_id: Option<Uuid>,
    pub notes: Option<&'a str>,
}

/// The appointment JSON.
pub fn appointment_json(catalog: &BusinessCatalog, view: &AppointmentView<'_>) -> Value {
    let tz = catalog.timezone;
    let service = catalog
        .services
        .iter()
        .find(|s| s.id == view.service_id)
        .map(|s| s.name.as_str());
    json!({
        "id": view.id,
        "status": view.status,
        "business_id": catalog.business_id,
        "service_id": view.service_id,
        "service": service,
        "staff_id": view.placement.staff_id,
        "staff": catalog.staff_name(view.placement.staff_id),
        "start": local_rfc3339(tz, view.placement.start),
        "end": local_rfc3339(tz, view.placement.end),
        "client_id": view.client_id,
        "notes": view.notes,
    })
}

/// 201 with the appointment.
pub fn booked(catalog: &BusinessCatalog, view: &AppointmentView<'_>) -> Reply {
    Reply {
        status: StatusCode::CREATED,
        body: appointment_json(catalog, view),
    }
}

/// 201 with the hold.
pub fn held(
    catalog: &BusinessCatalog,
    hold_id: Uuid,
    service_id: Uuid,
    placement: &Placement,
    expires_at: DateTime<Utc>,
) -> Reply {
    let tz = catalog.timezone;
    Reply {
        status: StatusCode::CREATED,
        body: json!({
            "hold_id": hold_id,
            "expires_at": local_rfc3339(tz, expires_at),
            "service_id": service_id,
            "staff_id": placement.staff_id,
            "start": local_rfc3339(tz, placement.start),
            "end": local_rfc3339(tz, placement.end),
        }),
    }
}

/// 409 `slot_unavailable` with the nearest free slots.
pub fn unavailable(
    catalog: &BusinessCatalog,
    booking_id: Uuid,
    start: DateTime<Utc>,
    alternatives: &[Alternative],
) -> Reply {
    let tz = catalog.timezone;
    Reply {
        status: StatusCode::CONFLICT,
        body: json!({
            "code": "slot_unavailable",
            "message": format!("{} is not available", local_rfc3339(tz, start)),
            "request_id": booking_id,
            "alternatives": alternatives_json(tz, alternatives),
        }),
    }
}
