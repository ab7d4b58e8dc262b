//! Wall-clock opening hours: times of day, intervals, the weekly pattern and per-date overrides (§7 rule 1).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Why a set of opening hours was refused. Every variant is a client error (the API answers 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// A time of day is not `HH:MM` between `00:00` and `24:00`.
    #[error("bad time of day {0:?}: expected HH:MM between 00:00 and 24:00")]
    BadTime(String),
    /// An interval closes at or before it opens (hours across midnight are two intervals on two days).
    #[error("interval {open}–{close} closes at or before it opens")]
    CloseNotAfterOpen { open: WallTime, close: WallTime },
    /// Two intervals of the same day overlap (touching is fine).
    #[error("intervals {first} and {second} overlap on {day}")]
    Overlapping {
        day: String,
        first: LocalInterval,
        second: LocalInterval,
    },
    /// A weekday key is not one of mon…sun.
    #[error("unknown weekday {0:?}")]
    BadWeekday(String),
}

/// A wall-clock time of day as minutes since local midnight, `0..=1440`; 1440 is `24:00` (a valid close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WallTime(u16);

impl WallTime {
    /// Midnight at the start of the day.
    pub const MIDNIGHT: Self = Self(0);
    /// `24:00`, midnight at the end of the day.
    pub const END_OF_DAY: Self = Self(1440);

    /// A time from hours and minutes; `24:00` is allowed, anything later is not.
    pub fn from_hm(hours: u16, minutes: u16) -> Result<Self, HoursError> {
        let total = u32::from(hours) * 60 + u32::from(minutes);
        match u16::try_from(total) {
            Ok(total) if minutes < 60 && total <= 1440 => Ok(Self(total)),
            _ => Err(HoursError::BadTime(format!("{hours:02}:{minutes:02}"))),
        }
    }

    /// A time from minutes since midnight (`0..=1440`).
    pub fn from_minutes(minutes: u16) -> Result<Self, HoursError> {
        if minutes > 1440 {
            return Err(HoursError::BadTime(format!("{minutes} minutes")));
        }
        Ok(Self(minutes))
    }

    /// Parses strict `HH:MM` (two digits each), including `24:00`.
    pub fn parse(text: &str) -> Result<Self, HoursError> {
        let bad = || HoursError::BadTime(text.to_owned());
        let bytes = text.as_bytes();
        if bytes.len() != 5 || bytes[2] != b':' {
            return Err(bad());
        }
        let digits = |at: usize| -> Result<u16, HoursError> {
            let (tens, ones) = (bytes[at], bytes[at + 1]);
            if tens.is_ascii_digit() && ones.is_ascii_digit() {
                Ok(u16::from(tens - b'0') * 10 + u16::from(ones - b'0'))
            } else {
                Err(bad())
            }
        };
        Self::from_hm(digits(0)?, digits(3)?).map_err(|_| bad())
    }

    /// Minutes since local midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl TryFrom<String> for WallTime {
    type Error = HoursError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<WallTime> for String {
    fn from(time: WallTime) -> Self {
        time.to_string()
    }
}

/// A half-open wall-clock interval `[open, close)` on one local date; `open < close` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawInterval", into = "RawInterval")]
pub struct LocalInterval {
    open: WallTime,
    close: WallTime,
}

#[derive(Serialize, Deserialize)]
struct RawInterval {
    open: WallTime,
    close: WallTime,
}

impl LocalInterval {
    /// An interval; refused unless `open < close`.
    pub fn new(open: WallTime, close: WallTime) -> Result<Self, HoursError> {
        if open >= close {
            return Err(HoursError::CloseNotAfterOpen { open, close });
        }
        Ok(Self { open, close })
    }

    /// Parses `("09:00", "17:00")`.
    pub fn parse(open: &str, close: &str) -> Result<Self, HoursError> {
        Self::new(WallTime::parse(open)?, WallTime::parse(close)?)
    }

    /// Opening time.
    pub fn open(self) -> WallTime {
        self.open
    }

    /// Closing time (may be `24:00`).
    pub fn close(self) -> WallTime {
        self.close
    }
}

impl fmt::Display for LocalInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.open, self.close)
    }
}

impl TryFrom<RawInterval> for LocalInterval {
    type Error = HoursError;
    fn try_from(raw: RawInterval) -> Result<Self, Self::Error> {
        Self::new(raw.open, raw.close)
    }
}

impl From<LocalInterval> for RawInterval {
    fn from(interval: LocalInterval) -> Self {
        Self {
            open: interval.open,
            close: interval.close,
        }
    }
}

/// Sorts one day's intervals and refuses overlaps; `day` names the day in the error.
fn normalize_day(
    day: &str,
    mut intervals: Vec<LocalInterval>,
) -> Result<Vec<LocalInterval>, HoursError> {
    intervals.sort_unstable();
    for pair in intervals.windows(2) {
        if pair[1].open < pair[0].close {
            return Err(HoursError::Overlapping {
                day: day.to_owned(),
                first: pair[0],
                second: pair[1],
            });
        }
    }
    Ok(intervals)
}

/// Short lowercase weekday names, Monday first, as used in serialized hours.
const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The weekly pattern: for each weekday, sorted non-overlapping intervals (an empty day is closed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, Vec<LocalInterval>>",
    into = "BTreeMap<String, Vec<LocalInterval>>"
)]
pub struct WeeklyHours {
    days: [Vec<LocalInterval>; 7],
}

impl WeeklyHours {
    /// Hours closed every day.
    pub fn closed() -> Self {
        Self::default()
    }

    /// Validated hours from `(weekday, intervals)` pairs; weekdays not listed are closed.
    pub fn new(
        days: impl IntoIterator<Item = (Weekday, Vec<LocalInterval>)>,
    ) -> Result<Self, HoursError> {
        let mut hours = Self::default();
        for (weekday, intervals) in days {
            hours.set(weekday, intervals)?;
        }
        Ok(hours)
    }

    /// Parses `[(Mon, &[("09:00", "17:00")]), …]`; convenient for configuration and tests.
    pub fn parse(days: &[(Weekday, &[(&str, &str)])]) -> Result<Self, HoursError> {
        let mut hours = Self::default();
        for (weekday, intervals) in days {
            let parsed = intervals
                .iter()
                .map(|(open, close)| LocalInterval::parse(open, close))
                .collect::<Result<Vec<_>, _>>()?;
            hours.set(*weekday, parsed)?;
        }
        Ok(hours)
    }

    /// Replaces one weekday's intervals (validated).
    pub fn set(
        &mut self,
        weekday: Weekday,
        intervals: Vec<LocalInterval>,
    ) -> Result<(), HoursError> {
        let index = weekday.num_days_from_monday() as usize;
        self.days[index] = normalize_day(WEEKDAY_KEYS[index], intervals)?;
        Ok(())
    }

    /// The intervals of one weekday, sorted.
    pub fn day(&self, weekday: Weekday) -> &[LocalInterval] {
        &self.days[weekday.num_days_from_monday() as usize]
    }
}

impl TryFrom<BTreeMap<String, Vec<LocalInterval>>> for WeeklyHours {
    type Error = HoursError;
    fn try_from(map: BTreeMap<String, Vec<LocalInterval>>) -> Result<Self, Self::Error> {
        let mut hours = Self::default();
        for (key, intervals) in map {
            let weekday: Weekday = key
                .parse()
                .map_err(|_| HoursError::BadWeekday(key.clone()))?;
            hours.set(weekday, intervals)?;
        }
        Ok(hours)
    }
}

impl From<WeeklyHours> for BTreeMap<String, Vec<LocalInterval>> {
    fn from(hours: WeeklyHours) -> Self {
        WEEKDAY_KEYS
            .iter()
            .map(|key| (*key).to_owned())
            .zip(hours.days)
            .collect()
    }
}

/// Per-date replacements of the weekly hours; an empty list closes that date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<NaiveDate, Vec<LocalInterval>>",
    into = "BTreeMap<NaiveDate, Vec<LocalInterval>>"
)]
pub struct DateOverrides {
    dates: BTreeMap<NaiveDate, Vec<LocalInterval>>,
}

impl DateOverrides {
    /// No overrides.
    pub fn none() -> Self {
        Self::default()
    }

    /// Replaces the hours of `date` (validated); an empty list means closed that day.
    pub fn set(
        &mut self,
        date: NaiveDate,
        intervals: Vec<LocalInterval>,
    ) -> Result<(), HoursError> {
        let normalized = normalize_day(&date.to_string(), intervals)?;
        self.dates.insert(date, normalized);
        Ok(())
    }

    /// Builder form of [`DateOverrides::set`].
    pub fn with(
        mut self,
        date: NaiveDate,
        intervals: Vec<LocalInterval>,
    ) -> Result<Self, HoursError> {
        self.set(date, intervals)?;
        Ok(self)
    }

    /// The override for `date`, if any (`Some(&[])` = closed).
    pub fn get(&self, date: NaiveDate) -> Option<&[LocalInterval]> {
        self.dates.get(&date).map(Vec::as_slice)
    }

    /// Whether no date is overridden.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// All overrides in date order.
    pub fn iter(&self) -> impl Iterator<Item = (NaiveDate, &[LocalInterval])> {
        self.dates
            .iter()
            .map(|(date, intervals)| (*date, intervals.as_slice()))
    }
}

impl TryFrom<BTreeMap<NaiveDate, Vec<LocalInterval>>> for DateOverrides {
    type Error = HoursError;
    fn try_from(map: BTreeMap<NaiveDate, Vec<LocalInterval>>) -> Result<Self, Self::Error> {
        let mut overrides = Self::default();
        for (date, intervals) in map {
            overrides.set(date, intervals)?;
        }
        Ok(overrides)
    }
}

impl From<DateOverrides> for BTreeMap<NaiveDate, Vec<LocalInterval>> {
    fn from(overrides: DateOverrides) -> Self {
        overrides.dates
    }
}

/// The intervals that apply on `date`: the override if there is one, else the weekly pattern.
pub fn hours_on<'a>(
    weekly: &'a WeeklyHours,
    overrides: &'a DateOverrides,
    date: NaiveDate,
) -> &'a [LocalInterval] {
    overrides
        .get(date)
        .unwrap_or_else(|| weekly.day(date.weekday()))
}
