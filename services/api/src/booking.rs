//! The booking application service (DESIGN.md §7): load → decide → append with the allocation guard.
//!
//! The catalog (a business's zone, hours, services and staff) comes in as a [`BusinessCatalog`] value, so
//! this service can be driven by the HTTP handlers (which read it from the catalog read models) and by
//! tests alike. Busy intervals for decisions come from the write-side `allocations` table, never from a
//! projection: a decision must see every committed booking. The database has the last word anyway — the
//! exclusion constraint refuses an overlap that slipped between our read and our commit, and the command
//! is then decided again.
//!
//! - [`guard`]: the allocation table and the append hook; [`idempotency`]: keys and replays;
//! - [`commands`]: hold, book, reschedule, cancel, complete; [`reply`]: the JSON answered (and stored);
//! - [`verify`]: re-derives the allocation table from the events; [`catalog`]: the seam filled from the
//!   catalog read models; [`http`]: the REST endpoints.

pub mod availability;
pub mod catalog;
pub mod commands;
pub mod guard;
pub mod http;
pub mod idempotency;
pub mod reply;
pub mod verify;

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use domain::scheduling::{
    BusyInterval, DateOverrides, Performers, ServiceRules, SlotQuery, StaffSchedule, WeeklyHours,
};
use events::Clock;
use serde::{Deserialize, Serialize};
use store::EventStore;
use uuid::Uuid;

use crate::ApiError;

/// How long a hold lasts unless the request asks for less.
pub const DEFAULT_HOLD: TimeDelta = TimeDelta::minutes(10);

/// How far from an asked time an appointment can still matter to it: a service lasts at most a day and
/// each buffer at most a day (`domain::catalog::service`), and a local date lies within a day of the
/// instant. Decisions and availability read the allocations and busy intervals this far around what was
/// asked, not the whole calendar.
pub const REACH: TimeDelta = TimeDelta::days(4);

/// A service as booking needs it.
#[derive(Debug, Clone)]
pub struct CatalogService {
    pub id: Uuid,
    pub name: String,
    pub rules: ServiceRules,
    /// Retired services cannot be booked (their existing appointments stand).
    pub retired: bool,
}

/// A staff member as booking needs it.
#[derive(Debug, Clone)]
pub struct CatalogStaff {
    pub id: Uuid,
    pub name: String,
    pub service_ids: Vec<Uuid>,
    /// Own hours (`weekly: None` = the business hours).
    pub schedule: StaffSchedule,
}

/// What booking needs to know about one business: the seam between booking and the catalog.
#[derive(Debug, Clone)]
pub struct BusinessCatalog {
    /// The business; also the tenant of every event and row.
    pub business_id: Uuid,
    pub timezone: Tz,
    pub weekly: WeeklyHours,
    pub overrides: DateOverrides,
    pub services: Vec<CatalogService>,
    /// Current staff (removed staff left out). Empty = the business itself is the one resource.
    pub staff: Vec<CatalogStaff>,
}

impl BusinessCatalog {
    /// A bookable service: 404 when unknown, 422 when retired.
    pub fn service(&self, service_id: Uuid) -> Result<&CatalogService, ApiError> {
        let service = self
            .services
            .iter()
            .find(|s| s.id == service_id)
            .ok_or_else(|| ApiError::not_found("service"))?;
        if service.retired {
            return Err(ApiError::validation(
                "service_retired",
                "this service is no longer offered",
            ));
        }
        Ok(service)
    }

    /// Whether staff exist at all (otherwise the business is the resource).
    pub fn business_wide(&self) -> bool {
        self.staff.is_empty()
    }

    /// Who can perform `service_id`.
    pub fn performers(&self, service_id: Uuid) -> Performers {
        if self.business_wide() {
            return Performers::Business;
        }
        Performers::Staff(
            self.staff
                .iter()
                .filter(|member| member.service_ids.contains(&service_id))
                .map(|member| member.schedule.clone())
                .collect(),
        )
    }

    /// Checks a staff id named by a request: it must belong to the business.
    pub fn known_staff(&self, staff_id: Option<Uuid>) -> Result<(), ApiError> {
        match staff_id {
            Some(id) if !self.staff.iter().any(|member| member.id == id) => {
                Err(ApiError::not_found("staff member"))
            }
            _ => Ok(()),
        }
    }

    /// The resource an allocation occupies: the staff member, or the business.
    pub fn resource(&self, staff_id: Option<Uuid>) -> Uuid {
        staff_id.unwrap_or(self.business_id)
    }

    /// The staff member's name, for replies.
    pub fn staff_name(&self, staff_id: Option<Uuid>) -> Option<&str> {
        let id = staff_id?;
        self.staff
            .iter()
            .find(|member| member.id == id)
            .map(|member| member.name.as_str())
    }

    /// A slot-engine query over this catalog.
    pub fn query<'a>(
        &'a self,
        rules: &'a ServiceRules,
        performers: &'a Performers,
        busy: &'a [BusyInterval],
        now: DateTime<Utc>,
    ) -> SlotQuery<'a> {
        let today = now.with_timezone(&self.timezone).date_naive();
        SlotQuery {
            tz: self.timezone,
            weekly: &self.weekly,
            overrides: &self.overrides,
            rules,
            performers,
            busy,
            now,
            from_date: today,
            to_date: today,
        }
    }
}

/// A client as given with a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientInput {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// `POST …/appointments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookRequest {
    pub service_id: Uuid,
    pub start: DateTime<Utc>,
    #[serde(default)]
    pub staff_id: Option<Uuid>,
    #[serde(default)]
    pub client: Option<ClientInput>,
    #[serde(default)]
    pub hold_id: Option<Uuid>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// `POST …/holds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRequest {
    pub service_id: Uuid,
    pub start: DateTime<Utc>,
    #[serde(default)]
    pub staff_id: Option<Uuid>,
    /// Shorter holds than [`DEFAULT_HOLD`] may be asked for (1 s … 10 min).
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
}

/// `POST /appointments/{id}/reschedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescheduleRequest {
    pub start: DateTime<Utc>,
    #[serde(default)]
    pub staff_id: Option<Uuid>,
}

/// A finished command's answer: status and JSON body, exactly as sent (and replayed for a retried key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl axum::response::IntoResponse for Reply {
    fn into_response(self) -> axum::response::Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// Who asked, and under which key: carried into the events' metadata and the idempotency table.
#[derive(Debug, Clone, Default)]
pub struct CommandContext {
    /// `Idempotency-Key` header or Vapi tool-call id.
    pub idempotency_key: Option<String>,
    pub metadata: events::Metadata,
}

/// The booking service. Cheap to clone.
#[derive(Clone)]
pub struct BookingService {
    store: EventStore,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for BookingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingService").finish_non_exhaustive()
    }
}

impl BookingService {
    /// A service over `store`, telling time by the store's clock.
    pub fn new(store: EventStore) -> Self {
        let clock = store.clock().clone();
        Self { store, clock }
    }

    /// The same service with another clock (tests move time to expire holds).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
