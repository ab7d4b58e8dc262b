//! Given/when/then tests of the booking decisions: events in, a command, the events (or error) out.

use chrono::{DateTime, TimeDelta, Utc};
use events::Aggregate;
use events::booking::{Alternative, BookingEvent, Placement, RequestKind};
use uuid::Uuid;

use super::{Booking, BookingCommand, BookingError, SlotRequest, Status, choose_staff, decide};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

const BUSINESS: Uuid = Uuid::from_u128(1);
const SERVICE: Uuid = Uuid::from_u128(2);
const BOOKING: Uuid = Uuid::from_u128(3);
const STAFF: Uuid = Uuid::from_u128(4);

fn now() -> DateTime<Utc> {
    at("2027-03-01T12:00:00Z")
}

fn placement(start: &str, minutes: i64) -> Placement {
    Placement {
        staff_id: Some(STAFF),
        start: at(start),
        end: at(start) + TimeDelta::minutes(minutes),
        buffer_before_minutes: 0,
        buffer_after_minutes: 10,
    }
}

fn request(start: &str) -> SlotRequest {
    SlotRequest {
        booking_id: BOOKING,
        business_id: BUSINESS,
        service_id: SERVICE,
        requested_staff_id: None,
        client_id: None,
        placement: placement(start, 30),
    }
}

struct Scenario(Booking);

fn given(history: &[BookingEvent]) -> Scenario {
    Scenario(history.iter().fold(Booking::default(), Booking::evolve))
}

impl Scenario {
    fn when(self, command: BookingCommand) -> Outcome {
        self.when_at(command, now())
    }

    #[expect(
        clippy::needless_pass_by_value,
        reason = "reads like the given/when/then sentence it is"
    )]
    fn when_at(self, command: BookingCommand, now: DateTime<Utc>) -> Outcome {
        Outcome(decide(&self.0, &command, now))
    }
}

struct Outcome(Result<Vec<BookingEvent>, BookingError>);

impl Outcome {
    fn then(self, expected: &[BookingEvent]) {
        assert_eq!(self.0.unwrap(), expected);
    }

    fn then_err(self, expected: &BookingError) {
        assert_eq!(self.0.unwrap_err(), *expected);
    }
}

fn booked(start: &str) -> Vec<BookingEvent> {
    decide(
        &Booking::default(),
        &BookingCommand::Book {
            request: request(start),
            notes: None,
        },
        now(),
    )
    .unwrap()
}

fn held(start: &str, expires_at: &str) -> Vec<BookingEvent> {
    decide(
        &Booking::default(),
        &BookingCommand::Hold {
            request: request(start),
            expires_at: at(expires_at),
        },
        now(),
    )
    .unwrap()
}

#[test]
fn booking_a_free_slot_records_the_request_and_the_appointment() {
    given(&[])
        .when(BookingCommand::Book {
            request: request("2027-03-02T09:00:00Z"),
            notes: Some("first visit".into()),
        })
        .then(&[
            BookingEvent::SlotRequested {
                booking_id: BOOKING,
                business_id: BUSINESS,
                service_id: SERVICE,
                kind: RequestKind::Book,
                requested_staff_id: None,
                start: at("2027-03-02T09:00:00Z"),
                end: at("2027-03-02T09:30:00Z"),
                client_id: None,
                occurred_at: now(),
            },
            BookingEvent::AppointmentBooked {
                business_id: BUSINESS,
                service_id: SERVICE,
                placement: placement("2027-03-02T09:00:00Z", 30),
                client_id: None,
                notes: Some("first visit".into()),
                occurred_at: now(),
            },
        ]);
}

#[test]
fn a_taken_slot_is_still_recorded_as_a_request_then_a_rejection_with_alternatives() {
    let alternatives = vec![Alternative {
        start: at("2027-03-02T09:30:00Z"),
        end: at("2027-03-02T10:00:00Z"),
        staff_ids: vec![STAFF],
    }];
    let events = decide(
        &Booking::default(),
        &BookingCommand::Reject {
            request: request("2027-03-02T09:00:00Z"),
            kind: RequestKind::Book,
            alternatives: alternatives.clone(),
        },
        now(),
    )
    .unwrap();
    assert!(matches!(events[0], BookingEvent::SlotRequested { .. }));
    assert_eq!(
        events[1],
        BookingEvent::BookingRejected {
            business_id: BUSINESS,
            kind: RequestKind::Book,
            start: at("2027-03-02T09:00:00Z"),
            reason: "slot_unavailable".into(),
            alternatives,
            occurred_at: now(),
        }
    );
    let state = events.iter().fold(Booking::default(), Booking::evolve);
    assert_eq!(state.status, Status::Rejected);
    assert!(!state.blocks_at(now()));
}

#[test]
fn the_same_booking_cannot_be_booked_twice() {
    given(&booked("2027-03-02T09:00:00Z"))
        .when(BookingCommand::Book {
            request: request("2027-03-02T09:00:00Z"),
            notes: None,
        })
        .then_err(&BookingError::AlreadyExists);
}

#[test]
fn a_live_hold_can_be_booked_by_its_holder_and_keeps_its_slot() {
    given(&held("2027-03-02T09:00:00Z", "2027-03-01T12:05:00Z"))
        .when(BookingCommand::BookHeld {
            client_id: None,
            notes: None,
        })
        .then(&[BookingEvent::AppointmentBooked {
            business_id: BUSINESS,
            service_id: SERVICE,
            placement: placement("2027-03-02T09:00:00Z", 30),
            client_id: None,
            notes: None,
            occurred_at: now(),
        }]);
}

#[test]
fn an_expired_hold_cannot_be_booked_but_can_be_released() {
    let history = held("2027-03-02T09:00:00Z", "2027-03-01T12:00:00Z");
    given(&history)
        .when(BookingCommand::BookHeld {
            client_id: None,
            notes: None,
        })
        .then_err(&BookingError::HoldExpired);
    given(&history)
        .when(BookingCommand::ExpireHold)
        .then(&[BookingEvent::HoldExpired {
            business_id: BUSINESS,
            expires_at: at("2027-03-01T12:00:00Z"),
            occurred_at: now(),
        }]);
}

#[test]
fn a_hold_that_is_still_live_is_not_released() {
    given(&held("2027-03-02T09:00:00Z", "2027-03-01T12:00:01Z"))
        .when(BookingCommand::ExpireHold)
        .then_err(&BookingError::HoldStillLive);
}

#[test]
fn rescheduling_moves_the_appointment_and_says_where_from() {
    given(&booked("2027-03-02T09:00:00Z"))
        .when(BookingCommand::Reschedule {
            to: placement("2027-03-02T09:15:00Z", 30),
        })
        .then(&[BookingEvent::AppointmentRescheduled {
            business_id: BUSINESS,
            from: placement("2027-03-02T09:00:00Z", 30),
            to: placement("2027-03-02T09:15:00Z", 30),
            occurred_at: now(),
        }]);
}

#[test]
fn rescheduling_onto_the_same_placement_changes_nothing() {
    given(&booked("2027-03-02T09:00:00Z"))
        .when(BookingCommand::Reschedule {
            to: placement("2027-03-02T09:00:00Z", 30),
        })
        .then(&[]);
}

#[test]
fn a_rejected_reschedule_leaves_the_appointment_booked_where_it_was() {
    let mut history = booked("2027-03-02T09:00:00Z");
    let mut moving = request("2027-03-02T10:00:00Z");
    moving.booking_id = BOOKING;
    history.extend(
        decide(
            &given(&history).0,
            &BookingCommand::Reject {
                request: moving,
                kind: RequestKind::Reschedule,
                alternatives: vec![],
            },
            now(),
        )
        .unwrap(),
    );
    let state = given(&history).0;
    assert_eq!(state.status, Status::Booked);
    assert_eq!(state.placement, Some(placement("2027-03-02T09:00:00Z", 30)));
}

#[test]
fn a_cancelled_appointment_frees_its_slot_and_cannot_be_cancelled_or_moved_again() {
    let mut history = booked("2027-03-02T09:00:00Z");
    history.push(BookingEvent::AppointmentCancelled {
        business_id: BUSINESS,
        reason: None,
        occurred_at: now(),
    });
    assert!(!given(&history).0.blocks_at(now()));
    given(&history)
        .when(BookingCommand::Cancel { reason: None })
        .then_err(&BookingError::NotActive(Status::Cancelled));
    given(&history)
        .when(BookingCommand::Reschedule {
            to: placement("2027-03-02T10:00:00Z", 30),
        })
        .then_err(&BookingError::NotActive(Status::Cancelled));
}

#[test]
fn an_unknown_appointment_cannot_be_cancelled() {
    given(&[])
        .when(BookingCommand::Cancel { reason: None })
        .then_err(&BookingError::NotFound);
}

#[test]
fn completion_and_no_show_are_only_recorded_once_the_appointment_has_started() {
    let history = booked("2027-03-02T09:00:00Z");
    given(&history)
        .when(BookingCommand::Complete)
        .then_err(&BookingError::NotStartedYet);
    given(&history)
        .when_at(BookingCommand::MarkNoShow, at("2027-03-02T09:10:00Z"))
        .then(&[BookingEvent::AppointmentNoShow {
            business_id: BUSINESS,
            occurred_at: at("2027-03-02T09:10:00Z"),
        }]);
}

#[test]
fn any_staff_goes_to_the_least_booked_that_day_then_the_smallest_id() {
    let (a, b, c) = (
        Uuid::from_u128(10),
        Uuid::from_u128(11),
        Uuid::from_u128(12),
    );
    let counts = |id: Uuid| if id == a { 3 } else { 1 };
    assert_eq!(choose_staff(&[c, a, b], counts), Some(b));
    assert_eq!(choose_staff(&[a], counts), Some(a));
    assert_eq!(choose_staff(&[], counts), None);
}
