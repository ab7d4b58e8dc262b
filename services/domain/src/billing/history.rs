//! What an invoice is computed from, folded from events in any order that keeps each stream's order:
//! usage is summed per (UTC day, kind) — sums commute — plan changes keep their (single) stream's order, and
//! phone-number holdings keep each number stream's order.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::plans::{DEFAULT_PLAN, Plan, plan};

/// Usage kind of a call's voice time (quantity: seconds).
pub const VOICE_SECONDS: &str = "voice_seconds";
/// Usage kind of a confirmed booking (quantity: 1).
pub const BOOKING: &str = "booking";
/// Usage kind of a tool invocation (tracked, not billed).
pub const TOOL_CALL: &str = "tool_call";

/// Usage of one kind summed over one UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// How many `UsageRecorded` events.
    pub events: i64,
    /// Their summed raw quantity (seconds for voice).
    pub quantity: i64,
    /// Their summed billable units (voice: each call rounded up to the minute; others: the quantity).
    pub billable_units: i64,
    pub provider_cost_micros: i64,
}

impl UsageTotals {
    fn add(&mut self, other: Self) {
        self.events += other.events;
        self.quantity += other.quantity;
        self.billable_units += other.billable_units;
        self.provider_cost_micros += other.provider_cost_micros;
    }
}

/// The billable units of one usage event: voice seconds round up to the started minute, other kinds count
/// their quantity; negative quantities bill nothing.
pub fn billable_units(kind: &str, quantity: i64) -> i64 {
    let quantity = quantity.max(0);
    if kind == VOICE_SECONDS {
        (quantity + 59) / 60
    } else {
        quantity
    }
}

/// A plan assignment: `plan` from `effective_from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    pub effective_from: NaiveDate,
    pub plan: String,
}

/// A phone number held from `from` to `to` (inclusive; `None` while still held).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberHold {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

/// Everything billing knows about one business.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingHistory {
    pub registered_on: Option<NaiveDate>,
    /// In the business stream's order.
    pub plan_changes: Vec<PlanChange>,
    /// Per number, its holdings in the number stream's order.
    pub numbers: BTreeMap<String, Vec<NumberHold>>,
    pub usage: BTreeMap<(NaiveDate, String), UsageTotals>,
}

impl BillingHistory {
    /// The business was registered (`BusinessRegistered`); the first registration counts.
    pub fn registered(&mut self, at: DateTime<Utc>) {
        self.registered_on.get_or_insert(at.date_naive());
    }

    /// `PlanAssigned`, in stream order.
    pub fn plan_assigned(&mut self, effective_from: NaiveDate, plan: &str) {
        self.plan_changes.push(PlanChange {
            effective_from,
            plan: plan.to_owned(),
        });
    }

    /// `NumberAssigned` to this business.
    pub fn number_assigned(&mut self, number: &str, at: DateTime<Utc>) {
        self.numbers
            .entry(number.to_owned())
            .or_default()
            .push(NumberHold {
                from: at.date_naive(),
                to: None,
            });
    }

    /// `NumberReleased` / `NumberSuspended` from this business: closes the open holding, if any.
    pub fn number_released(&mut self, number: &str, at: DateTime<Utc>) {
        if let Some(open) = self
            .numbers
            .get_mut(number)
            .and_then(|holds| holds.iter_mut().rev().find(|h| h.to.is_none()))
        {
            open.to = Some(at.date_naive().max(open.from));
        }
    }

    /// One `UsageRecorded`.
    pub fn usage(
        &mut self,
        usage_at: DateTime<Utc>,
        kind: &str,
        quantity: i64,
        provider_cost_micros: i64,
    ) {
        self.add_daily(
            usage_at.date_naive(),
            kind,
            UsageTotals {
                events: 1,
                quantity,
                billable_units: billable_units(kind, quantity),
                provider_cost_micros,
            },
        );
    }

    /// Adds already-summed daily usage (what the billing projection stores).
    pub fn add_daily(&mut self, day: NaiveDate, kind: &str, totals: UsageTotals) {
        self.usage
            .entry((day, kind.to_owned()))
            .or_default()
            .add(totals);
    }

    /// The plan in force on `day`: of the assignments effective by then, the last written; before any, the
    /// default plan from the registration day; before registration, none.
    pub fn plan_on(&self, day: NaiveDate) -> Option<&'static Plan> {
        let assigned = self
            .plan_changes
            .iter()
            .rev()
            .find(|c| c.effective_from <= day)
            .and_then(|c| plan(&c.plan));
        assigned.or_else(|| {
            self.registered_on
                .filter(|r| *r <= day)
                .and_then(|_| plan(DEFAULT_PLAN))
        })
    }

    /// The usage of `kind` on `day`.
    pub fn usage_on(&self, day: NaiveDate, kind: &str) -> UsageTotals {
        self.usage
            .get(&(day, kind.to_owned()))
            .copied()
            .unwrap_or_default()
    }

    /// How many numbers were held at any time on `day`.
    pub fn numbers_held_on(&self, day: NaiveDate) -> i64 {
        let held = self
            .numbers
            .values()
            .filter(|holds| {
                holds
                    .iter()
                    .any(|h| h.from <= day && h.to.is_none_or(|to| day <= to))
            })
            .count();
        i64::try_from(held).unwrap_or(i64::MAX)
    }
}
