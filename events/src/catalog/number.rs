//! `number-<e164>`: a phone number of the platform pool, from purchase to assignment, release, suspension.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Events of a `number-<e164>` stream. Pool events have no tenant; assignment events carry the business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum NumberEvent {
    NumberAddedToPool {
        /// E.164, e.g. `+14155550123`.
        number: String,
        /// The id Vapi gives the number (`call.phoneNumberId`).
        provider_phone_number_id: String,
        /// Digits after the country code used for "area code" search (NANP: the first three).
        area_code: String,
        locality: String,
        region: String,
        occurred_at: DateTime<Utc>,
    },
    NumberAssigned {
        number: String,
        business_id: Uuid,
        occurred_at: DateTime<Utc>,
    },
    /// Back to the pool.
    NumberReleased {
        number: String,
        business_id: Uuid,
        occurred_at: DateTime<Utc>,
    },
    /// Taken out of service by the platform (calls no longer routed); `business_id` if it was assigned.
    NumberSuspended {
        number: String,
        business_id: Option<Uuid>,
        reason: String,
        occurred_at: DateTime<Utc>,
    },
}
