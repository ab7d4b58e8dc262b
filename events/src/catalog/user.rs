//! `user-<id>`: people who log in. Credentials are not events: the password hash lives in the write-side
//! `user_credentials` table, so the immutable, auditor-readable log never holds a secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Roles across the platform, granted from the command line only (DESIGN.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformRole {
    /// Manages the phone-number pool.
    PlatformAdmin,
    /// Reads usage and invoices of every tenant.
    Finance,
    /// Reads the full history of every call and stream.
    Auditor,
}

impl PlatformRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "platform_admin",
            Self::Finance => "finance",
            Self::Auditor => "auditor",
        }
    }

    /// Parses `platform_admin` / `finance` / `auditor`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "platform_admin" => Some(Self::PlatformAdmin),
            "finance" => Some(Self::Finance),
            "auditor" => Some(Self::Auditor),
            _ => None,
        }
    }
}

/// Events of a `user-<id>` stream. Users belong to no tenant (`tenant_id` is null on these events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum UserEvent {
    UserRegistered {
        user_id: Uuid,
        /// Lowercased and trimmed.
        email: String,
        occurred_at: DateTime<Utc>,
    },
    PlatformRoleGranted {
        user_id: Uuid,
        role: PlatformRole,
        occurred_at: DateTime<Utc>,
    },
    PlatformRoleRevoked {
        user_id: Uuid,
        role: PlatformRole,
        occurred_at: DateTime<Utc>,
    },
}
