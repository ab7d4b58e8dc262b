//! The tenancy and catalog events (DESIGN.md §6): users, businesses, services, staff and pool numbers.
//!
//! One enum per stream kind, serialized `#[serde(tag = "type", content = "data")]` so the variant name is
//! the stored `event_type`. Every event carries `occurred_at` and, when it belongs to a business, that
//! business's id (the tenant). Money is integer minor units with an ISO 4217 code; opening hours are
//! `"HH:MM"` pairs keyed by weekday (`mon`…`sun`) or by date, validated by `domain` before they are written.

pub mod business;
pub mod number;
pub mod service;
pub mod staff;
pub mod user;

use std::collections::BTreeMap;

pub use business::{AgentSettings, BusinessEvent, Role};
pub use number::NumberEvent;
pub use service::{ServiceEvent, ServiceSettings};
pub use staff::StaffEvent;
pub use user::{PlatformRole, UserEvent};

/// Wall-clock intervals as `["09:00", "17:00"]` pairs, half-open, sorted, non-overlapping.
pub type Intervals = Vec<[String; 2]>;

/// A weekly pattern: `"mon"`…`"sun"` → intervals (a missing or empty day is closed).
pub type WeeklySpec = BTreeMap<String, Intervals>;

/// Per-date replacements: `"2027-12-25"` → intervals (empty = closed that date).
pub type OverridesSpec = BTreeMap<String, Intervals>;
