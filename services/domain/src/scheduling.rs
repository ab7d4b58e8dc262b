//! The slot engine (DESIGN.md §7): pure functions from opening hours, staff schedules, service rules, busy
//! intervals and `now` to bookable slots. No I/O and no clock: time comes in as an argument.
//!
//! - [`hours`]: wall-clock hours (`WallTime`, `LocalInterval`, `WeeklyHours`, `DateOverrides`), validated.
//! - [`resolve`]: local → UTC under the DST rule of §7 rule 2, merged opening windows, the per-date view.
//! - [`engine`]: the grid and [`available_slots`]; [`check`]: [`check_bookable`] and [`nearest_alternatives`].

pub mod busy;
pub mod check;
pub mod engine;
pub mod hours;
pub mod resolve;

pub use busy::BusyInterval;
pub use check::{
    ALTERNATIVE_SEARCH_DAYS, SlotError, check_bookable, is_on_grid, nearest_alternatives,
};
pub use engine::{
    MAX_DATES_PER_QUERY, Performers, ServiceRules, Slot, SlotQuery, StaffSchedule, available_slots,
};
pub use hours::{DateOverrides, HoursError, LocalInterval, WallTime, WeeklyHours, hours_on};
pub use resolve::{
    BadInstant, ResolvedDay, UtcInterval, local_to_utc, parse_local_or_rfc3339, resolve_days,
    resolve_open_intervals, start_of_local_date,
};

#[cfg(test)]
mod tests;
