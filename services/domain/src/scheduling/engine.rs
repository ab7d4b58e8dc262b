//! Slot generation (§7 rules 3–6): the elapsed-time grid anchored at merged windows, notice, horizon, busy
//! intervals with buffers, and which staff members are free.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::busy::{BusyIndex, BusyInterval, Seconds, minutes};
use super::hours::{DateOverrides, LocalInterval, WeeklyHours, hours_on};
use super::resolve::{
    UtcInterval, dates, interval_to_utc, merge, resolve_open_intervals, start_of_local_date,
};

/// A merged window that began more than this many days before a date is anchored at that date's local
/// midnight instead of its own start. Without it a business open around the clock would have no anchor;
/// with it the grid of a date depends only on the schedule, never on the range asked for.
const ANCHOR_LOOKBACK_DAYS: i64 = 7;

/// At most this many dates are listed per call, so a careless range or horizon cannot run for ages; callers
/// page through longer ranges.
pub const MAX_DATES_PER_QUERY: i64 = 400;

/// The booking rules of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRules {
    pub duration_minutes: u32,
    /// Distance between candidate starts; `None` (or 0) means the duration.
    pub step_minutes: Option<u32>,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub min_notice_minutes: u32,
    pub horizon_days: u32,
}

impl ServiceRules {
    /// Rules for a service of `duration_minutes`: step = duration, no buffers, no notice, 60-day horizon.
    pub fn new(duration_minutes: u32) -> Self {
        Self {
            duration_minutes,
            step_minutes: None,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            min_notice_minutes: 0,
            horizon_days: 60,
        }
    }

    /// The effective step in minutes.
    pub fn step(&self) -> u32 {
        match self.step_minutes {
            Some(step) if step > 0 => step,
            _ => self.duration_minutes,
        }
    }

    /// How far before and after its start a slot of this service blocks: its buffer before, and its
    /// duration plus its buffer after.
    pub fn blocks_around_start(&self) -> (TimeDelta, TimeDelta) {
        (
            minutes(self.buffer_before_minutes),
            minutes(self.duration_minutes) + minutes(self.buffer_after_minutes),
        )
    }
}

/// One staff member's working time. Whether they perform the service is the caller's decision: pass only
/// qualified staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSchedule {
    pub staff_id: Uuid,
    /// `None` = works the business hours (including the business's date overrides).
    pub weekly: Option<WeeklyHours>,
    /// Replace this staff member's hours on a date (empty = off that day).
    pub overrides: DateOverrides,
}

impl StaffSchedule {
    /// A staff member who works whenever the business is open.
    pub fn business_hours(staff_id: Uuid) -> Self {
        Self {
            staff_id,
            weekly: None,
            overrides: DateOverrides::none(),
        }
    }

    fn follows_business(&self) -> bool {
        self.weekly.is_none() && self.overrides.is_empty()
    }

    fn hours_on<'a>(
        &'a self,
        business: &'a WeeklyHours,
        business_overrides: &'a DateOverrides,
        date: NaiveDate,
    ) -> &'a [LocalInterval] {
        match (self.overrides.get(date), &self.weekly) {
            (Some(intervals), _) => intervals,
            (None, Some(weekly)) => weekly.day(date.weekday()),
            (None, None) => hours_on(business, business_overrides, date),
        }
    }
}

/// Who can be booked for the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Performers {
    /// The business has no staff: it is the only resource, and every busy interval blocks it.
    Business,
    /// The qualified staff; an empty list offers nothing.
    Staff(Vec<StaffSchedule>),
}

/// Everything the engine needs for one question. Borrowed so a caller can ask many questions of one load.
#[derive(Debug, Clone, Copy)]
pub struct SlotQuery<'a> {
    pub tz: Tz,
    pub weekly: &'a WeeklyHours,
    pub overrides: &'a DateOverrides,
    pub rules: &'a ServiceRules,
    pub performers: &'a Performers,
    /// Blocking intervals; any order.
    pub busy: &'a [BusyInterval],
    pub now: DateTime<Utc>,
    /// First business-local date to list (inclusive).
    pub from_date: NaiveDate,
    /// Last business-local date to list (inclusive).
    pub to_date: NaiveDate,
}

/// A bookable slot: `[start, end)` and the free staff (sorted; empty for a business without staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub staff_ids: Vec<Uuid>,
}

/// `date` moved by `days`, saturating at the ends of chrono's calendar.
pub(crate) fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(TimeDelta::days(days))
        .unwrap_or(date)
}

/// The business-local date of an instant.
pub(crate) fn local_date(tz: Tz, instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// A window as unix seconds `[start, end)`.
type Span = (Seconds, Seconds);

fn spans(windows: &[UtcInterval]) -> Vec<Span> {
    windows
        .iter()
        .map(|window| (window.start.timestamp(), window.end.timestamp()))
        .collect()
}

/// One staff member's merged working windows; `None` = same as the business windows.
struct StaffWindows {
    staff_id: Uuid,
    windows: Option<Vec<Span>>,
}

/// Whether `[start, end)` lies inside one of the sorted, disjoint `windows`.
fn inside(windows: &[Span], start: Seconds, end: Seconds) -> bool {
    let after = windows.partition_point(|window| window.0 <= start);
    after > 0 && windows[after - 1].1 >= end
}

/// The merged working windows of `schedule` around `from..=to`, or `None` when they are the business's.
fn staff_windows(
    query: &SlotQuery<'_>,
    schedule: &StaffSchedule,
    from: NaiveDate,
    to: NaiveDate,
) -> Option<Vec<Span>> {
    if schedule.follows_business() {
        return None;
    }
    let tz = query.tz;
    let intervals = dates(shift(from, -1), shift(to, 2))
        .flat_map(|date| {
            schedule
                .hours_on(query.weekly, query.overrides, date)
                .iter()
                .filter_map(move |interval| interval_to_utc(tz, date, *interval))
        })
        .collect();
    Some(spans(&merge(intervals)))
}

/// The prepared state for questions about business-local dates `from..=to`.
pub(crate) struct Engine<'q> {
    query: &'q SlotQuery<'q>,
    /// Business windows from `from − lookback − 1` to `to + 2`, merged.
    windows: Vec<UtcInterval>,
    window_spans: Vec<Span>,
    /// Sorted by id, without duplicates; the busy index is parallel to it.
    staff: Vec<StaffWindows>,
    busy: BusyIndex,
    duration: TimeDelta,
    step: TimeDelta,
}

impl<'q> Engine<'q> {
    pub(crate) fn new(query: &'q SlotQuery<'q>, from: NaiveDate, to: NaiveDate) -> Self {
        let windows = resolve_open_intervals(
            query.tz,
            query.weekly,
            query.overrides,
            shift(from, -ANCHOR_LOOKBACK_DAYS - 1),
            shift(to, 2),
        );
        let (staff, busy) = match query.performers {
            Performers::Business => (Vec::new(), BusyIndex::for_business(query.busy)),
            Performers::Staff(list) => {
                let mut sorted: Vec<&StaffSchedule> = list.iter().collect();
                sorted.sort_by_key(|schedule| schedule.staff_id);
                sorted.dedup_by_key(|schedule| schedule.staff_id);
                let ids: Vec<Uuid> = sorted.iter().map(|schedule| schedule.staff_id).collect();
                let staff = sorted
                    .into_iter()
                    .map(|schedule| StaffWindows {
                        staff_id: schedule.staff_id,
                        windows: staff_windows(query, schedule, from, to),
                    })
                    .collect();
                (staff, BusyIndex::for_staff(query.busy, &ids))
            }
        };
        Self {
            query,
            window_spans: spans(&windows),
            windows,
            staff,
            busy,
            duration: minutes(query.rules.duration_minutes),
            step: minutes(query.rules.step()),
        }
    }

    /// The grid candidates `(start, end)` whose start falls on business-local `date`, in order, before
    /// notice, horizon and busy intervals are applied.
    pub(crate) fn candidates_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut candidates = Vec::new();
        if self.duration <= TimeDelta::zero() {
            return candidates;
        }
        let tz = self.query.tz;
        let day_start = start_of_local_date(tz, date);
        let day_end = start_of_local_date(tz, shift(date, 1));
        let anchor_limit = start_of_local_date(tz, shift(date, -ANCHOR_LOOKBACK_DAYS));
        let first = self
            .windows
            .partition_point(|window| window.end <= day_start);
        let step_seconds = self.step.num_seconds();
        for window in self.windows[first..]
            .iter()
            .take_while(|window| window.start < day_end)
        {
            let anchor = if window.start >= anchor_limit {
                window.start
            } else {
                day_start
            };
            let lowest = window.start.max(day_start);
            // First k with anchor + k·step ≥ lowest (ceiling division; the difference is never negative).
            let behind = (lowest - anchor).num_seconds();
            let mut start = anchor
                + TimeDelta::seconds((behind + step_seconds - 1) / step_seconds * step_seconds);
            while start < day_end && start + self.duration <= window.end {
                candidates.push((start, start + self.duration));
                start += self.step;
            }
        }
        candidates
    }

    /// Whether `[start, end)` lies inside one merged business window.
    pub(crate) fn in_hours(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        inside(&self.window_spans, start.timestamp(), end.timestamp())
    }

    /// Whether `staff_id` is one of the performers.
    pub(crate) fn performs(&self, staff_id: Uuid) -> bool {
        self.staff
            .binary_search_by_key(&staff_id, |member| member.staff_id)
            .is_ok()
    }

    /// Who is free for `[start, end)`: `None` if nobody (the slot is not offered), `Some(vec![])` for a free
    /// business without staff, else the free staff ids, sorted.
    pub(crate) fn free_for(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Vec<Uuid>> {
        let rules = self.query.rules;
        let (start, end) = (start.timestamp(), end.timestamp());
        let blocked_from = start - i64::from(rules.buffer_before_minutes) * 60;
        let blocked_to = end + i64::from(rules.buffer_after_minutes) * 60;
        if self.busy.everyone.overlaps(blocked_from, blocked_to) {
            return None;
        }
        match self.query.performers {
            Performers::Business => Some(Vec::new()),
            Performers::Staff(_) => {
                let free: Vec<Uuid> = self
                    .staff
                    .iter()
                    .enumerate()
                    .filter(|(_, member)| {
                        inside(
                            member.windows.as_deref().unwrap_or(&self.window_spans),
                            start,
                            end,
                        )
                    })
                    .filter(|(index, _)| {
                        !self.busy.staff_overlaps(*index, blocked_from, blocked_to)
                    })
                    .map(|(_, member)| member.staff_id)
                    .collect();
                (!free.is_empty()).then_some(free)
            }
        }
    }
}

/// The earliest start allowed by the minimum notice (inclusive) and the first start the horizon excludes.
pub(crate) fn bookable_range(query: &SlotQuery<'_>) -> (DateTime<Utc>, DateTime<Utc>) {
    let later = |by: TimeDelta| {
        query
            .now
            .checked_add_signed(by)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    let earliest = later(minutes(query.rules.min_notice_minutes));
    let horizon = later(TimeDelta::days(i64::from(query.rules.horizon_days)));
    (earliest, horizon)
}

/// The bookable slots whose start falls on business-local dates `from_date..=to_date` (at most
/// [`MAX_DATES_PER_QUERY`] dates from the first that can hold a slot), sorted by start (§7).
pub fn available_slots(query: &SlotQuery<'_>) -> Vec<Slot> {
    let (earliest, horizon) = bookable_range(query);
    // Dates wholly before the notice or after the horizon cannot hold a slot; skipping them also keeps an
    // absurd range from costing anything.
    let from = query.from_date.max(local_date(query.tz, earliest));
    let to = query
        .to_date
        .min(local_date(query.tz, horizon))
        .min(shift(from, MAX_DATES_PER_QUERY - 1));
    if to < from {
        return Vec::new();
    }
    let engine = Engine::new(query, from, to);
    let mut slots = Vec::new();
    for date in dates(from, to) {
        for (start, end) in engine.candidates_on(date) {
            if start < earliest || start >= horizon {
                continue;
            }
            if let Some(staff_ids) = engine.free_for(start, end) {
                slots.push(Slot {
                    start,
                    end,
                    staff_ids,
                });
            }
        }
    }
    slots
}
