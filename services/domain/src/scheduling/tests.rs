//! Tests of the slot engine: a `Given` fixture, then DST, rule, check and property tests in submodules.
//! Expected instants are written by hand from the zone rules, never computed by the code under test.

mod checks;
mod dst;

mod properties;
mod rules;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use uuid::Uuid;

use super::{
    BusyInterval, DateOverrides, LocalInterval, Performers, ServiceRules, Slot, SlotQuery,
    WeeklyHours, available_slots,
};

const ALL_WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// An instant written as RFC 3339.
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Several instants written as RFC 3339.
fn instants(texts: &[&str]) -> Vec<DateTime<Utc>> {
    texts.iter().map(|text| at(text)).collect()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap()
}

fn intervals(pairs: &[(&str, &str)]) -> Vec<LocalInterval> {
    pairs
        .iter()
        .map(|(open, close)| LocalInterval::parse(open, close).unwrap())
        .collect()
}

fn staff(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn busy(resource: Option<Uuid>, start: &str, end: &str) -> BusyInterval {
    BusyInterval {
        resource,
        start: at(start),
        end: at(end),
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
    }
}

/// A business and a service, ready to be asked about slots.
struct Given {
    tz: Tz,
    weekly: WeeklyHours,
    overrides: DateOverrides,
    rules: ServiceRules,
    performers: Performers,
    busy: Vec<BusyInterval>,
    now: DateTime<Utc>,
}

impl Given {
    /// A business in `tz` open `hours` every day, a 60-minute service, no staff, `now` well before 2027.
    fn business(tz: &str, hours: &[(&str, &str)]) -> Self {
        let weekly =
            WeeklyHours::new(ALL_WEEK.iter().map(|weekday| (*weekday, intervals(hours)))).unwrap();
        Self {
            tz: zone(tz),
            weekly,
            overrides: DateOverrides::none(),
            rules: ServiceRules {
                horizon_days: 1000,
                ..ServiceRules::new(60)
            },
            performers: Performers::Business,
            busy: Vec::new(),
            now: at("2026-06-01T00:00:00Z"),
        }
    }

    fn query(&self, from: &str, to: &str) -> SlotQuery<'_> {
        SlotQuery {
            tz: self.tz,
            weekly: &self.weekly,
            overrides: &self.overrides,
            rules: &self.rules,
            performers: &self.performers,
            busy: &self.busy,
            now: self.now,
            from_date: day(from),
            to_date: day(to),
        }
    }

    fn slots(&self, from: &str, to: &str) -> Vec<Slot> {
        available_slots(&self.query(from, to))
    }

    /// The slot starts on one business-local date.
    fn starts_on(&self, date: &str) -> Vec<DateTime<Utc>> {
        self.slots(date, date)
            .into_iter()
            .map(|slot| slot.start)
            .collect()
    }
}
