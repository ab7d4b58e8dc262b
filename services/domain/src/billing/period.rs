//! A billing period: one UTC calendar month, written `YYYY-MM`.

use std::fmt;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

/// A UTC calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    first: NaiveDate,
}

/// Why a period string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("period must be a month written YYYY-MM between 2000-01 and 2999-12, got {0:?}")]
pub struct PeriodError(pub String);

impl Period {
    /// Parses `YYYY-MM` strictly (no day, no sign, two-digit month).
    pub fn parse(text: &str) -> Result<Self, PeriodError> {
        let error = || PeriodError(text.chars().take(40).collect());
        let bytes = text.as_bytes();
        if bytes.len() != 7 || bytes[4] != b'-' {
            return Err(error());
        }
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let (year, month) = (&text[..4], &text[5..]);
        if !digits(year) || !digits(month) {
            return Err(error());
        }
        let year: i32 = year.parse().map_err(|_| error())?;
        let month: u32 = month.parse().map_err(|_| error())?;
        if !(2000..=2999).contains(&year) {
            return Err(error());
        }
        NaiveDate::from_ymd_opt(year, month, 1)
            .map(|first| Self { first })
            .ok_or_else(error)
    }

    /// The period an instant falls in.
    pub fn of(at: DateTime<Utc>) -> Self {
        Self::containing(at.date_naive())
    }

    /// The period a UTC date falls in.
    pub fn containing(day: NaiveDate) -> Self {
        Self {
            first: day.with_day(1).unwrap_or(day),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    /// The first day of the next period.
    pub fn next_first_day(self) -> NaiveDate {
        self.first
            .checked_add_months(Months::new(1))
            .unwrap_or(NaiveDate::MAX)
    }

    pub fn last_day(self) -> NaiveDate {
        self.next_first_day().pred_opt().unwrap_or(self.first)
    }

    /// Number of days in the month (28–31).
    pub fn days(self) -> i64 {
        (self.next_first_day() - self.first).num_days()
    }

    /// The first instant of the period.
    pub fn start(self) -> DateTime<Utc> {
        self.first.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The first instant after the period.
    pub fn end(self) -> DateTime<Utc> {
        self.next_first_day()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    }

    pub fn contains_day(self, day: NaiveDate) -> bool {
        self.first <= day && day < self.next_first_day()
    }

    /// Every day of the period, in order.
    pub fn each_day(self) -> impl Iterator<Item = NaiveDate> {
        self.first
            .iter_days()
            .take_while(move |d| self.contains_day(*d))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}
