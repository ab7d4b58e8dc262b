//! Billing: the plan catalog, usage folded into daily totals, and the invoice — a pure function of
//! (registration, plan history, phone-number holdings, usage, period), in integer arithmetic.
//!
//! The rules, in one place (README "Billing" repeats them for finance):
//! - A period is a UTC calendar month. Usage belongs to the period of its `usage_at` (a call: the instant it
//!   started), so a call that spans midnight at the month's end is billed in the month it started.
//! - Voice time is billed per call, rounded **up** to the started minute (61 s → 2 min), then summed.
//! - A business is on the default plan (starter) from its registration day until a `PlanAssigned` takes over
//!   from its `effective_from` day; of several assignments, the one written last wins from its date on.
//! - Each run of days on one plan is a segment. Per segment: the monthly fee and the included minutes are
//!   pro-rated by days (`days / days in month`); minutes used on those days beyond the segment's included
//!   minutes are billed at the plan's overage price; bookings at its per-booking fee; phone numbers per
//!   number-day (a number counts for every day it was held at any time) at `monthly fee / days in month`.
//! - Money is integer minor units (cents) of USD, provider cost integer micro-dollars. The one rounding rule:
//!   a pro-rated amount is rounded half up to the minor unit (or whole minute), once, where it is computed.

pub mod assign;
pub mod history;
pub mod invoice;
pub mod period;
pub mod plans;

pub use assign::{PlanError, assign_plan};
pub use history::{BillingHistory, NumberHold, PlanChange, UsageTotals, billable_units};
pub use invoice::{Invoice, InvoiceLine, UsageSummary, invoice};
pub use period::{Period, PeriodError};
pub use plans::{CURRENCY, DEFAULT_PLAN, PLANS, Plan, plan};

#[cfg(test)]
mod tests;
