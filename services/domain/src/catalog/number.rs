//! The phone-number pool: the platform adds numbers, a business claims one, releases it, the platform
//! suspends one. Two businesses claiming the same number race on the stream version; one wins.

use chrono::{DateTime, Utc};
use events::Aggregate;
use events::catalog::NumberEvent;
use uuid::Uuid;

/// Where a number stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NumberStatus {
    /// Never added to the pool.
    #[default]
    Unknown,
    Available,
    Assigned(Uuid),
    Suspended,
}

/// A pool number as folded from its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Number {
    pub number: String,
    pub provider_phone_number_id: String,
    pub status: NumberStatus,
}

impl Aggregate for Number {
    type Event = NumberEvent;
    fn evolve(mut self, event: &NumberEvent) -> Self {
        match event {
            NumberEvent::NumberAddedToPool {
                number,
                provider_phone_number_id,
                ..
            } => {
                self.number.clone_from(number);
                self.provider_phone_number_id
                    .clone_from(provider_phone_number_id);
                self.status = NumberStatus::Available;
            }
            NumberEvent::NumberAssigned { business_id, .. } => {
                self.status = NumberStatus::Assigned(*business_id);
            }
            NumberEvent::NumberReleased { .. } => self.status = NumberStatus::Available,
            NumberEvent::NumberSuspended { .. } => self.status = NumberStatus::Suspended,
        }
        self
    }
}

/// Rules a number command can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("{0:?} is not an E.164 number such as +14155550123")]
    NotE164(String),
    #[error("provider_phone_number_id is required")]
    MissingProviderId,
    #[error("the number is already in the pool")]
    AlreadyInPool,
    #[error("the number is not available")]
    NotAvailable,
    #[error("the business already has a phone number")]
    BusinessHasNumber,
    #[error("the business has no phone number")]
    NotAssignedToBusiness,
    #[error("the number is not in the pool")]
    UnknownNumber,
}

/// Normalizes `+1 (415) 555-0123` to `+14155550123`; refuses anything that is not `+` and 8–15 digits.
pub fn normalize_e164(text: &str) -> Result<String, NumberError> {
    let bad = || NumberError::NotE164(text.to_owned());
    let trimmed = text.trim();
    let rest = trimmed.strip_prefix('+').ok_or_else(bad)?;
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return Err(bad()),
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(bad());
    }
    Ok(format!("+{digits}"))
}

/// The area code used to search the pool: NANP (`+1`) numbers' three digits after the country code;
/// elsewhere the caller supplies it (empty when unknown).
pub fn area_code_of(e164: &str) -> String {
    e164.strip_prefix("+1")
        .and_then(|rest| rest.get(..3))
        .unwrap_or_default()
        .to_owned()
}

/// What the platform admin sends to add a number.
#[derive(Debug, Clone, Default)]
pub struct NewPoolNumber {
    pub number: String,
    pub provider_phone_number_id: String,
    pub area_code: Option<String>,
    pub locality: String,
    pub region: String,
}

/// Adds a number to the pool. The caller normalizes `number` first (it names the stream).
pub fn add_to_pool(
    state: &Number,
    input: &NewPoolNumber,
    now: DateTime<Utc>,
) -> Result<Vec<NumberEvent>, NumberError> {
    let number = normalize_e164(&input.number)?;
    if state.status != NumberStatus::Unknown {
        return Err(NumberError::AlreadyInPool);
    }
    let provider = input.provider_phone_number_id.trim();
    if provider.is_empty() {
        return Err(NumberError::MissingProviderId);
    }
    let area_code = input
        .area_code
        .clone()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| area_code_of(&number));
    Ok(vec![NumberEvent::NumberAddedToPool {
        number,
        provider_phone_number_id: provider.to_owned(),
        area_code,
        locality: input.locality.trim().to_owned(),
        region: input.region.trim().to_owned(),
        occurred_at: now,
    }])
}

/// Assigns an available number to a business that has none yet.
pub fn assign(
    state: &Number,
    business_id: Uuid,
    business_has_number: bool,
    now: DateTime<Utc>,
) -> Result<Vec<NumberEvent>, NumberError> {
    match state.status {
        NumberStatus::Unknown => Err(NumberError::UnknownNumber),
        NumberStatus::Assigned(owner) if owner == business_id => Ok(Vec::new()),
        NumberStatus::Assigned(_) | NumberStatus::Suspended => Err(NumberError::NotAvailable),
        NumberStatus::Available if business_has_number => Err(NumberError::BusinessHasNumber),
        NumberStatus::Available => Ok(vec![NumberEvent::NumberAssigned {
            number: state.number.clone(),
            business_id,
            occurred_at: now,
        }]),
    }
}

/// Gives the business's number back to the pool.
pub fn release(
    state: &Number,
    business_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<NumberEvent>, NumberError> {
    match state.status {
        NumberStatus::Assigned(owner) if owner == business_id => {
            Ok(vec![NumberEvent::NumberReleased {
                number: state.number.clone(),
                business_id,
                occurred_at: now,
            }])
        }
        _ => Err(NumberError::NotAssignedToBusiness),
    }
}

/// Takes a number out of service (platform admin); suspending twice is a no-op.
pub fn suspend(
    state: &Number,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<NumberEvent>, NumberError> {
    let business_id = match state.status {
        NumberStatus::Unknown => return Err(NumberError::UnknownNumber),
        NumberStatus::Suspended => return Ok(Vec::new()),
        NumberStatus::Assigned(owner) => Some(owner),
        NumberStatus::Available => None,
    };
    Ok(vec![NumberEvent::NumberSuspended {
        number: state.number.clone(),
        business_id,
        reason: reason.trim().to_owned(),
        occurred_at: now,
    }])
}
