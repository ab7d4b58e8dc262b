//! `business-<id>`: a tenant's profile, opening hours, members, agent settings and voice-booking switch.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Intervals, WeeklySpec};

/// A member's role in one business, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Staff,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Staff => "staff",
            Self::Viewer => "viewer",
        }
    }
}

/// What the shared voice agent says and sounds like for one business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSettings {
    pub name: String,
    pub greeting: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// Events of a `business-<id>` stream; `business_id` is also the events' `tenant_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum BusinessEvent {
    BusinessRegistered {
        business_id: Uuid,
        /// Unique across the platform and never changed by a rename.
        slug: String,
        name: String,
        business_type: String,
        /// IANA zone, e.g. `Europe/Madrid`.
        timezone: String,
        locale: String,
        /// ISO 4217, e.g. `EUR`.
        currency: String,
        registered_by: Uuid,
        occurred_at: DateTime<Utc>,
    },
    /// The profile after the change (every field, so the event alone describes the new profile).
    BusinessProfileUpdated {
        business_id: Uuid,
        name: String,
        business_type: String,
        timezone: String,
        locale: String,
        currency: String,
        occurred_at: DateTime<Utc>,
    },
    /// The weekly pattern, replacing the previous one.
    BusinessHoursSet {
        business_id: Uuid,
        weekly: WeeklySpec,
        occurred_at: DateTime<Utc>,
    },
    /// Replaces the hours of one date; `intervals: None` removes the override (the weekly pattern applies
    /// again), `Some([])` closes the date.
    DateOverrideSet {
        business_id: Uuid,
        date: NaiveDate,
        intervals: Option<Intervals>,
        occurred_at: DateTime<Utc>,
    },
    MemberAdded {
        business_id: Uuid,
        user_id: Uuid,
        email: String,
        role: Role,
        occurred_at: DateTime<Utc>,
    },
    MemberRoleChanged {
        business_id: Uuid,
        user_id: Uuid,
        role: Role,
        occurred_at: DateTime<Utc>,
    },
    MemberRemoved {
        business_id: Uuid,
        user_id: Uuid,
        occurred_at: DateTime<Utc>,
    },
    VoiceBookingToggled {
        business_id: Uuid,
        enabled: bool,
        occurred_at: DateTime<Utc>,
    },
    AgentConfigured {
        business_id: Uuid,
        agent: AgentSettings,
        occurred_at: DateTime<Utc>,
    },
    /// The business is billed on `plan` (a code of the plan catalog, `domain::billing::plans`) from the
    /// start of the UTC day `effective_from`, until a later assignment takes over.
    PlanAssigned {
        business_id: Uuid,
        plan: String,
        effective_from: NaiveDate,
        assigned_by: Uuid,
        occurred_at: DateTime<Utc>,
    },
}

impl BusinessEvent {
    /// The business (tenant) the event belongs to.
    pub fn business_id(&self) -> Uuid {
        match self {
            Self::BusinessRegistered { business_id, .. }
            | Self::BusinessProfileUpdated { business_id, .. }
            | Self::BusinessHoursSet { business_id, .. }
            | Self::DateOverrideSet { business_id, .. }
            | Self::MemberAdded { business_id, .. }
            | Self::MemberRoleChanged { business_id, .. }
            | Self::MemberRemoved { business_id, .. }
            | Self::VoiceBookingToggled { business_id, .. }
            | Self::AgentConfigured { business_id, .. }
            | Self::PlanAssigned { business_id, .. } => *business_id,
        }
    }
}
