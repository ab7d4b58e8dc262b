//! Questions booking asks about one start: is it bookable (and with whom), is it on the grid, and what are
//! the nearest alternatives when it is not.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::busy::minutes;
use super::engine::{Engine, Slot, SlotQuery, available_slots, bookable_range, local_date, shift};

/// Why a start cannot be booked. `Unavailable` means "taken" (409 with alternatives); every other variant is
/// bad input (4xx, nothing appended).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("{start} is in the past")]
    InPast { start: DateTime<Utc> },
    #[error("{start} is sooner than the minimum notice allows (earliest {earliest})")]
    TooSoon {
        start: DateTime<Utc>,
        earliest: DateTime<Utc>,
    },
    #[error("{start} is beyond the booking horizon (must start before {horizon})")]
    OutsideHorizon {
        start: DateTime<Utc>,
        horizon: DateTime<Utc>,
    },
    #[error("{start} is outside opening hours")]
    OutsideHours { start: DateTime<Utc> },
    #[error("{start} is not on the slot grid")]
    OffGrid { start: DateTime<Utc> },
    #[error("staff member {staff_id} does not perform this service")]
    StaffNotEligible { staff_id: Uuid },
    #[error("{start} is not available")]
    Unavailable { start: DateTime<Utc> },
}

/// Checks that `start` is bookable now: within notice and horizon, inside opening hours, on the grid, and
/// free — for `staff_id` if given, else for anyone. Returns the free staff ids (sorted; `[staff_id]` when one
/// was asked for; empty for a business without staff). `from_date`/`to_date` of the query are ignored.
pub fn check_bookable(
    query: &SlotQuery<'_>,
    start: DateTime<Utc>,
    staff_id: Option<Uuid>,
) -> Result<Vec<Uuid>, SlotError> {
    let (earliest, horizon) = bookable_range(query);
    if start < query.now {
        return Err(SlotError::InPast { start });
    }
    if start < earliest {
        return Err(SlotError::TooSoon { start, earliest });
    }
    if start >= horizon {
        return Err(SlotError::OutsideHorizon { start, horizon });
    }
    let date = local_date(query.tz, start);
    let engine = Engine::new(query, date, date);
    let end = start
        .checked_add_signed(minutes(query.rules.duration_minutes))
        .ok_or(SlotError::OutsideHours { start })?;
    if !engine.in_hours(start, end) {
        return Err(SlotError::OutsideHours { start });
    }
    if !engine
        .candidates_on(date)
        .iter()
        .any(|(candidate, _)| *candidate == start)
    {
        return Err(SlotError::OffGrid { start });
    }
    if let Some(staff_id) = staff_id
        && !engine.performs(staff_id)
    {
        return Err(SlotError::StaffNotEligible { staff_id });
    }
    let free = engine
        .free_for(start, end)
        .ok_or(SlotError::Unavailable { start })?;
    match staff_id {
        None => Ok(free),
        Some(staff_id) if free.contains(&staff_id) => Ok(vec![staff_id]),
        Some(_) => Err(SlotError::Unavailable { start }),
    }
}

/// Whether `start` is a grid candidate of its business-local date (inside hours, on the step grid), ignoring
/// notice, horizon and busy intervals.
pub fn is_on_grid(query: &SlotQuery<'_>, start: DateTime<Utc>) -> bool {
    let date = local_date(query.tz, start);
    Engine::new(query, date, date)
        .candidates_on(date)
        .iter()
        .any(|(candidate, _)| *candidate == start)
}

/// How many days after the requested one are searched for alternatives (the horizon may end sooner).
pub const ALTERNATIVE_SEARCH_DAYS: i64 = 90;

/// Days searched per pass when looking for alternatives on following days.
const ALTERNATIVE_CHUNK_DAYS: i64 = 7;

/// Up to `limit` free slots near `requested_start` for the same query: that business-local day first, nearest
/// first (earlier wins a tie), then the following days in time order up to the horizon (at most
/// [`ALTERNATIVE_SEARCH_DAYS`] days on).
pub fn nearest_alternatives(
    query: &SlotQuery<'_>,
    requested_start: DateTime<Utc>,
    limit: usize,
) -> Vec<Slot> {
    if limit == 0 {
        return Vec::new();
    }
    let date = local_date(query.tz, requested_start);
    let same_day = SlotQuery {
        from_date: date,
        to_date: date,
        ..*query
    };
    let mut alternatives = available_slots(&same_day);
    alternatives.sort_by_key(|slot| ((slot.start - requested_start).abs(), slot.start));
    alternatives.truncate(limit);

    let (_, horizon) = bookable_range(query);
    let last = local_date(query.tz, horizon).min(shift(date, ALTERNATIVE_SEARCH_DAYS));
    let mut from = shift(date, 1);
    while alternatives.len() < limit && from <= last && from > date {
        let to = shift(from, ALTERNATIVE_CHUNK_DAYS - 1).min(last);
        let chunk = SlotQuery {
            from_date: from,
            to_date: to,
            ..*query
        };
        let needed = limit - alternatives.len();
        alternatives.extend(available_slots(&chunk).into_iter().take(needed));
        let next = shift(to, 1);
        if next <= to {
            break;
        }
        from = next;
    }
    alternatives
}
