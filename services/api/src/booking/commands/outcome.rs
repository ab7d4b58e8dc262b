//! The ends of a booking command: the recorded rejection (with alternatives), booking a live hold, and
//! the client's own stream written alongside.

use axum::http::StatusCode;
use chrono::TimeDelta;
use domain::booking::{Booking, BookingCommand, BookingError, decide};
use domain::scheduling::ALTERNATIVE_SEARCH_DAYS;
use events::NewEvent;
use events::booking::{Placement, RequestKind, booking_stream};
use events::client::{ClientDetails, ClientEvent, client_id_for_phone, client_stream};
use sqlx::PgConnection;
use store::{ExpectedVersion, StreamAppend};
use uuid::Uuid;

use super::super::guard::{self, Allocation, AllocationKind, GuardWrite, Refusal};
use super::super::reply::{self, AppointmentView};
use super::super::{
    BookRequest, BookingService, BusinessCatalog, ClientInput, CommandContext, Reply,
};
use super::Target;
use super::placement::{alternatives, new_request};
use super::support::{Keyed, Step, booking_error, booking_usage, encode};
use crate::ApiError;
use crate::booking::REACH;

/// The client a request names, and the events (if any) that record or update them.
pub type ClientBatch = Option<(Uuid, Option<StreamAppend>)>;

impl BookingService {
    /// Turns a placement attempt into the answer: the booking, the first answer to the same key, or a
    /// recorded rejection.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site per command, all named"
    )]
    pub(super) async fn finish(
        &self,
        step: Step,
        target: &Target<'_>,
        keyed: &Keyed,
        ctx: &CommandContext,
        booking_id: Uuid,
        kind: RequestKind,
        client: ClientBatch,
    ) -> Result<Reply, ApiError> {
        match step {
            Step::Done(reply) => Ok(reply),
            Step::KeyTaken => keyed.replay_after_race(self.store().pool()).await,
            Step::Taken => {
                self.reject(target, keyed, ctx, booking_id, kind, client)
                    .await
            }
        }
    }

    /// Records `SlotRequested` + `BookingRejected` (in a transaction of its own: the booking's was rolled
    /// back) and answers 409 with the nearest free slots.
    async fn reject(
        &self,
        target: &Target<'_>,
        keyed: &Keyed,
        ctx: &CommandContext,
        booking_id: Uuid,
        kind: RequestKind,
        client: ClientBatch,
    ) -> Result<Reply, ApiError> {
        let catalog = target.catalog;
        let now = self.now();
        // The alternatives are searched from the asked day to ALTERNATIVE_SEARCH_DAYS after it.
        let allocations = guard::load_overlapping(
            self.store().pool(),
            catalog.business_id,
            target.start - REACH,
            target.start + TimeDelta::days(ALTERNATIVE_SEARCH_DAYS) + REACH,
        )
        .await?;
        let offered = alternatives(
            catalog,
            target.service,
            target.staff_id,
            target.own,
            &allocations,
            target.start,
            now,
        );
        let rules = &target.service.rules;
        let placement = Placement {
            staff_id: target.staff_id,
            start: target.start,
            end: target.start + TimeDelta::minutes(i64::from(rules.duration_minutes)),
            buffer_before_minutes: rules.buffer_before_minutes,
            buffer_after_minutes: rules.buffer_after_minutes,
        };
        let client_id = client.as_ref().map(|(id, _)| *id);
        let request = new_request(
            catalog,
            booking_id,
            target.service,
            target.staff_id,
            client_id,
            placement,
        );
        let (state, expected) = if kind == RequestKind::Reschedule {
            let (state, version) = self
                .load_appointment(self.store().pool(), catalog, booking_id)
                .await?;
            (state, ExpectedVersion::Exact(version))
        } else {
            (Booking::default(), ExpectedVersion::NoStream)
        };
        let command = BookingCommand::Reject {
            request,
            kind,
            alternatives: offered.clone(),
        };
        let events = decide(&state, &command, now).map_err(booking_error)?;
        let reply = reply::unavailable(catalog, booking_id, target.start, &offered);
        let stream = booking_stream(booking_id);
        let mut batches = vec![StreamAppend::new(
            stream.as_str(),
            expected,
            encode(catalog, &events, ctx)?,
        )];
        batches.extend(client.and_then(|(_, batch)| batch));
        let write = GuardWrite {
            tenant: catalog.business_id,
            idempotency: keyed.record(&reply, Some(booking_id)),
            now: Some(now),
            ..GuardWrite::default()
        };
        match self
            .store()
            .append_many(batches, Some(write.into_hook()))
            .await
        {
            Ok(_) => Ok(reply),
            Err(err) => match guard::classify(err) {
                Refusal::KeyTaken => keyed.replay_after_race(self.store().pool()).await,
                Refusal::Raced { stream: raced }
                    if keyed.is_keyed() && raced == stream.as_str() =>
                {
                    keyed.replay_after_race(self.store().pool()).await
                }
                Refusal::Other(err) => Err(err.into()),
                Refusal::Raced { .. } | Refusal::Overlap => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "the booking changed concurrently; retry",
                )),
            },
        }
    }

    /// Books the holder's live hold (`request.hold_id`). `None` when the request names no hold or the hold
    /// has expired: the caller then books the slot afresh (and the dead hold is released with `HoldExpired`
    /// if it is in the way).
    pub(super) async fn book_held(
        &self,
        conn: &mut PgConnection,
        catalog: &BusinessCatalog,
        request: &BookRequest,
        client: ClientBatch,
        keyed: &Keyed,
        ctx: &CommandContext,
    ) -> Result<Option<Reply>, ApiError> {
        let Some(hold_id) = request.hold_id else {
            return Ok(None);
        };
        let (state, version) = self
            .store()
            .load_with::<Booking>(&mut *conn, booking_stream(hold_id).as_str())
            .await?;
        let Some(placement) = state
            .placement
            .filter(|_| state.business_id == Some(catalog.business_id))
        else {
            return Err(ApiError::not_found("hold"));
        };
        if state.service_id != Some(request.service_id)
            || placement.start != request.start
            || request
                .staff_id
                .is_some_and(|id| Some(id) != placement.staff_id)
        {
            return Err(ApiError::validation(
                "hold_mismatch",
                "the hold is for another service, start or staff member",
            ));
        }
        let now = self.now();
        let client_id = client.as_ref().map(|(id, _)| *id);
        let command = BookingCommand::BookHeld {
            client_id,
            notes: request.notes.clone(),
        };
        let events = match decide(&state, &command, now) {
            Err(BookingError::HoldExpired) => return Ok(None),
            other => other.map_err(booking_error)?,
        };
        let reply = reply::booked(
            catalog,
            &AppointmentView {
                id: hold_id,
                status: "booked",
                service_id: request.service_id,
                placement,
                client_id: client_id.or(state.client_id),
                notes: request.notes.as_deref(),
            },
        );
        let mut batches = vec![StreamAppend::new(
            booking_stream(hold_id).as_str(),
            ExpectedVersion::Exact(version),
            encode(catalog, &events, ctx)?,
        )];
        batches.extend(client.and_then(|(_, batch)| batch));
        batches.push(booking_usage(catalog, hold_id, now, ctx)?);
        let write = GuardWrite {
            tenant: catalog.business_id,
            release: vec![hold_id],
            insert: Some(Allocation {
                resource_id: catalog.resource(placement.staff_id),
                booking_id: hold_id,
                kind: AllocationKind::Appointment,
                placement,
                expires_at: None,
            }),
            idempotency: keyed.record(&reply, Some(hold_id)),
            now: Some(now),
        };
        match self
            .store()
            .append_many_on(&mut *conn, batches, Some(write.into_hook()))
            .await
        {
            Ok(_) => Ok(Some(reply)),
            Err(err) => match guard::classify(err) {
                Refusal::KeyTaken => keyed.replay_after_race(conn).await.map(Some),
                Refusal::Raced { .. } if keyed.is_keyed() => {
                    keyed.replay_after_race(conn).await.map(Some)
                }
                Refusal::Other(err) => Err(err.into()),
                Refusal::Raced { .. } | Refusal::Overlap => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "the hold changed concurrently; retry",
                )),
            },
        }
    }

    /// The client named by a request: registered on first sight, updated when their details changed.
    /// A client with a phone number keeps one id per business; without one, every booking is a new client.
    pub(super) async fn client_batch(
        &self,
        conn: &mut PgConnection,
        catalog: &BusinessCatalog,
        input: Option<&ClientInput>,
        ctx: &CommandContext,
    ) -> Result<ClientBatch, ApiError> {
        let Some(input) = input else {
            return Ok(None);
        };
        let business_id = catalog.business_id;
        let client_id = input.phone.as_deref().map_or_else(Uuid::now_v7, |phone| {
            client_id_for_phone(business_id, phone)
        });
        let details = ClientDetails {
            name: input.name.trim().to_owned(),
            phone: input.phone.clone(),
            email: input.email.clone(),
        };
        let stream = client_stream(client_id);
        let (known, _) = self
            .store()
            .load_with::<KnownClient>(conn, stream.as_str())
            .await?;
        let now = self.now();
        let event = match known.0 {
            None => ClientEvent::ClientRegistered {
                client_id,
                business_id,
                details,
                occurred_at: now,
            },
            Some(current) if current != details => ClientEvent::ClientDetailsUpdated {
                business_id,
                details,
                occurred_at: now,
            },
            Some(_) => return Ok(Some((client_id, None))),
        };
        let mut metadata = ctx.metadata.clone();
        metadata.command_id.clone_from(&ctx.idempotency_key);
        let event = NewEvent::tagged(Some(business_id), &event, metadata)
            .map_err(|err| ApiError::internal(&err))?;
        Ok(Some((
            client_id,
            Some(StreamAppend::new(
                stream.as_str(),
                ExpectedVersion::Any,
                vec![event],
            )),
        )))
    }
}

/// A client's current details, folded from their stream.
#[derive(Default)]
struct KnownClient(Option<ClientDetails>);

impl events::Aggregate for KnownClient {
    type Event = ClientEvent;

    fn evolve(self, event: &ClientEvent) -> Self {
        match event {
            ClientEvent::ClientRegistered { details, .. }
            | ClientEvent::ClientDetailsUpdated { details, .. } => Self(Some(details.clone())),
        }
    }
}
