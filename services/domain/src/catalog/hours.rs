//! Opening-hours specs as stored in events (`"mon": [["09:00","17:00"]]`, `"2027-12-25": []`) ↔ the
//! validated types of the slot engine. Validation is the slot engine's own (`WeeklyHours`, `LocalInterval`),
//! so hours mean the same thing everywhere.

use chrono::{NaiveDate, Weekday};
use events::catalog::{Intervals, OverridesSpec, WeeklySpec};

use crate::scheduling::{DateOverrides, HoursError, LocalInterval, WeeklyHours};

/// Why an hours spec was refused (a client error: 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursSpecError {
    #[error(transparent)]
    Hours(#[from] HoursError),
    #[error("bad date {0:?}: expected YYYY-MM-DD")]
    BadDate(String),
}

const KEYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// Parses one day's `[["09:00","17:00"], …]`.
pub fn intervals_from_spec(spec: &Intervals) -> Result<Vec<LocalInterval>, HoursError> {
    spec.iter()
        .map(|[open, close]| LocalInterval::parse(open, close))
        .collect()
}

/// Canonical spec form of validated intervals.
pub fn intervals_to_spec(intervals: &[LocalInterval]) -> Intervals {
    intervals
        .iter()
        .map(|i| [i.open().to_string(), i.close().to_string()])
        .collect()
}

/// Validates a weekly spec: weekday keys `mon`…`sun` (or full names), `HH:MM` times, close after open,
/// no overlaps within a day.
pub fn weekly_from_spec(spec: &WeeklySpec) -> Result<WeeklyHours, HoursError> {
    let mut hours = WeeklyHours::closed();
    for (key, intervals) in spec {
        let weekday: Weekday = key
            .parse()
            .map_err(|_| HoursError::BadWeekday(key.clone()))?;
        hours.set(weekday, intervals_from_spec(intervals)?)?;
    }
    Ok(hours)
}

/// The canonical spec of validated hours: all seven keys, sorted intervals.
pub fn weekly_to_spec(hours: &WeeklyHours) -> WeeklySpec {
    KEYS.iter()
        .map(|(key, weekday)| ((*key).to_owned(), intervals_to_spec(hours.day(*weekday))))
        .collect()
}

/// Validates per-date overrides.
pub fn overrides_from_spec(spec: &OverridesSpec) -> Result<DateOverrides, HoursSpecError> {
    let mut overrides = DateOverrides::none();
    for (date, intervals) in spec {
        let day: NaiveDate = date
            .parse()
            .map_err(|_| HoursSpecError::BadDate(date.clone()))?;
        overrides.set(day, intervals_from_spec(intervals)?)?;
    }
    Ok(overrides)
}

/// The canonical spec of validated overrides.
pub fn overrides_to_spec(overrides: &DateOverrides) -> OverridesSpec {
    overrides
        .iter()
        .map(|(date, intervals)| (date.to_string(), intervals_to_spec(intervals)))
        .collect()
}
