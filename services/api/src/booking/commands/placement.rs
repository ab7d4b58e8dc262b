//! Placing a booking: check the start against the live allocations with the slot engine, pick the staff
//! member, release dead holds in the way, append with the guard, and decide again after a lost race.

use chrono::{DateTime, TimeDelta, Utc};
use domain::booking::{Booking, BookingCommand, SlotRequest, choose_staff, decide};
use domain::scheduling::{
    BusyInterval, Performers, SlotError, check_bookable, nearest_alternatives,
};
use events::billing::booking_usage_stream;
use events::booking::{Alternative, Placement, booking_stream};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres};
use store::{ExpectedVersion, StreamAppend};
use uuid::Uuid;

use super::super::guard::{self, Allocation, GuardWrite, Refusal};
use super::super::{BookingService, BusinessCatalog, CatalogService, CommandContext};
use super::support::{Keyed, Step, bad_slot, encode};
use super::{ALTERNATIVES, ATTEMPTS, Made, Target};
use crate::ApiError;

impl BookingService {
    /// Tries to place `target`, deciding again after each lost race, until placed or taken.
    /// Everything it reads and writes goes through `conn`, one connection for the whole placement, given back
    /// to the pool when it returns (what comes after, such as a rejection's alternatives, takes its own).
    pub(super) async fn place(
        &self,
        mut conn: PoolConnection<Postgres>,
        target: &Target<'_>,
        keyed: &Keyed,
        decide_at: impl Fn(Placement, DateTime<Utc>) -> Result<Made, ApiError>,
    ) -> Result<Step, ApiError> {
        let catalog = target.catalog;
        for _ in 0..ATTEMPTS {
            let now = self.now();
            let (from, to) = decision_window(target);
            let allocations =
                guard::load_overlapping(&mut *conn, catalog.business_id, from, to).await?;
            let Some(placement) = choose_placement(target, &allocations, now)? else {
                return Ok(Step::Taken);
            };
            let resource = catalog.resource(placement.staff_id);
            let made = decide_at(placement, now)?;
            let (mut batches, mut release) = self
                .expire_overlapping(&mut conn, target, &allocations, resource, &placement, now)
                .await?;
            if let Some(own) = target.own {
                release.push(own);
            }
            let booking_id = target.own.unwrap_or_else(|| keyed.booking_id());
            let write = GuardWrite {
                tenant: catalog.business_id,
                release,
                insert: Some(Allocation {
                    resource_id: resource,
                    booking_id,
                    kind: made.kind,
                    placement,
                    expires_at: made.expires_at,
                }),
                idempotency: keyed.record(&made.reply, Some(booking_id)),
                now: Some(now),
            };
            batches.push(made.batch);
            batches.extend(made.extra);
            match self
                .store()
                .append_many_on(&mut conn, batches, Some(write.into_hook()))
                .await
            {
                Ok(_) => return Ok(Step::Done(made.reply)),
                Err(err) => match guard::classify(err) {
                    // Lost to someone: if it was the same idempotency key (a duplicate delivery racing
                    // this one), answer what it answered instead of trying again against its booking.
                    Refusal::Overlap | Refusal::Raced { .. }
                        if keyed.is_keyed() && keyed.replay(&mut *conn).await?.is_some() =>
                    {
                        return Ok(Step::KeyTaken);
                    }
                    Refusal::Overlap => {}
                    Refusal::KeyTaken => return Ok(Step::KeyTaken),
                    Refusal::Raced { stream } => {
                        // The booking's own streams (its events, its usage) exist only if the same
                        // booking id — the same idempotency key — committed first.
                        let own = stream == booking_stream(booking_id).as_str()
                            || stream == booking_usage_stream(booking_id);
                        if keyed.is_keyed() && own {
                            return Ok(Step::KeyTaken);
                        }
                        if target.own.is_some() && own {
                            return Err(ApiError::new(
                                axum::http::StatusCode::CONFLICT,
                                "conflict",
                                "the appointment changed concurrently; retry",
                            ));
                        }
                    }
                    Refusal::Other(err) => return Err(err.into()),
                },
            }
        }
        Ok(Step::Taken)
    }

    /// `HoldExpired` for every expired hold on the same resource whose interval overlaps the placement,
    /// and their rows to release: a dead hold must not stand in a live booking's way.
    async fn expire_overlapping(
        &self,
        conn: &mut PgConnection,
        target: &Target<'_>,
        allocations: &[Allocation],
        resource: Uuid,
        placement: &Placement,
        now: DateTime<Utc>,
    ) -> Result<(Vec<StreamAppend>, Vec<Uuid>), ApiError> {
        let (from, to) = guard::widened(placement);
        let mut batches = Vec::new();
        let mut release = Vec::new();
        for dead in allocations.iter().filter(|a| {
            !a.is_live(now)
                && a.resource_id == resource
                && Some(a.booking_id) != target.own
                && a.during().0 < to
                && from < a.during().1
        }) {
            let stream = booking_stream(dead.booking_id);
            let (state, version) = self
                .store()
                .load_with::<Booking>(&mut *conn, stream.as_str())
                .await?;
            if let Ok(events) = decide(&state, &BookingCommand::ExpireHold, now) {
                let ctx = CommandContext::default();
                batches.push(StreamAppend::new(
                    stream.as_str(),
                    ExpectedVersion::Exact(version),
                    encode(target.catalog, &events, &ctx)?,
                ));
                release.push(dead.booking_id);
            }
        }
        Ok((batches, release))
    }
}

/// The allocations placing `target` needs: those that can overlap it (its span widened by its buffers,
/// against theirs, as the guard compares them), and, when its staff member is still to be picked, those
/// starting on its local date (staff are balanced over that date, which lies within 25 hours of the start on
/// either side): about three days, where [`crate::booking::REACH`] around a start would be eight. A booking
/// with its staff member named, or of a business booked as a whole, reads only the overlap.
fn decision_window(target: &Target<'_>) -> (DateTime<Utc>, DateTime<Utc>) {
    let (before, after) = target.service.rules.blocks_around_start();
    if target.staff_id.is_some() || target.catalog.business_wide() {
        return (target.start - before, target.start + after);
    }
    let local_date = TimeDelta::hours(26);
    (
        target.start - local_date.max(before),
        target.start + local_date.max(after),
    )
}

/// Checks the target against the live allocations and picks its staff member; `None` = taken.
fn choose_placement(
    target: &Target<'_>,
    allocations: &[Allocation],
    now: DateTime<Utc>,
) -> Result<Option<Placement>, ApiError> {
    let catalog = target.catalog;
    let business_wide = catalog.business_wide();
    let busy: Vec<BusyInterval> = allocations
        .iter()
        .filter(|a| a.is_live(now) && Some(a.booking_id) != target.own)
        .map(|a| a.busy(business_wide))
        .collect();
    let performers = catalog.performers(target.service.id);
    let query = catalog.query(&target.service.rules, &performers, &busy, now);
    let free = match check_bookable(&query, target.start, target.staff_id) {
        Ok(free) => free,
        Err(SlotError::Unavailable { .. }) => return Ok(None),
        Err(other) => return Err(bad_slot(&other)),
    };
    let staff_id = if business_wide {
        None
    } else if let Some(preferred) = target.prefer.filter(|p| free.contains(p)) {
        Some(preferred)
    } else {
        let date = target.start.with_timezone(&catalog.timezone).date_naive();
        choose_staff(&free, |staff_id| {
            allocations
                .iter()
                .filter(|a| {
                    a.resource_id == staff_id
                        && a.is_live(now)
                        && a.placement
                            .start
                            .with_timezone(&catalog.timezone)
                            .date_naive()
                            == date
                })
                .count()
        })
    };
    let rules = &target.service.rules;
    Ok(Some(Placement {
        staff_id,
        start: target.start,
        end: target.start + TimeDelta::minutes(i64::from(rules.duration_minutes)),
        buffer_before_minutes: rules.buffer_before_minutes,
        buffer_after_minutes: rules.buffer_after_minutes,
    }))
}

pub(super) fn new_request(
    catalog: &BusinessCatalog,
    booking_id: Uuid,
    service: &CatalogService,
    requested_staff_id: Option<Uuid>,
    client_id: Option<Uuid>,
    placement: Placement,
) -> SlotRequest {
    SlotRequest {
        booking_id,
        business_id: catalog.business_id,
        service_id: service.id,
        requested_staff_id,
        client_id,
        placement,
    }
}

/// The nearest free slots for the same service (and staff member, when one was asked for).
pub(crate) fn alternatives(
    target_catalog: &BusinessCatalog,
    service: &CatalogService,
    staff_id: Option<Uuid>,
    own: Option<Uuid>,
    allocations: &[Allocation],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Alternative> {
    let business_wide = target_catalog.business_wide();
    let busy: Vec<BusyInterval> = allocations
        .iter()
        .filter(|a| a.is_live(now) && Some(a.booking_id) != own)
        .map(|a| a.busy(business_wide))
        .collect();
    let performers = match (target_catalog.performers(service.id), staff_id) {
        (Performers::Staff(list), Some(id)) => {
            Performers::Staff(list.into_iter().filter(|s| s.staff_id == id).collect())
        }
        (performers, _) => performers,
    };
    let query = target_catalog.query(&service.rules, &performers, &busy, now);
    nearest_alternatives(&query, start, ALTERNATIVES)
        .into_iter()
        .map(|slot| Alternative {
            start: slot.start,
            end: slot.end,
            staff_ids: slot.staff_ids,
        })
        .collect()
}
