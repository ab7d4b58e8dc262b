//! Re-derives the allocation table from the booking events and lists every difference (DESIGN.md §7:
//! "the allocation table must be re-derivable from the events"). Run by `voiceappoint verify allocations`.

use std::collections::BTreeMap;

use domain::booking::{Booking, Status};
use events::Aggregate as _;
use events::booking::BookingEvent;
use store::{EventStore, StoreError};
use uuid::Uuid;

use super::guard::{self, Allocation, AllocationKind};

/// One way the table and the events disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The events say the booking occupies a resource; the table has no row.
    Missing { booking_id: Uuid },
    /// The table has a row the events do not explain.
    Unexpected { booking_id: Uuid },
    /// Both have it, differently.
    Different { booking_id: Uuid, detail: String },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing { booking_id } => write!(f, "booking {booking_id}: row missing"),
            Self::Unexpected { booking_id } => write!(f, "booking {booking_id}: unexpected row"),
            Self::Different { booking_id, detail } => write!(f, "booking {booking_id}: {detail}"),
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Default)]
pub struct Report {
    pub bookings: usize,
    pub rows: usize,
    pub differences: Vec<Difference>,
}

/// Folds every booking stream and compares what should be allocated with what is.
pub async fn verify(store: &EventStore) -> Result<Report, StoreError> {
    let expected = derive(store).await?;
    let actual: BTreeMap<Uuid, (Uuid, Allocation)> = guard::load_all(store.pool())
        .await?
        .into_iter()
        .map(|(tenant, row)| (row.booking_id, (tenant, row)))
        .collect();
    let mut report = Report {
        bookings: expected.len(),
        rows: actual.len(),
        differences: Vec::new(),
    };
    for (booking_id, (tenant, want)) in &expected {
        match actual.get(booking_id) {
            None => report.differences.push(Difference::Missing {
                booking_id: *booking_id,
            }),
            Some((got_tenant, got)) => {
                let same = got_tenant == tenant
                    && got.resource_id == want.resource_id
                    && got.kind == want.kind
                    && got.during() == want.during()
                    && got.placement.start == want.placement.start
                    && got.placement.end == want.placement.end
                    && got.expires_at == want.expires_at;
                if !same {
                    report.differences.push(Difference::Different {
                        booking_id: *booking_id,
                        detail: format!("table {got:?} / events {want:?}"),
                    });
                }
            }
        }
    }
    for booking_id in actual.keys().filter(|id| !expected.contains_key(id)) {
        report.differences.push(Difference::Unexpected {
            booking_id: *booking_id,
        });
    }
    Ok(report)
}

/// What the events say should be allocated: every booked appointment and every hold not released
/// (an expired hold stays until a `HoldExpired` event releases it), by booking id.
async fn derive(store: &EventStore) -> Result<BTreeMap<Uuid, (Uuid, Allocation)>, StoreError> {
    let rows: Vec<(String, String, serde_json::Value)> = sqlx::query_as(
        "select stream_id, event_type, data from events where stream_id like 'booking-%' \
         order by stream_id, stream_version",
    )
    .fetch_all(store.pool())
    .await?;
    let mut states: BTreeMap<String, Booking> = BTreeMap::new();
    for (stream_id, event_type, data) in rows {
        let event: BookingEvent = events::aggregate::decode_tagged(&event_type, &data)?;
        let state = states.remove(&stream_id).unwrap_or_default().evolve(&event);
        states.insert(stream_id, state);
    }
    let mut expected = BTreeMap::new();
    for state in states.into_values() {
        let kind = match state.status {
            Status::Booked => AllocationKind::Appointment,
            Status::Held => AllocationKind::Hold,
            _ => continue,
        };
        let (Some(booking_id), Some(business_id), Some(placement)) =
            (state.booking_id, state.business_id, state.placement)
        else {
            continue;
        };
        let allocation = Allocation {
            resource_id: placement.staff_id.unwrap_or(business_id),
            booking_id,
            kind,
            placement,
            expires_at: if kind == AllocationKind::Hold {
                state.expires_at
            } else {
                None
            },
        };
        expected.insert(booking_id, (business_id, allocation));
    }
    Ok(expected)
}
