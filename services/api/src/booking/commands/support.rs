//! Small pieces the booking commands share: idempotency keys, encoding events, mapping rule violations.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::booking::BookingError;
use domain::scheduling::SlotError;
use events::NewEvent;
use events::billing::{billing_event_id, booking_usage_stream};
use events::booking::BookingEvent;
use events::call::UsageEvent;
use serde::Serialize;
use store::{ExpectedVersion, StreamAppend};
use uuid::Uuid;

use super::super::guard::IdempotencyRecord;
use super::super::idempotency::{booking_id_for_key, replay, request_hash};
use super::super::{BusinessCatalog, CommandContext, Reply};
use crate::ApiError;

/// How an attempt to place a booking ended.
pub enum Step {
    Done(Reply),
    /// The slot is taken: record the request as rejected and offer alternatives.
    Taken,
    /// The same idempotency key committed first: answer what it answered.
    KeyTaken,
}

/// A command's idempotency key (if any) with the hash of its request.
pub struct Keyed {
    tenant: Uuid,
    key: Option<String>,
    hash: Vec<u8>,
    /// The booking id a new booking gets: derived from the key, so retries race on one stream.
    booking_id: Uuid,
}

impl Keyed {
    pub fn new<R: Serialize>(
        tenant: Uuid,
        ctx: &CommandContext,
        operation: &str,
        request: &R,
    ) -> Self {
        let key = ctx.idempotency_key.clone();
        Self {
            tenant,
            booking_id: key
                .as_deref()
                .map_or_else(Uuid::now_v7, |key| booking_id_for_key(tenant, key)),
            hash: request_hash(operation, request),
            key,
        }
    }

    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    pub fn booking_id(&self) -> Uuid {
        self.booking_id
    }

    /// The reply first given for this key, if the key was used before.
    pub async fn replay<'e>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
    ) -> Result<Option<Reply>, ApiError> {
        match &self.key {
            Some(key) => replay(executor, self.tenant, key, &self.hash).await,
            None => Ok(None),
        }
    }

    /// After losing a race to the same key: its record was committed with the winner's events.
    pub async fn replay_after_race<'e>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
    ) -> Result<Reply, ApiError> {
        self.replay(executor).await?.ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the booking changed concurrently; retry",
            )
        })
    }

    /// The record to store with the command's events.
    pub fn record(&self, reply: &Reply, booking_id: Option<Uuid>) -> Option<IdempotencyRecord> {
        self.key.as_ref().map(|key| IdempotencyRecord {
            key: key.clone(),
            request_hash: self.hash.clone(),
            status: reply.status.as_u16(),
            response: reply.body.clone(),
            booking_id,
        })
    }
}

/// Booking events as new events of the business, with the command's metadata.
pub fn encode(
    catalog: &BusinessCatalog,
    events: &[BookingEvent],
    ctx: &CommandContext,
) -> Result<Vec<NewEvent>, ApiError> {
    let mut metadata = ctx.metadata.clone();
    if metadata.command_id.is_none() {
        metadata.command_id.clone_from(&ctx.idempotency_key);
    }
    events
        .iter()
        .map(|event| {
            NewEvent::tagged(Some(catalog.business_id), event, metadata.clone())
                .map_err(|err| ApiError::internal(&err))
        })
        .collect()
}

/// The per-booking usage of a confirmed booking, appended in the same transaction as its
/// `AppointmentBooked` (so a booking is never free, nor billed without being made). Booked at `now`, it is
/// billed in the month it was made, whenever the appointment takes place; a cancellation does not refund it.
pub fn booking_usage(
    catalog: &BusinessCatalog,
    booking_id: Uuid,
    now: DateTime<Utc>,
    ctx: &CommandContext,
) -> Result<StreamAppend, ApiError> {
    let usage = UsageEvent::UsageRecorded {
        business_id: catalog.business_id,
        call_id: None,
        kind: domain::billing::history::BOOKING.to_owned(),
        quantity: 1,
        provider_cost_micros: 0,
        usage_at: now,
        occurred_at: now,
    };
    let mut event = NewEvent::tagged(Some(catalog.business_id), &usage, ctx.metadata.clone())
        .map_err(|err| ApiError::internal(&err))?;
    event.event_id = billing_event_id(&format!("booking:{booking_id}"));
    Ok(StreamAppend::new(
        booking_usage_stream(booking_id).as_str(),
        ExpectedVersion::NoStream,
        vec![event],
    ))
}

/// A start that can never be booked as asked: 422 with a precise code, nothing appended.
pub fn bad_slot(err: &SlotError) -> ApiError {
    let code = match err {
        SlotError::InPast { .. } => "start_in_past",
        SlotError::TooSoon { .. } => "too_soon",
        SlotError::OutsideHorizon { .. } => "outside_horizon",
        SlotError::OutsideHours { .. } => "outside_hours",
        SlotError::OffGrid { .. } => "off_grid",
        SlotError::StaffNotEligible { .. } => "staff_not_eligible",
        SlotError::Unavailable { .. } => "slot_unavailable",
    };
    ApiError::validation(code, err.to_string())
}

/// A command the booking's state does not allow.
#[expect(
    clippy::needless_pass_by_value,
    reason = "written as `.map_err(booking_error)`"
)]
pub fn booking_error(err: BookingError) -> ApiError {
    match err {
        BookingError::NotFound => ApiError::not_found("appointment"),
        BookingError::HoldExpired => {
            ApiError::new(StatusCode::CONFLICT, "hold_expired", err.to_string())
        }
        BookingError::AlreadyExists => {
            ApiError::new(StatusCode::CONFLICT, "conflict", err.to_string())
        }
        BookingError::NotActive(_) => ApiError::new(
            StatusCode::CONFLICT,
            "appointment_not_active",
            err.to_string(),
        ),
        BookingError::HoldStillLive | BookingError::NotAHold => {
            ApiError::validation("not_a_hold", err.to_string())
        }
        BookingError::NotStartedYet => ApiError::validation("not_started", err.to_string()),
    }
}
