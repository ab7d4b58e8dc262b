//! Tenancy decisions: users, businesses (profile, hours, members, agent), roles and slugs. Pure.

pub mod business;
pub mod role;
pub mod slug;
pub mod user;

#[cfg(test)]
mod tests;

pub use business::{Business, BusinessError, Member, Profile, ProfileInput, RegisterBusiness};
pub use role::{Permission, allows, allows_auditor};
pub use slug::{slug_candidate, slugify};
pub use user::{User, UserError, normalize_email, validate_password};
