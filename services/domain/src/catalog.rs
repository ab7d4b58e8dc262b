//! Catalog decisions: money, opening-hours specs, services, staff and the phone-number pool. Pure.
//!
//! Each decision takes the current state (folded from the stream with [`events::Aggregate`]), a command
//! and `now`, and returns the events to append or a rule that was broken.

pub mod hours;
pub mod money;
pub mod number;
pub mod service;
pub mod staff;

#[cfg(test)]
mod tests;

pub use hours::{HoursSpecError, overrides_from_spec, weekly_from_spec, weekly_to_spec};
pub use money::{MoneyError, format_minor, minor_unit_digits, parse_price};
pub use number::{Number, NumberError, NumberStatus};
pub use service::{Service, ServiceError, ServiceInput};
pub use staff::{Staff, StaffError};
