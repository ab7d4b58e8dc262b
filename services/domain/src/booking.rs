//! Booking decisions (DESIGN.md §7): the state of one `booking-<id>` stream, `evolve`, and `decide` for
//! every command on it. Pure: whether a slot is free is asked of the slot engine (and, at commit, of the
//! database guard) by the caller; here are the rules about what may happen to a booking, and in which order.

use chrono::{DateTime, Utc};
use events::Aggregate;
use events::booking::{Alternative, BookingEvent, Placement, RequestKind};
use uuid::Uuid;

/// Where a booking stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Status {
    /// No event yet: the stream does not exist.
    #[default]
    New,
    /// Requested and turned down (the slot was taken). Final.
    Rejected,
    /// Held until `expires_at`.
    Held,
    /// Confirmed.
    Booked,
    /// A hold that ran out. Final.
    Expired,
    Cancelled,
    Completed,
    NoShow,
}

/// The state of one booking stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Booking {
    pub status: Status,
    pub booking_id: Option<Uuid>,
    pub business_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    /// Where the booking sits while it is held or booked (and where it last sat afterwards).
    pub placement: Option<Placement>,
    pub expires_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
}

impl Booking {
    /// Whether the booking occupies its placement at `now` (a booked appointment, or a hold not yet expired).
    pub fn blocks_at(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            Status::Booked => true,
            Status::Held => self.expires_at.is_some_and(|at| at > now),
            _ => false,
        }
    }
}

impl Aggregate for Booking {
    type Event = BookingEvent;

    fn evolve(mut self, event: &BookingEvent) -> Self {
        match event {
            BookingEvent::SlotRequested {
                booking_id,
                business_id,
                service_id,
                client_id,
                kind,
                ..
            } => {
                // A rejected reschedule request on an appointment leaves the appointment as it was.
                if *kind != RequestKind::Reschedule || self.status == Status::New {
                    self.booking_id = Some(*booking_id);
                    self.business_id = Some(*business_id);
                    self.service_id = Some(*service_id);
                    self.client_id = *client_id;
                }
            }
            BookingEvent::SlotHeld {
                placement,
                expires_at,
                ..
            } => {
                self.status = Status::Held;
                self.placement = Some(*placement);
                self.expires_at = Some(*expires_at);
            }
            BookingEvent::AppointmentBooked {
                placement,
                client_id,
                notes,
                ..
            } => {
                self.status = Status::Booked;
                self.placement = Some(*placement);
                self.expires_at = None;
                self.client_id = client_id.or(self.client_id);
                self.notes.clone_from(notes);
            }
            BookingEvent::BookingRejected { .. } => {
                if self.status == Status::New {
                    self.status = Status::Rejected;
                }
            }
            BookingEvent::HoldExpired { .. } => self.status = Status::Expired,
            BookingEvent::AppointmentRescheduled { to, .. } => self.placement = Some(*to),
            BookingEvent::AppointmentCancelled { .. } => self.status = Status::Cancelled,
            BookingEvent::AppointmentCompleted { .. } => self.status = Status::Completed,
            BookingEvent::AppointmentNoShow { .. } => self.status = Status::NoShow,
        }
        self
    }
}

/// A request for a slot that the engine found free, with the resource chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRequest {
    pub booking_id: Uuid,
    pub business_id: Uuid,
    pub service_id: Uuid,
    pub requested_staff_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub placement: Placement,
}

/// A command on one booking stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingCommand {
    /// Hold a free slot until `expires_at`.
    Hold {
        request: SlotRequest,
        expires_at: DateTime<Utc>,
    },
    /// Book a free slot.
    Book {
        request: SlotRequest,
        notes: Option<String>,
    },
    /// Turn the holder's live hold into an appointment (the slot is the one held).
    BookHeld {
        client_id: Option<Uuid>,
        notes: Option<String>,
    },
    /// Record a request whose slot was taken, with the alternatives offered.
    Reject {
        request: SlotRequest,
        kind: RequestKind,
        alternatives: Vec<Alternative>,
    },
    /// Release a hold whose time ran out.
    ExpireHold,
    /// Move the appointment to a free slot (its own old interval does not count as busy).
    Reschedule {
        to: Placement,
    },
    Cancel {
        reason: Option<String>,
    },
    Complete,
    MarkNoShow,
}

/// Why a command was refused. Every variant is a client error; "the slot is taken" is not here — that is
/// a [`BookingCommand::Reject`], recorded as an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    #[error("this booking already exists")]
    AlreadyExists,
    #[error("no such appointment")]
    NotFound,
    #[error("the hold has expired")]
    HoldExpired,
    #[error("the hold has not expired yet")]
    HoldStillLive,
    #[error("this booking is not a live hold")]
    NotAHold,
    #[error("the appointment is {0:?} and can no longer change")]
    NotActive(Status),
    #[error("an appointment cannot be marked before it starts")]
    NotStartedYet,
}

fn requested(request: &SlotRequest, kind: RequestKind, now: DateTime<Utc>) -> BookingEvent {
    BookingEvent::SlotRequested {
        booking_id: request.booking_id,
        business_id: request.business_id,
        service_id: request.service_id,
        kind,
        requested_staff_id: request.requested_staff_id,
        start: request.placement.start,
        end: request.placement.end,
        client_id: request.client_id,
        occurred_at: now,
    }
}

/// Decides what a command on `state` means, as events to append (empty = nothing to do).
#[expect(
    clippy::too_many_lines,
    reason = "one match over every booking command reads as the rule book"
)]
pub fn decide(
    state: &Booking,
    command: &BookingCommand,
    now: DateTime<Utc>,
) -> Result<Vec<BookingEvent>, BookingError> {
    let business_id = state.business_id.unwrap_or_default();
    match command {
        BookingCommand::Hold {
            request,
            expires_at,
        } => {
            new_stream(state)?;
            Ok(vec![
                requested(request, RequestKind::Hold, now),
                BookingEvent::SlotHeld {
                    business_id: request.business_id,
                    service_id: request.service_id,
                    placement: request.placement,
                    expires_at: *expires_at,
                    occurred_at: now,
                },
            ])
        }
        BookingCommand::Book { request, notes } => {
            new_stream(state)?;
            Ok(vec![
                requested(request, RequestKind::Book, now),
                BookingEvent::AppointmentBooked {
                    business_id: request.business_id,
                    service_id: request.service_id,
                    placement: request.placement,
                    client_id: request.client_id,
                    notes: notes.clone(),
                    occurred_at: now,
                },
            ])
        }
        BookingCommand::BookHeld { client_id, notes } => {
            live_hold(state, now)?;
            let (Some(service_id), Some(placement)) = (state.service_id, state.placement) else {
                return Err(BookingError::NotAHold);
            };
            Ok(vec![BookingEvent::AppointmentBooked {
                business_id,
                service_id,
                placement,
                client_id: client_id.or(state.client_id),
                notes: notes.clone(),
                occurred_at: now,
            }])
        }
        BookingCommand::Reject {
            request,
            kind,
            alternatives,
        } => {
            let mut events = Vec::with_capacity(2);
            if *kind == RequestKind::Reschedule {
                active(state)?;
            } else {
                new_stream(state)?;
            }
            events.push(requested(request, *kind, now));
            events.push(BookingEvent::BookingRejected {
                business_id: request.business_id,
                kind: *kind,
                start: request.placement.start,
                reason: "slot_unavailable".into(),
                alternatives: alternatives.clone(),
                occurred_at: now,
            });
            Ok(events)
        }
        BookingCommand::ExpireHold => match (state.status, state.expires_at) {
            (Status::Held, Some(expires_at)) if expires_at <= now => {
                Ok(vec![BookingEvent::HoldExpired {
                    business_id,
                    expires_at,
                    occurred_at: now,
                }])
            }
            (Status::Held, _) => Err(BookingError::HoldStillLive),
            _ => Err(BookingError::NotAHold),
        },
        BookingCommand::Reschedule { to } => {
            let from = active(state)?;
            if from == *to {
                return Ok(Vec::new());
            }
            Ok(vec![BookingEvent::AppointmentRescheduled {
                business_id,
                from,
                to: *to,
                occurred_at: now,
            }])
        }
        BookingCommand::Cancel { reason } => {
            active(state)?;
            Ok(vec![BookingEvent::AppointmentCancelled {
                business_id,
                reason: reason.clone(),
                occurred_at: now,
            }])
        }
        BookingCommand::Complete | BookingCommand::MarkNoShow => {
            let placement = active(state)?;
            if now < placement.start {
                return Err(BookingError::NotStartedYet);
            }
            Ok(vec![if *command == BookingCommand::Complete {
                BookingEvent::AppointmentCompleted {
                    business_id,
                    occurred_at: now,
                }
            } else {
                BookingEvent::AppointmentNoShow {
                    business_id,
                    occurred_at: now,
                }
            }])
        }
    }
}

fn new_stream(state: &Booking) -> Result<(), BookingError> {
    if state.status == Status::New {
        Ok(())
    } else {
        Err(BookingError::AlreadyExists)
    }
}

/// The placement of a booked appointment.
fn active(state: &Booking) -> Result<Placement, BookingError> {
    match (state.status, state.placement) {
        (Status::Booked, Some(placement)) => Ok(placement),
        (Status::New | Status::Rejected | Status::Held | Status::Expired, _) => {
            Err(BookingError::NotFound)
        }
        (status, _) => Err(BookingError::NotActive(status)),
    }
}

fn live_hold(state: &Booking, now: DateTime<Utc>) -> Result<(), BookingError> {
    match state.status {
        Status::Held if state.blocks_at(now) => Ok(()),
        Status::Held | Status::Expired => Err(BookingError::HoldExpired),
        _ => Err(BookingError::NotAHold),
    }
}

/// "Any staff": of the free staff, the one with the fewest bookings that day, then the smallest id.
/// `booked_that_day` gives the count per staff member (missing = none).
pub fn choose_staff(free: &[Uuid], booked_that_day: impl Fn(Uuid) -> usize) -> Option<Uuid> {
    free.iter()
        .copied()
        .min_by_key(|staff_id| (booked_that_day(*staff_id), *staff_id))
}

#[cfg(test)]
mod tests;
