//! Users: registration (email normalized, password policy) and platform roles.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use events::Aggregate;
use events::catalog::{PlatformRole, UserEvent};
use uuid::Uuid;

/// A user as folded from the `user-<id>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub id: Option<Uuid>,
    pub email: String,
    pub platform_roles: BTreeSet<PlatformRole>,
}

impl Aggregate for User {
    type Event = UserEvent;
    fn evolve(mut self, event: &UserEvent) -> Self {
        match event {
            UserEvent::UserRegistered { user_id, email, .. } => {
                self.id = Some(*user_id);
                self.email.clone_from(email);
            }
            UserEvent::PlatformRoleGranted { role, .. } => {
                self.platform_roles.insert(*role);
            }
            UserEvent::PlatformRoleRevoked { role, .. } => {
                self.platform_roles.remove(role);
            }
        }
        self
    }
}

/// Rules a user command can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("{0:?} is not a valid email address")]
    BadEmail(String),
    #[error("the password must be 8 to 256 characters")]
    WeakPassword,
    #[error("the user already exists")]
    AlreadyRegistered,
    #[error("user not found")]
    NotFound,
}

/// Trims and lowercases; refuses anything without exactly one `@` and a dotted domain.
pub fn normalize_email(email: &str) -> Result<String, UserError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        });
    if valid {
        Ok(email)
    } else {
        Err(UserError::BadEmail(email))
    }
}

/// 8 to 256 characters; anything else is the user's business.
pub fn validate_password(password: &str) -> Result<(), UserError> {
    let len = password.chars().count();
    if (8..=256).contains(&len) {
        Ok(())
    } else {
        Err(UserError::WeakPassword)
    }
}

/// Registers a new user.
pub fn register(
    state: &User,
    user_id: Uuid,
    email: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Vec<UserEvent>, UserError> {
    if state.id.is_some() {
        return Err(UserError::AlreadyRegistered);
    }
    let email = normalize_email(email)?;
    validate_password(password)?;
    Ok(vec![UserEvent::UserRegistered {
        user_id,
        email,
        occurred_at: now,
    }])
}

/// Grants a platform role; granting a role the user has is a no-op.
pub fn grant_platform_role(
    state: &User,
    role: PlatformRole,
    now: DateTime<Utc>,
) -> Result<Vec<UserEvent>, UserError> {
    let Some(user_id) = state.id else {
        return Err(UserError::NotFound);
    };
    if state.platform_roles.contains(&role) {
        return Ok(Vec::new());
    }
    Ok(vec![UserEvent::PlatformRoleGranted {
        user_id,
        role,
        occurred_at: now,
    }])
}
