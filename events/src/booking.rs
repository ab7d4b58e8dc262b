//! Events of `booking-<id>` streams (DESIGN.md §6, §7): a request for a slot and what became of it.
//!
//! One stream is one request's life: `SlotRequested`, then `SlotHeld` (a hold with an expiry),
//! `AppointmentBooked` or `BookingRejected`; a held or booked slot may later see `HoldExpired`,
//! `AppointmentRescheduled`, `AppointmentCancelled`, `AppointmentCompleted` or `AppointmentNoShow`.
//! Every event says which resource it occupies and with which buffers, so the write-side allocation table
//! and the availability read model can both be re-derived from the events alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::stream::{StreamId, StreamKind};

/// The stream of one booking.
pub fn booking_stream(booking_id: Uuid) -> StreamId {
    StreamId::new(StreamKind::Booking, booking_id)
}

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Hold the slot for a while (the holder may book it before the hold expires).
    Hold,
    /// Book an appointment.
    Book,
    /// Move an existing appointment.
    Reschedule,
}

/// An interval a booking occupies on one resource (a staff member, or the business when it has no staff).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The staff member booked; `None` when the business itself is the resource.
    pub staff_id: Option<Uuid>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
}

/// A free slot offered instead of the one asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub staff_ids: Vec<Uuid>,
}

/// The events of a `booking-<id>` stream. Serialized as `{"type": …, "data": …}`; the variant name is the
/// stored `event_type` and never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum BookingEvent {
    /// Someone asked for a slot (recorded whatever the outcome, so conversion can be measured).
    SlotRequested {
        booking_id: Uuid,
        business_id: Uuid,
        service_id: Uuid,
        kind: RequestKind,
        /// The staff member asked for, if any.
        requested_staff_id: Option<Uuid>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        client_id: Option<Uuid>,
        occurred_at: DateTime<Utc>,
    },
    /// The slot is held until `expires_at`; it blocks everyone else until then.
    SlotHeld {
        business_id: Uuid,
        service_id: Uuid,
        placement: Placement,
        expires_at: DateTime<Utc>,
        occurred_at: DateTime<Utc>,
    },
    /// The appointment is confirmed.
    AppointmentBooked {
        business_id: Uuid,
        service_id: Uuid,
        placement: Placement,
        client_id: Option<Uuid>,
        notes: Option<String>,
        occurred_at: DateTime<Utc>,
    },
    /// The request could not be served because the slot is taken; `alternatives` were offered.
    BookingRejected {
        business_id: Uuid,
        kind: RequestKind,
        start: DateTime<Utc>,
        reason: String,
        alternatives: Vec<Alternative>,
        occurred_at: DateTime<Utc>,
    },
    /// A hold ran out without being booked; its slot is free again.
    HoldExpired {
        business_id: Uuid,
        expires_at: DateTime<Utc>,
        occurred_at: DateTime<Utc>,
    },
    /// The appointment moved; its old interval is free again.
    AppointmentRescheduled {
        business_id: Uuid,
        from: Placement,
        to: Placement,
        occurred_at: DateTime<Utc>,
    },
    /// The appointment was cancelled; its slot is free at once.
    AppointmentCancelled {
        business_id: Uuid,
        reason: Option<String>,
        occurred_at: DateTime<Utc>,
    },
    /// The client came.
    AppointmentCompleted {
        business_id: Uuid,
        occurred_at: DateTime<Utc>,
    },
    /// The client did not come.
    AppointmentNoShow {
        business_id: Uuid,
        occurred_at: DateTime<Utc>,
    },
}

impl BookingEvent {
    /// The business (tenant) the event belongs to.
    pub fn business_id(&self) -> Uuid {
        match self {
            Self::SlotRequested { business_id, .. }
            | Self::SlotHeld { business_id, .. }
            | Self::AppointmentBooked { business_id, .. }
            | Self::BookingRejected { business_id, .. }
            | Self::HoldExpired { business_id, .. }
            | Self::AppointmentRescheduled { business_id, .. }
            | Self::AppointmentCancelled { business_id, .. }
            | Self::AppointmentCompleted { business_id, .. }
            | Self::AppointmentNoShow { business_id, .. } => *business_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{decode_tagged, encode_tagged};

    #[test]
    fn a_booking_event_is_stored_under_its_variant_name_and_reads_back_the_same() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let event = BookingEvent::AppointmentBooked {
            business_id: Uuid::from_u128(1),
            service_id: Uuid::from_u128(2),
            placement: Placement {
                staff_id: Some(Uuid::from_u128(3)),
                start: at,
                end: at + chrono::TimeDelta::minutes(30),
                buffer_before_minutes: 5,
                buffer_after_minutes: 10,
            },
            client_id: None,
            notes: Some("window seat".into()),
            occurred_at: at,
        };
        let (event_type, data) = encode_tagged(&event).unwrap();
        assert_eq!(event_type, "AppointmentBooked");
        assert_eq!(data["placement"]["buffer_after_minutes"], 10);
        assert_eq!(
            decode_tagged::<BookingEvent>(&event_type, &data).unwrap(),
            event
        );
    }
}
