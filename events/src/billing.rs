//! Billing facts that are not usage: the invoice issued when a month is closed (`invoice-<business>-<yyyy-mm>`),
//! and the stream that records a booking's usage (`usage-booking-<booking id>`).
//!
//! Usage itself is [`crate::call::UsageEvent::UsageRecorded`]; plans are `PlanAssigned` on the business
//! stream. An invoice is computed from those; `InvoiceIssued` only seals what was billed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The stream of the invoice of `business_id` for `period` (`YYYY-MM`).
pub fn invoice_stream(business_id: Uuid, period: &str) -> String {
    format!("invoice-{business_id}-{period}")
}

/// The stream of the usage a booking records (its per-booking fee).
pub fn booking_usage_stream(booking_id: Uuid) -> String {
    format!("usage-booking-{booking_id}")
}

/// Namespace of deterministic billing event ids.
const BILLING_NAMESPACE: Uuid = Uuid::from_u128(0x5c1e_0b2a_7d41_4f0e_9a55_0c0a_11e0_0002);

/// The id of a billing event, derived from what it is about (`booking:<id>`, `invoice:<business>:<period>`),
/// so that writing it twice stores it once.
pub fn billing_event_id(key: &str) -> Uuid {
    Uuid::new_v5(&BILLING_NAMESPACE, key.as_bytes())
}

/// Events of an `invoice-…` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum InvoiceEvent {
    /// The month was closed and this invoice issued. `usage_hash` is the SHA-256 (hex) of the sorted ids of
    /// every usage event it covers, so a usage event that arrives later is detected; `invoice_hash` is the
    /// SHA-256 of the invoice's canonical JSON.
    InvoiceIssued {
        business_id: Uuid,
        period: String,
        currency: String,
        total_minor: i64,
        usage_events: u64,
        usage_hash: String,
        invoice_hash: String,
        occurred_at: DateTime<Utc>,
    },
}
