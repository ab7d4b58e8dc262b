//! The business aggregate: registration, profile, opening hours, members and agent settings.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use events::Aggregate;
use events::catalog::{AgentSettings, BusinessEvent, Intervals, OverridesSpec, Role, WeeklySpec};
use uuid::Uuid;

use crate::catalog::hours::{
    HoursSpecError, overrides_from_spec, overrides_to_spec, weekly_from_spec, weekly_to_spec,
};
use crate::catalog::money::{MoneyError, validate_currency};

/// A business's descriptive profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub business_type: String,
    pub timezone: String,
    pub locale: String,
    pub currency: String,
}

/// A member of a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub email: String,
    pub role: Role,
}

/// A business as folded from its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Business {
    pub id: Option<Uuid>,
    pub slug: String,
    pub profile: Profile,
    pub voice_booking_enabled: bool,
    /// `None` until hours are first set.
    pub weekly: Option<WeeklySpec>,
    pub overrides: BTreeMap<NaiveDate, Intervals>,
    pub members: BTreeMap<Uuid, Member>,
    pub agent: Option<AgentSettings>,
    /// `PlanAssigned` as (effective from, plan code), in stream order.
    pub plan_changes: Vec<(NaiveDate, String)>,
}

impl Aggregate for Business {
    type Event = BusinessEvent;
    fn evolve(mut self, event: &BusinessEvent) -> Self {
        match event {
            BusinessEvent::BusinessRegistered {
                business_id,
                slug,
                name,
                business_type,
                timezone,
                locale,
                currency,
                ..
            } => {
                self.id = Some(*business_id);
                self.slug.clone_from(slug);
                self.voice_booking_enabled = true;
                self.profile = Profile {
                    name: name.clone(),
                    business_type: business_type.clone(),
                    timezone: timezone.clone(),
                    locale: locale.clone(),
                    currency: currency.clone(),
                };
            }
            BusinessEvent::BusinessProfileUpdated {
                name,
                business_type,
                timezone,
                locale,
                currency,
                ..
            } => {
                self.profile = Profile {
                    name: name.clone(),
                    business_type: business_type.clone(),
                    timezone: timezone.clone(),
                    locale: locale.clone(),
                    currency: currency.clone(),
                };
            }
            BusinessEvent::BusinessHoursSet { weekly, .. } => self.weekly = Some(weekly.clone()),
            BusinessEvent::DateOverrideSet {
                date, intervals, ..
            } => match intervals {
                Some(intervals) => {
                    self.overrides.insert(*date, intervals.clone());
                }
                None => {
                    self.overrides.remove(date);
                }
            },
            BusinessEvent::MemberAdded {
                user_id,
                email,
                role,
                ..
            } => {
                self.members.insert(
                    *user_id,
                    Member {
                        email: email.clone(),
                        role: *role,
                    },
                );
            }
            BusinessEvent::MemberRoleChanged { user_id, role, .. } => {
                if let Some(member) = self.members.get_mut(user_id) {
                    member.role = *role;
                }
            }
            BusinessEvent::MemberRemoved { user_id, .. } => {
                self.members.remove(user_id);
            }
            BusinessEvent::VoiceBookingToggled { enabled, .. } => {
                self.voice_booking_enabled = *enabled;
            }
            BusinessEvent::AgentConfigured { agent, .. } => self.agent = Some(agent.clone()),
            BusinessEvent::PlanAssigned {
                plan,
                effective_from,
                ..
            } => self.plan_changes.push((*effective_from, plan.clone())),
        }
        self
    }
}

impl Business {
    /// The role of `user_id` in this business, if a member.
    pub fn role_of(&self, user_id: Uuid) -> Option<Role> {
        self.members.get(&user_id).map(|m| m.role)
    }

    /// The business's zone (registration validated it; UTC if the stored name were ever unknown).
    pub fn tz(&self) -> Tz {
        self.profile.timezone.parse().unwrap_or(Tz::UTC)
    }

    fn owners(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.role == Role::Owner)
            .count()
    }
}

/// Rules a business command can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessError {
    #[error("name must be 1 to 200 characters")]
    BadName,
    #[error("business_type must be 1 to 50 characters")]
    BadBusinessType,
    #[error("unknown time zone {0:?}: expected an IANA name such as Europe/Madrid")]
    UnknownTimezone(String),
    #[error("locale {0:?} is not a language tag such as en or es-ES")]
    BadLocale(String),
    #[error(transparent)]
    Currency(#[from] MoneyError),
    #[error(transparent)]
    Hours(#[from] HoursSpecError),
    #[error("{0} must be 1 to {1} characters")]
    BadAgentField(&'static str, usize),
    #[error("the user is already a member")]
    AlreadyMember,
    #[error("member not found")]
    NotAMember,
    #[error("only an owner may grant, change or remove the owner role")]
    OwnerOnly,
    #[error("a business must keep at least one owner")]
    LastOwner,
    #[error("business not found")]
    NotFound,
}

/// Profile fields as a client sends them; `None` = default (register) or unchanged (update).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileInput {
    pub name: Option<String>,
    pub business_type: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    pub currency: Option<String>,
}

fn validate_profile(base: &Profile, input: &ProfileInput) -> Result<Profile, BusinessError> {
    let pick = |new: &Option<String>, old: &str| new.as_deref().unwrap_or(old).trim().to_owned();
    let profile = Profile {
        name: pick(&input.name, &base.name),
        business_type: pick(&input.business_type, &base.business_type).to_lowercase(),
        timezone: pick(&input.timezone, &base.timezone),
        locale: pick(&input.locale, &base.locale),
        currency: pick(&input.currency, &base.currency).to_uppercase(),
    };
    if profile.name.is_empty() || profile.name.chars().count() > 200 {
        return Err(BusinessError::BadName);
    }
    if profile.business_type.is_empty() || profile.business_type.chars().count() > 50 {
        return Err(BusinessError::BadBusinessType);
    }
    if profile.timezone.parse::<Tz>().is_err() {
        return Err(BusinessError::UnknownTimezone(profile.timezone));
    }
    let locale_ok = (2..=12).contains(&profile.locale.len())
        && profile
            .locale
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !locale_ok {
        return Err(BusinessError::BadLocale(profile.locale));
    }
    validate_currency(&profile.currency)?;
    Ok(profile)
}

/// Registering a business with its first owner.
#[derive(Debug, Clone)]
pub struct RegisterBusiness {
    pub business_id: Uuid,
    pub slug: String,
    pub owner_id: Uuid,
    pub owner_email: String,
    /// `name` and `timezone` are required; type defaults to `other`, locale `en`, currency `USD`.
    pub profile: ProfileInput,
}

/// Registers a business: `BusinessRegistered` then the owner's `MemberAdded`.
pub fn register(
    state: &Business,
    cmd: &RegisterBusiness,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, BusinessError> {
    if state.id.is_some() {
        return Err(BusinessError::AlreadyMember);
    }
    let defaults = Profile {
        name: String::new(),
        business_type: "other".into(),
        timezone: String::new(),
        locale: "en".into(),
        currency: "USD".into(),
    };
    let profile = validate_profile(&defaults, &cmd.profile)?;
    Ok(vec![
        BusinessEvent::BusinessRegistered {
            business_id: cmd.business_id,
            slug: cmd.slug.clone(),
            name: profile.name,
            business_type: profile.business_type,
            timezone: profile.timezone,
            locale: profile.locale,
            currency: profile.currency,
            registered_by: cmd.owner_id,
            occurred_at: now,
        },
        BusinessEvent::MemberAdded {
            business_id: cmd.business_id,
            user_id: cmd.owner_id,
            email: cmd.owner_email.clone(),
            role: Role::Owner,
            occurred_at: now,
        },
    ])
}

/// Changes profile fields and/or voice booking; only real changes are recorded.
pub fn update_profile(
    state: &Business,
    input: &ProfileInput,
    voice_booking_enabled: Option<bool>,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, BusinessError> {
    let business_id = state.id.ok_or(BusinessError::NotFound)?;
    let profile = validate_profile(&state.profile, input)?;
    let mut events = Vec::new();
    if profile != state.profile {
        events.push(BusinessEvent::BusinessProfileUpdated {
            business_id,
            name: profile.name,
            business_type: profile.business_type,
            timezone: profile.timezone,
            locale: profile.locale,
            currency: profile.currency,
            occurred_at: now,
        });
    }
    if let Some(enabled) = voice_booking_enabled.filter(|e| *e != state.voice_booking_enabled) {
        events.push(BusinessEvent::VoiceBookingToggled {
            business_id,
            enabled,
            occurred_at: now,
        });
    }
    Ok(events)
}

/// Replaces the weekly hours and the set of date overrides (dates left out lose their override).
pub fn set_hours(
    state: &Business,
    weekly: &WeeklySpec,
    overrides: &OverridesSpec,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, BusinessError> {
    let business_id = state.id.ok_or(BusinessError::NotFound)?;
    let weekly = weekly_to_spec(&weekly_from_spec(weekly).map_err(HoursSpecError::from)?);
    let overrides = overrides_from_spec(overrides)?;
    let mut events = Vec::new();
    if state.weekly.as_ref() != Some(&weekly) {
        events.push(BusinessEvent::BusinessHoursSet {
            business_id,
            weekly,
            occurred_at: now,
        });
    }
    let wanted: BTreeMap<NaiveDate, Intervals> = overrides_to_spec(&overrides)
        .into_iter()
        .filter_map(|(date, intervals)| Some((date.parse().ok()?, intervals)))
        .collect();
    for (date, intervals) in &wanted {
        if state.overrides.get(date) != Some(intervals) {
            events.push(BusinessEvent::DateOverrideSet {
                business_id,
                date: *date,
                intervals: Some(intervals.clone()),
                occurred_at: now,
            });
        }
    }
    for date in state.overrides.keys().filter(|d| !wanted.contains_key(d)) {
        events.push(BusinessEvent::DateOverrideSet {
            business_id,
            date: *date,
            intervals: None,
            occurred_at: now,
        });
    }
    Ok(events)
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<String, BusinessError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(BusinessError::BadAgentField(field, max));
    }
    Ok(value.to_owned())
}

fn optional(
    field: &'static str,
    value: Option<&String>,
    max: usize,
) -> Result<Option<String>, BusinessError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| bounded(field, v, max))
        .transpose()
}

/// Sets the agent's name, greeting, voice, personality and extra instructions.
pub fn configure_agent(
    state: &Business,
    agent: &AgentSettings,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, BusinessError> {
    let business_id = state.id.ok_or(BusinessError::NotFound)?;
    let agent = AgentSettings {
        name: bounded("name", &agent.name, 100)?,
        greeting: bounded("greeting", &agent.greeting, 1000)?,
        voice_id: optional("voice_id", agent.voice_id.as_ref(), 200)?,
        personality: optional("personality", agent.personality.as_ref(), 200)?,
        instructions: optional("instructions", agent.instructions.as_ref(), 10_000)?,
    };
    if state.agent.as_ref() == Some(&agent) {
        return Ok(Vec::new());
    }
    Ok(vec![BusinessEvent::AgentConfigured {
        business_id,
        agent,
        occurred_at: now,
    }])
}

/// Adds an existing user as a member. Only owners may add owners.
pub fn add_member(
    state: &Business,
    actor_role: Role,
    user_id: Uuid,
    email: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, BusinessError> {
    let business_id = state.id.ok_or(BusinessError::NotFound)?;
    if state.members.contains_key(&user_id) {
        return Err(BusinessError::AlreadyMember);
    }
    if role == Role::Owner && actor_role != Role::Owner {
        return Err(BusinessError::OwnerOnly);
    }
    Ok(vec![BusinessEvent::MemberAdded {
        business_id,
        user_id,
        email: email.to_owned(),
        role,
        occurred_at: now,
    }])
}

/// Changes a member's role; owners are changed only by owners and the last owner stays.
pub fn change_member_role(
    state: &Business,
    actor_role: Role,
    user_id: Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, BusinessError> {
    let business_id = state.id.ok_or(BusinessError::NotFound)?;
    let current = state.role_of(user_id).ok_or(BusinessError::NotAMember)?;
    if current == role {
        return Ok(Vec::new());
    }
    if (current == Role::Owner || role == Role::Owner) && actor_role != Role::Owner {
        return Err(BusinessError::OwnerOnly);
    }
    if current == Role::Owner && state.owners() == 1 {
        return Err(BusinessError::LastOwner);
    }
    Ok(vec![BusinessEvent::MemberRoleChanged {
        business_id,
        user_id,
        role,
        occurred_at: now,
    }])
}

/// Removes a member; owners are removed only by owners and the last owner stays.
pub fn remove_member(
    state: &Business,
    actor_role: Role,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<BusinessEvent>, BusinessError> {
    let business_id = state.id.ok_or(BusinessError::NotFound)?;
    let current = state.role_of(user_id).ok_or(BusinessError::NotAMember)?;
    if current == Role::Owner {
        if actor_role != Role::Owner {
            return Err(BusinessError::OwnerOnly);
        }
        if state.owners() == 1 {
            return Err(BusinessError::LastOwner);
        }
    }
    Ok(vec![BusinessEvent::MemberRemoved {
        business_id,
        user_id,
        occurred_at: now,
    }])
}
