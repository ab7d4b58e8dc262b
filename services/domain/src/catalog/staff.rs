//! Staff: add with services and optional own hours, change schedule or services, remove.

use chrono::{DateTime, Utc};
use events::Aggregate;
use events::catalog::{OverridesSpec, StaffEvent, WeeklySpec};
use uuid::Uuid;

use super::hours::{
    HoursSpecError, overrides_from_spec, overrides_to_spec, weekly_from_spec, weekly_to_spec,
};

/// A staff member as folded from the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staff {
    pub id: Option<Uuid>,
    pub business_id: Option<Uuid>,
    pub name: String,
    pub service_ids: Vec<Uuid>,
    pub weekly: Option<WeeklySpec>,
    pub overrides: OverridesSpec,
    pub removed: bool,
}

impl Aggregate for Staff {
    type Event = StaffEvent;
    fn evolve(mut self, event: &StaffEvent) -> Self {
        match event {
            StaffEvent::StaffAdded {
                staff_id,
                business_id,
                name,
                ..
            } => {
                self.id = Some(*staff_id);
                self.business_id = Some(*business_id);
                self.name.clone_from(name);
            }
            StaffEvent::StaffScheduleSet {
                weekly, overrides, ..
            } => {
                self.weekly.clone_from(weekly);
                self.overrides.clone_from(overrides);
            }
            StaffEvent::StaffServicesAssigned { service_ids, .. } => {
                self.service_ids.clone_from(service_ids);
            }
            StaffEvent::StaffRemoved { .. } => self.removed = true,
        }
        self
    }
}

impl Staff {
    /// Whether the member exists, is not removed and belongs to `business_id`.
    pub fn is_live_in(&self, business_id: Uuid) -> bool {
        self.business_id == Some(business_id) && !self.removed && self.id.is_some()
    }
}

/// Rules a staff command can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffError {
    #[error("name must be 1 to 200 characters")]
    BadName,
    #[error(transparent)]
    Hours(#[from] HoursSpecError),
    #[error("service {0} does not exist in this business")]
    UnknownService(Uuid),
    #[error("staff member not found")]
    NotFound,
}

/// Validates hours and returns their canonical spec.
fn schedule(
    weekly: Option<&WeeklySpec>,
    overrides: &OverridesSpec,
) -> Result<(Option<WeeklySpec>, OverridesSpec), StaffError> {
    let weekly = weekly
        .map(|w| weekly_from_spec(w).map(|h| weekly_to_spec(&h)))
        .transpose()
        .map_err(HoursSpecError::from)?;
    let overrides = overrides_to_spec(&overrides_from_spec(overrides)?);
    Ok((weekly, overrides))
}

/// `service_ids` sorted and deduplicated; every id must satisfy `known`.
fn services(ids: &[Uuid], known: impl Fn(Uuid) -> bool) -> Result<Vec<Uuid>, StaffError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if let Some(unknown) = ids.iter().find(|id| !known(**id)) {
        return Err(StaffError::UnknownService(*unknown));
    }
    Ok(ids)
}

/// What a new staff member looks like.
#[derive(Debug, Clone, Default)]
pub struct NewStaff {
    pub name: String,
    pub service_ids: Vec<Uuid>,
    pub weekly: Option<WeeklySpec>,
    pub overrides: OverridesSpec,
}

/// Adds a staff member. `known_service` says whether a service id is a live service of this business.
pub fn add(
    staff_id: Uuid,
    business_id: Uuid,
    input: &NewStaff,
    known_service: impl Fn(Uuid) -> bool,
    now: DateTime<Utc>,
) -> Result<Vec<StaffEvent>, StaffError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(StaffError::BadName);
    }
    let (weekly, overrides) = schedule(input.weekly.as_ref(), &input.overrides)?;
    let service_ids = services(&input.service_ids, known_service)?;
    let mut events = vec![StaffEvent::StaffAdded {
        staff_id,
        business_id,
        name: name.to_owned(),
        occurred_at: now,
    }];
    if weekly.is_some() || !overrides.is_empty() {
        events.push(StaffEvent::StaffScheduleSet {
            staff_id,
            business_id,
            weekly,
            overrides,
            occurred_at: now,
        });
    }
    events.push(StaffEvent::StaffServicesAssigned {
        staff_id,
        business_id,
        service_ids,
        occurred_at: now,
    });
    Ok(events)
}

/// Replaces the schedule and/or the services of a live member; only what changes is recorded.
pub fn change(
    state: &Staff,
    schedule_change: Option<(Option<WeeklySpec>, OverridesSpec)>,
    service_ids: Option<&[Uuid]>,
    known_service: impl Fn(Uuid) -> bool,
    now: DateTime<Utc>,
) -> Result<Vec<StaffEvent>, StaffError> {
    let (Some(staff_id), Some(business_id)) = (state.id, state.business_id) else {
        return Err(StaffError::NotFound);
    };
    if state.removed {
        return Err(StaffError::NotFound);
    }
    let mut events = Vec::new();
    if let Some((weekly, overrides)) = schedule_change {
        let (weekly, overrides) = schedule(weekly.as_ref(), &overrides)?;
        if weekly != state.weekly || overrides != state.overrides {
            events.push(StaffEvent::StaffScheduleSet {
                staff_id,
                business_id,
                weekly,
                overrides,
                occurred_at: now,
            });
        }
    }
    if let Some(ids) = service_ids {
        let ids = services(ids, known_service)?;
        if ids != state.service_ids {
            events.push(StaffEvent::StaffServicesAssigned {
                staff_id,
                business_id,
                service_ids: ids,
                occurred_at: now,
            });
        }
    }
    Ok(events)
}

/// Removes a member (removing twice is a no-op).
pub fn remove(state: &Staff, now: DateTime<Utc>) -> Result<Vec<StaffEvent>, StaffError> {
    let (Some(staff_id), Some(business_id)) = (state.id, state.business_id) else {
        return Err(StaffError::NotFound);
    };
    if state.removed {
        return Ok(Vec::new());
    }
    Ok(vec![StaffEvent::StaffRemoved {
        staff_id,
        business_id,
        occurred_at: now,
    }])
}
