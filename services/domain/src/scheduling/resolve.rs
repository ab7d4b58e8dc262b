//! Local wall-clock → UTC (§7 rule 2: a gap uses the offset before it, a repeated time its first occurrence)
//! and the merged UTC opening windows built from weekly hours and overrides.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::hours::{DateOverrides, LocalInterval, WallTime, WeeklyHours, hours_on};

/// A half-open UTC interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UtcInterval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl UtcInterval {
    /// Whether `[start, end)` lies entirely inside this interval.
    pub fn contains(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start <= start && end <= self.end
    }
}

/// One business-local date with its wall-clock hours and what they mean in UTC (for the hours endpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedDay {
    pub date: NaiveDate,
    /// `("09:00", "17:00")` pairs as configured for this date (override or weekly).
    pub local: Vec<(String, String)>,
    /// The same intervals in UTC, in order; an interval that collapses to nothing across a DST gap is left out.
    pub utc: Vec<UtcInterval>,
}

/// The input was neither RFC 3339 nor a business-local `YYYY-MM-DDTHH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 instant or a local YYYY-MM-DDTHH:MM time: {0:?}")]
pub struct BadInstant(pub String);

/// Converts a business-local wall-clock time to UTC under §7 rule 2.
///
/// chrono answers `None` inside a spring-forward gap and `Ambiguous` in a repeated hour; both are handled here,
/// so this never fails: New York 2027-03-14 02:30 → 07:30Z (03:30 EDT), 2027-11-07 01:30 → 05:30Z (EDT).
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => instant.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => first.min(second).with_timezone(&Utc),
        LocalResult::None => in_gap_with_offset_before(tz, local),
    }
}

/// Reads `local` with the UTC offset that was in force just before the gap that swallowed it.
fn in_gap_with_offset_before(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // Walking back in 15-minute steps reaches the last existing local time before the gap within
    // gap/15 steps; its offset is the one before the gap. Two days covers every gap in the tz database
    // (the longest, Samoa 2011, skipped one day).
    let step = TimeDelta::minutes(15);
    let mut probe = local;
    for _ in 0..(4 * 24 * 2) {
        let Some(earlier) = probe.checked_sub_signed(step) else {
            break;
        };
        probe = earlier;
        if let Some(before) = tz.from_local_datetime(&probe).latest() {
            let offset = TimeDelta::seconds(i64::from(before.offset().fix().local_minus_utc()));
            return Utc.from_utc_datetime(&local.checked_sub_signed(offset).unwrap_or(local));
        }
    }
    // Only reachable at the ends of chrono's calendar.
    Utc.from_utc_datetime(&local)
}

/// The instant local midnight starts `date` (itself resolved under rule 2).
pub fn start_of_local_date(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_to_utc(tz, date.and_time(NaiveTime::MIN))
}

/// `time` on `date` as a local date-time; `24:00` becomes the next day's midnight (`None` past the calendar's end).
fn wall_on(date: NaiveDate, time: WallTime) -> Option<NaiveDateTime> {
    date.and_time(NaiveTime::MIN)
        .checked_add_signed(TimeDelta::minutes(i64::from(time.minutes())))
}

/// One local interval on `date` in UTC, or `None` when a DST gap makes it empty.
pub fn interval_to_utc(tz: Tz, date: NaiveDate, interval: LocalInterval) -> Option<UtcInterval> {
    let start = local_to_utc(tz, wall_on(date, interval.open())?);
    let end = local_to_utc(tz, wall_on(date, interval.close())?);
    (start < end).then_some(UtcInterval { start, end })
}

/// Dates `from..=to` (empty when `to < from`).
pub(crate) fn dates(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |date| *date <= to)
}

/// Sorts and merges intervals that overlap or touch.
pub(crate) fn merge(mut intervals: Vec<UtcInterval>) -> Vec<UtcInterval> {
    intervals.sort_unstable();
    let mut merged: Vec<UtcInterval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => merged.push(interval),
        }
    }
    merged
}

/// The opening windows of business-local dates `from..=to` in UTC, merged where they touch or overlap
/// (also across dates: Fri 22:00–24:00 + Sat 00:00–02:00 is one window).
pub fn resolve_open_intervals(
    tz: Tz,
    weekly: &WeeklyHours,
    overrides: &DateOverrides,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<UtcInterval> {
    let intervals = dates(from, to)
        .flat_map(|date| {
            hours_on(weekly, overrides, date)
                .iter()
                .filter_map(move |interval| interval_to_utc(tz, date, *interval))
        })
        .collect();
    merge(intervals)
}

/// Per-date view of `from..=to`: the wall-clock hours that apply and their UTC meaning (not merged across dates).
pub fn resolve_days(
    tz: Tz,
    weekly: &WeeklyHours,
    overrides: &DateOverrides,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<ResolvedDay> {
    dates(from, to)
        .map(|date| {
            let intervals = hours_on(weekly, overrides, date);
            ResolvedDay {
                date,
                local: intervals
                    .iter()
                    .map(|interval| (interval.open().to_string(), interval.close().to_string()))
                    .collect(),
                utc: intervals
                    .iter()
                    .filter_map(|interval| interval_to_utc(tz, date, *interval))
                    .collect(),
            }
        })
        .collect()
}

/// Parses an RFC 3339 instant, or a business-local `YYYY-MM-DDTHH:MM[:SS]` resolved under §7 rule 2.
pub fn parse_local_or_rfc3339(text: &str, tz: Tz) -> Result<DateTime<Utc>, BadInstant> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .map(|local| local_to_utc(tz, local))
    .ok_or_else(|| BadInstant(text.to_owned()))
}
