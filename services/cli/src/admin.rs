//! `voiceappoint admin create --email E --password P --role platform_admin|finance|auditor`: platform users
//! are made here and never by an open endpoint (DESIGN.md §10).

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use events::catalog::PlatformRole;

use crate::config::Config;
use crate::platform;

#[derive(Subcommand)]
pub enum AdminAction {
    /// Create a platform user with a role, or grant the role to the user who already has that email.
    Create {
        #[arg(long)]
        email: String,
        /// Only used when the user is created. Prefer `VOICEAPPOINT_ADMIN_PASSWORD` to keep it out of
        /// shell history.
        #[arg(long, env = "VOICEAPPOINT_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    Finance,
    Auditor,
}

impl From<Role> for PlatformRole {
    fn from(role: Role) -> Self {
        match role {
            Role::PlatformAdmin => Self::PlatformAdmin,
            Role::Finance => Self::Finance,
            Role::Auditor => Self::Auditor,
        }
    }
}

pub async fn run(config: &Config, action: AdminAction) -> anyhow::Result<()> {
    let AdminAction::Create {
        email,
        password,
        role,
    } = action;
    let store = platform::open_store_migrated(config).await?;
    let role = PlatformRole::from(role);
    let outcome = api::tenancy::admin::create_platform_user(&store, &email, &password, role)
        .await
        .context("creating the platform user")?;
    let what = match (outcome.created, outcome.granted) {
        (true, _) => "created user",
        (false, true) => "granted role to existing user",
        (false, false) => "user already has the role",
    };
    tracing::info!(user_id = %outcome.user_id, role = role.as_str(), "{what}");
    eprintln!("{what} {} ({})", outcome.user_id, role.as_str());
    Ok(())
}
