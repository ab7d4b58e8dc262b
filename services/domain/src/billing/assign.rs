//! Choosing a plan: `PlanAssigned` from a day on, never reaching back into a month already closed.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use events::catalog::BusinessEvent;
use uuid::Uuid;

use super::period::Period;
use super::plans::plan;
use crate::tenancy::Business;

/// Why a plan assignment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown plan {0:?}: choose starter, growth or scale")]
    UnknownPlan(String),
    #[error("effective_from {0} is in a month that is already closed; the earliest allowed is {1}")]
    ClosedPeriod(NaiveDate, NaiveDate),
    #[error("effective_from {0} is more than a year ahead")]
    TooFarAhead(NaiveDate),
    #[error("business not found")]
    NotFound,
}

/// Assigns `code` from `effective_from` (default: today, UTC). Assigning what is already the last
/// assignment is a no-op.
pub fn assign_plan(
    state: &Business,
    code: &str,
    effective_from: Option<NaiveDate>,
    assigned_by: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, PlanError> {
    let business_id = state.id.ok_or(PlanError::NotFound)?;
    let plan = plan(code).ok_or_else(|| PlanError::UnknownPlan(code.chars().take(40).collect()))?;
    let today = now.date_naive();
    let effective_from = effective_from.unwrap_or(today);
    let earliest = Period::of(now).first_day();
    if effective_from < earliest {
        return Err(PlanError::ClosedPeriod(effective_from, earliest));
    }
    if effective_from > today + TimeDelta::days(366) {
        return Err(PlanError::TooFarAhead(effective_from));
    }
    if state.plan_changes.last() == Some(&(effective_from, plan.code.to_owned())) {
        return Ok(Vec::new());
    }
    Ok(vec![BusinessEvent::PlanAssigned {
        business_id,
        plan: plan.code.to_owned(),
        effective_from,
        assigned_by,
        occurred_at: now,
    }])
}
