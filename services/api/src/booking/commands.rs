//! Hold, book, reschedule, cancel: each loads what it needs, decides with the pure domain, and appends its
//! events together with the guard rows in one transaction. A slot taken meanwhile is decided again; a slot
//! that is taken is recorded as `SlotRequested` + `BookingRejected` and answered 409 with alternatives.

use chrono::{DateTime, TimeDelta, Utc};
use domain::booking::{Booking, BookingCommand, decide};
use events::booking::{RequestKind, booking_stream};
use store::{ExpectedVersion, StreamAppend};
use uuid::Uuid;

use super::guard::{self, AllocationKind, GuardWrite, Refusal};
use super::reply::{self, AppointmentView};
use super::{
    BookRequest, BookingService, BusinessCatalog, CatalogService, CommandContext, DEFAULT_HOLD,
    HoldRequest, Reply, RescheduleRequest,
};
use crate::ApiError;

mod outcome;
mod placement;
mod support;

use placement::new_request;
use support::{Keyed, booking_error, booking_usage, encode};

/// How often a command is decided again after losing a race at commit.
const ATTEMPTS: usize = 6;
/// How many alternatives a rejection offers.
pub const ALTERNATIVES: usize = 5;

/// Where a new or moved booking should go.
struct Target<'a> {
    catalog: &'a BusinessCatalog,
    service: &'a CatalogService,
    start: DateTime<Utc>,
    staff_id: Option<Uuid>,
    /// The booking's own allocation: it does not block the booking (a reschedule onto itself).
    own: Option<Uuid>,
    /// Kept when free (a reschedule stays with its staff member unless told otherwise).
    prefer: Option<Uuid>,
}

/// The booking's own events and reply, made once the placement is known.
struct Made {
    batch: StreamAppend,
    /// Other streams written in the same transaction (the client's).
    extra: Vec<StreamAppend>,
    kind: AllocationKind,
    expires_at: Option<DateTime<Utc>>,
    reply: Reply,
}

impl BookingService {
    /// Holds a free slot for a while (`POST …/holds`).
    pub async fn hold(
        &self,
        catalog: &BusinessCatalog,
        request: &HoldRequest,
        ctx: &CommandContext,
    ) -> Result<Reply, ApiError> {
        let keyed = Keyed::new(catalog.business_id, ctx, "hold", request);
        let mut conn = self.store().pool().acquire().await?;
        if let Some(reply) = keyed.replay(&mut *conn).await? {
            return Ok(reply);
        }
        let service = catalog.service(request.service_id)?;
        catalog.known_staff(request.staff_id)?;
        let ttl = request.ttl_seconds.map_or(DEFAULT_HOLD, |s| {
            TimeDelta::seconds(i64::from(s.clamp(1, 600)))
        });
        let booking_id = keyed.booking_id();
        let target = Target {
            catalog,
            service,
            start: request.start,
            staff_id: request.staff_id,
            own: None,
            prefer: None,
        };
        let step = self
            .place(conn, &target, &keyed, |placement, now| {
                let expires_at = now + ttl;
                let request = new_request(
                    catalog,
                    booking_id,
                    service,
                    target.staff_id,
                    None,
                    placement,
                );
                let events = decide(
                    &Booking::default(),
                    &BookingCommand::Hold {
                        request,
                        expires_at,
                    },
                    now,
                )
                .map_err(booking_error)?;
                Ok(Made {
                    batch: StreamAppend::new(
                        booking_stream(booking_id).as_str(),
                        ExpectedVersion::NoStream,
                        encode(catalog, &events, ctx)?,
                    ),
                    extra: Vec::new(),
                    kind: AllocationKind::Hold,
                    expires_at: Some(expires_at),
                    reply: reply::held(catalog, booking_id, service.id, &placement, expires_at),
                })
            })
            .await?;
        self.finish(
            step,
            &target,
            &keyed,
            ctx,
            booking_id,
            RequestKind::Hold,
            None,
        )
        .await
    }

    /// Books an appointment (`POST …/appointments`), from a live hold when `hold_id` names one.
    pub async fn book(
        &self,
        catalog: &BusinessCatalog,
        request: &BookRequest,
        ctx: &CommandContext,
    ) -> Result<Reply, ApiError> {
        let keyed = Keyed::new(catalog.business_id, ctx, "book", request);
        // One connection for the reads and the append (see `place`).
        let mut conn = self.store().pool().acquire().await?;
        if let Some(reply) = keyed.replay(&mut *conn).await? {
            return Ok(reply);
        }
        let service = catalog.service(request.service_id)?;
        catalog.known_staff(request.staff_id)?;
        let client = self
            .client_batch(&mut conn, catalog, request.client.as_ref(), ctx)
            .await?;
        if request.hold_id.is_some()
            && let Some(reply) = self
                .book_held(&mut conn, catalog, request, client.clone(), &keyed, ctx)
                .await?
        {
            return Ok(reply);
        }
        let booking_id = keyed.booking_id();
        let target = Target {
            catalog,
            service,
            start: request.start,
            staff_id: request.staff_id,
            own: None,
            prefer: None,
        };
        let client_id = client.as_ref().map(|(id, _)| *id);
        let step = self
            .place(conn, &target, &keyed, |placement, now| {
                let request_ = new_request(
                    catalog,
                    booking_id,
                    service,
                    request.staff_id,
                    client_id,
                    placement,
                );
                let command = BookingCommand::Book {
                    request: request_,
                    notes: request.notes.clone(),
                };
                let events = decide(&Booking::default(), &command, now).map_err(booking_error)?;
                Ok(Made {
                    batch: StreamAppend::new(
                        booking_stream(booking_id).as_str(),
                        ExpectedVersion::NoStream,
                        encode(catalog, &events, ctx)?,
                    ),
                    extra: client
                        .iter()
                        .filter_map(|(_, batch)| batch.clone())
                        .chain([booking_usage(catalog, booking_id, now, ctx)?])
                        .collect(),
                    kind: AllocationKind::Appointment,
                    expires_at: None,
                    reply: reply::booked(
                        catalog,
                        &AppointmentView {
                            id: booking_id,
                            status: "booked",
                            service_id: service.id,
                            placement,
                            client_id,
                            notes: request.notes.as_deref(),
                        },
                    ),
                })
            })
            .await?;
        self.finish(
            step,
            &target,
            &keyed,
            ctx,
            booking_id,
            RequestKind::Book,
            client,
        )
        .await
    }

    /// Moves an appointment (`POST /appointments/{id}/reschedule`). Its own interval never blocks it.
    pub async fn reschedule(
        &self,
        catalog: &BusinessCatalog,
        appointment_id: Uuid,
        request: &RescheduleRequest,
        ctx: &CommandContext,
    ) -> Result<Reply, ApiError> {
        let keyed = Keyed::new(
            catalog.business_id,
            ctx,
            "reschedule",
            &(appointment_id, request),
        );
        let mut conn = self.store().pool().acquire().await?;
        if let Some(reply) = keyed.replay(&mut *conn).await? {
            return Ok(reply);
        }
        let stream = booking_stream(appointment_id);
        let (state, version) = self
            .load_appointment(&mut *conn, catalog, appointment_id)
            .await?;
        let service_id = state.service_id.unwrap_or_default();
        let service = catalog
            .services
            .iter()
            .find(|s| s.id == service_id)
            .ok_or_else(|| ApiError::not_found("service"))?;
        catalog.known_staff(request.staff_id)?;
        let target = Target {
            catalog,
            service,
            start: request.start,
            staff_id: request.staff_id,
            own: Some(appointment_id),
            prefer: state.placement.and_then(|p| p.staff_id),
        };
        let step = self
            .place(conn, &target, &keyed, |placement, now| {
                // Decided on the state loaded once; the expected version refuses it if the stream moved.
                let events = decide(&state, &BookingCommand::Reschedule { to: placement }, now)
                    .map_err(booking_error)?;
                Ok(Made {
                    batch: StreamAppend::new(
                        stream.as_str(),
                        ExpectedVersion::Exact(version),
                        encode(catalog, &events, ctx)?,
                    ),
                    extra: Vec::new(),
                    kind: AllocationKind::Appointment,
                    expires_at: None,
                    reply: Reply {
                        status: axum::http::StatusCode::OK,
                        body: reply::appointment_json(
                            catalog,
                            &AppointmentView {
                                id: appointment_id,
                                status: "booked",
                                service_id,
                                placement,
                                client_id: state.client_id,
                                notes: state.notes.as_deref(),
                            },
                        ),
                    },
                })
            })
            .await?;
        self.finish(
            step,
            &target,
            &keyed,
            ctx,
            appointment_id,
            RequestKind::Reschedule,
            None,
        )
        .await
    }

    /// Cancels an appointment (`POST /appointments/{id}/cancel`): its slot is free in the same transaction.
    pub async fn cancel(
        &self,
        catalog: &BusinessCatalog,
        appointment_id: Uuid,
        reason: Option<String>,
        ctx: &CommandContext,
    ) -> Result<Reply, ApiError> {
        self.end(
            catalog,
            appointment_id,
            BookingCommand::Cancel { reason },
            "cancelled",
            ctx,
        )
        .await
    }

    /// Records that the client came.
    pub async fn complete(
        &self,
        catalog: &BusinessCatalog,
        appointment_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Reply, ApiError> {
        self.end(
            catalog,
            appointment_id,
            BookingCommand::Complete,
            "completed",
            ctx,
        )
        .await
    }

    /// Records that the client did not come.
    pub async fn no_show(
        &self,
        catalog: &BusinessCatalog,
        appointment_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Reply, ApiError> {
        self.end(
            catalog,
            appointment_id,
            BookingCommand::MarkNoShow,
            "no_show",
            ctx,
        )
        .await
    }

    /// Cancel, complete, no-show: the appointment ends and its allocation goes.
    async fn end(
        &self,
        catalog: &BusinessCatalog,
        appointment_id: Uuid,
        command: BookingCommand,
        status: &str,
        ctx: &CommandContext,
    ) -> Result<Reply, ApiError> {
        let keyed = Keyed::new(catalog.business_id, ctx, status, &appointment_id);
        // One connection for the reads and the append, as a booking takes.
        let mut conn = self.store().pool().acquire().await?;
        if let Some(reply) = keyed.replay(&mut *conn).await? {
            return Ok(reply);
        }
        let (state, version) = self
            .load_appointment(&mut *conn, catalog, appointment_id)
            .await?;
        let now = self.now();
        let events = decide(&state, &command, now).map_err(booking_error)?;
        let placement = state
            .placement
            .ok_or_else(|| ApiError::not_found("appointment"))?;
        let reply = Reply {
            status: axum::http::StatusCode::OK,
            body: reply::appointment_json(
                catalog,
                &AppointmentView {
                    id: appointment_id,
                    status,
                    service_id: state.service_id.unwrap_or_default(),
                    placement,
                    client_id: state.client_id,
                    notes: state.notes.as_deref(),
                },
            ),
        };
        let batch = StreamAppend::new(
            booking_stream(appointment_id).as_str(),
            ExpectedVersion::Exact(version),
            encode(catalog, &events, ctx)?,
        );
        let write = GuardWrite {
            tenant: catalog.business_id,
            release: vec![appointment_id],
            insert: None,
            idempotency: keyed.record(&reply, Some(appointment_id)),
            now: Some(now),
        };
        match self
            .store()
            .append_many_on(&mut conn, vec![batch], Some(write.into_hook()))
            .await
        {
            Ok(_) => Ok(reply),
            Err(err) => match guard::classify(err) {
                Refusal::KeyTaken | Refusal::Raced { .. } if keyed.is_keyed() => {
                    keyed.replay_after_race(&mut *conn).await
                }
                Refusal::Raced { .. } => Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "conflict",
                    "the appointment changed concurrently; retry",
                )),
                Refusal::Other(err) => Err(err.into()),
                Refusal::Overlap | Refusal::KeyTaken => {
                    Err(ApiError::internal(&"unexpected guard refusal"))
                }
            },
        }
    }

    /// An appointment of this business: 404 when unknown or another tenant's.
    pub(crate) async fn load_appointment<'e>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
        catalog: &BusinessCatalog,
        appointment_id: Uuid,
    ) -> Result<(Booking, i64), ApiError> {
        let (state, version) = self
            .store()
            .load_with::<Booking>(executor, booking_stream(appointment_id).as_str())
            .await?;
        if state.business_id != Some(catalog.business_id) {
            return Err(ApiError::not_found("appointment"));
        }
        Ok((state, version))
    }
}
