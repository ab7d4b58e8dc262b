//! Services: add, update, retire. Durations, buffers and notice are validated here, prices parsed exactly.

use chrono::{DateTime, Utc};
use events::Aggregate;
use events::catalog::{ServiceEvent, ServiceSettings};
use uuid::Uuid;

use super::money::{MoneyError, parse_price};

/// A service as folded from its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub id: Option<Uuid>,
    pub business_id: Option<Uuid>,
    pub settings: Option<ServiceSettings>,
    pub retired: bool,
}

impl Aggregate for Service {
    type Event = ServiceEvent;
    fn evolve(mut self, event: &ServiceEvent) -> Self {
        match event {
            ServiceEvent::ServiceAdded {
                service_id,
                business_id,
                settings,
                ..
            }
            | ServiceEvent::ServiceUpdated {
                service_id,
                business_id,
                settings,
                ..
            } => {
                self.id = Some(*service_id);
                self.business_id = Some(*business_id);
                self.settings = Some(settings.clone());
            }
            ServiceEvent::ServiceRetired { .. } => self.retired = true,
        }
        self
    }
}

impl Service {
    /// Whether the service exists, is not retired and belongs to `business_id`.
    pub fn is_live_in(&self, business_id: Uuid) -> bool {
        self.business_id == Some(business_id) && !self.retired && self.settings.is_some()
    }
}

/// A service's fields as a client sends them; `None` = default (add) or unchanged (update).
/// Minutes are signed so a negative value is a rule violation we can name, not a parse error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInput {
    pub name: Option<String>,
    pub duration_minutes: Option<i64>,
    pub price: Option<String>,
    pub slot_step_minutes: Option<i64>,
    pub buffer_before_minutes: Option<i64>,
    pub buffer_after_minutes: Option<i64>,
    pub min_notice_minutes: Option<i64>,
    pub horizon_days: Option<i64>,
    pub voice_booking_enabled: Option<bool>,
}

/// Rules a service command can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("name must be 1 to 200 characters")]
    BadName,
    #[error("{field} must be between {min} and {max}, got {value}")]
    OutOfRange {
        field: &'static str,
        value: i64,
        min: i64,
        max: i64,
    },
    #[error(transparent)]
    Price(#[from] MoneyError),
    #[error("service not found")]
    NotFound,
}

const DAY_MINUTES: i64 = 24 * 60;

fn minutes(field: &'static str, value: i64, min: i64, max: i64) -> Result<u32, ServiceError> {
    if (min..=max).contains(&value) {
        u32::try_from(value).map_err(|_| ServiceError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    } else {
        Err(ServiceError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

fn valid_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::BadName);
    }
    Ok(name.to_owned())
}

/// Applies `input` on top of `base` (or defaults when adding) and validates the result.
fn settings(
    base: Option<&ServiceSettings>,
    input: &ServiceInput,
    currency: &str,
) -> Result<ServiceSettings, ServiceError> {
    let name = match (&input.name, base) {
        (Some(name), _) => valid_name(name)?,
        (None, Some(b)) => b.name.clone(),
        (None, None) => return Err(ServiceError::Missing("name")),
    };
    let duration_minutes = match (input.duration_minutes, base) {
        (Some(d), _) => minutes("duration_minutes", d, 1, DAY_MINUTES)?,
        (None, Some(b)) => b.duration_minutes,
        (None, None) => return Err(ServiceError::Missing("duration_minutes")),
    };
    let price_minor = match (&input.price, base) {
        (Some(p), _) => parse_price(p, currency)?,
        (None, Some(b)) => b.price_minor,
        (None, None) => return Err(ServiceError::Missing("price")),
    };
    let keep = |field: fn(&ServiceSettings) -> u32, default: u32| base.map_or(default, field);
    let slot_step_minutes = match input.slot_step_minutes {
        Some(s) => Some(minutes("slot_step_minutes", s, 1, DAY_MINUTES)?),
        None => base.and_then(|b| b.slot_step_minutes),
    };
    Ok(ServiceSettings {
        name,
        duration_minutes,
        price_minor,
        currency: currency.to_owned(),
        slot_step_minutes,
        buffer_before_minutes: input.buffer_before_minutes.map_or_else(
            || Ok(keep(|b| b.buffer_before_minutes, 0)),
            |v| minutes("buffer_before_minutes", v, 0, DAY_MINUTES),
        )?,
        buffer_after_minutes: input.buffer_after_minutes.map_or_else(
            || Ok(keep(|b| b.buffer_after_minutes, 0)),
            |v| minutes("buffer_after_minutes", v, 0, DAY_MINUTES),
        )?,
        min_notice_minutes: input.min_notice_minutes.map_or_else(
            || Ok(keep(|b| b.min_notice_minutes, 0)),
            |v| minutes("min_notice_minutes", v, 0, 365 * DAY_MINUTES),
        )?,
        horizon_days: input.horizon_days.map_or_else(
            || Ok(keep(|b| b.horizon_days, 60)),
            |v| minutes("horizon_days", v, 1, 730),
        )?,
        voice_booking_enabled: input
            .voice_booking_enabled
            .or(base.map(|b| b.voice_booking_enabled))
            .unwrap_or(true),
    })
}

/// Adds a new service priced in the business's `currency`.
pub fn add(
    service_id: Uuid,
    business_id: Uuid,
    currency: &str,
    input: &ServiceInput,
    now: DateTime<Utc>,
) -> Result<Vec<ServiceEvent>, ServiceError> {
    Ok(vec![ServiceEvent::ServiceAdded {
        service_id,
        business_id,
        settings: settings(None, input, currency)?,
        occurred_at: now,
    }])
}

/// Changes some fields of a live service; no event when nothing changes.
pub fn update(
    state: &Service,
    input: &ServiceInput,
    now: DateTime<Utc>,
) -> Result<Vec<ServiceEvent>, ServiceError> {
    let (Some(service_id), Some(business_id), Some(current)) =
        (state.id, state.business_id, state.settings.as_ref())
    else {
        return Err(ServiceError::NotFound);
    };
    if state.retired {
        return Err(ServiceError::NotFound);
    }
    let next = settings(Some(current), input, &current.currency)?;
    if &next == current {
        return Ok(Vec::new());
    }
    Ok(vec![ServiceEvent::ServiceUpdated {
        service_id,
        business_id,
        settings: next,
        occurred_at: now,
    }])
}

/// Retires a live service (retiring twice is a no-op).
pub fn retire(state: &Service, now: DateTime<Utc>) -> Result<Vec<ServiceEvent>, ServiceError> {
    let (Some(service_id), Some(business_id)) = (state.id, state.business_id) else {
        return Err(ServiceError::NotFound);
    };
    if state.retired {
        return Ok(Vec::new());
    }
    Ok(vec![ServiceEvent::ServiceRetired {
        service_id,
        business_id,
        occurred_at: now,
    }])
}
