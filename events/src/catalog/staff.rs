//! `staff-<id>`: the people who perform services, with their own hours (or the business's).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{OverridesSpec, WeeklySpec};

/// Events of a `staff-<id>` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum StaffEvent {
    StaffAdded {
        staff_id: Uuid,
        business_id: Uuid,
        name: String,
        occurred_at: DateTime<Utc>,
    },
    /// `weekly: None` = works the business hours; overrides replace single dates (empty = day off).
    StaffScheduleSet {
        staff_id: Uuid,
        business_id: Uuid,
        weekly: Option<WeeklySpec>,
        #[serde(default)]
        overrides: OverridesSpec,
        occurred_at: DateTime<Utc>,
    },
    /// The complete set of services the member performs.
    StaffServicesAssigned {
        staff_id: Uuid,
        business_id: Uuid,
        service_ids: Vec<Uuid>,
        occurred_at: DateTime<Utc>,
    },
    StaffRemoved {
        staff_id: Uuid,
        business_id: Uuid,
        occurred_at: DateTime<Utc>,
    },
}
