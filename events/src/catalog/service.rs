//! `service-<id>`: what a business sells, how long it takes and the booking rules the slot engine applies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A service's bookable settings. `price_minor` is in minor units of `currency` (3500 = 35.00 EUR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSettings {
    pub name: String,
    pub duration_minutes: u32,
    pub price_minor: i64,
    pub currency: String,
    /// Distance between candidate starts; `None` = the duration.
    #[serde(default)]
    pub slot_step_minutes: Option<u32>,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub min_notice_minutes: u32,
    pub horizon_days: u32,
    pub voice_booking_enabled: bool,
}

/// Events of a `service-<id>` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ServiceEvent {
    ServiceAdded {
        service_id: Uuid,
        business_id: Uuid,
        #[serde(flatten)]
        settings: ServiceSettings,
        occurred_at: DateTime<Utc>,
    },
    /// The settings after the change.
    ServiceUpdated {
        service_id: Uuid,
        business_id: Uuid,
        #[serde(flatten)]
        settings: ServiceSettings,
        occurred_at: DateTime<Utc>,
    },
    /// No longer offered; existing appointments stay.
    ServiceRetired {
        service_id: Uuid,
        business_id: Uuid,
        occurred_at: DateTime<Utc>,
    },
}
