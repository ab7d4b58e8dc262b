//! Platform users, made from the command line only (`voiceappoint admin create`, DESIGN.md §10): creates
//! the user with the role, or grants the role to an existing user.

use events::catalog::{PlatformRole, UserEvent};
use events::{Actor, Metadata};
use futures::FutureExt;
use store::error::violated_constraint;
use store::{EventStore, ExpectedVersion, StoreError, StreamAppend};
use uuid::Uuid;

use domain::tenancy::{User, user};

use super::auth::hash_password;
use super::handlers::auth::user_stream;

/// What `admin create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminOutcome {
    pub user_id: Uuid,
    /// True when a new user was made; false when the role was granted to an existing one.
    pub created: bool,
    /// False when the user already had the role.
    pub granted: bool,
}

/// Why `admin create` failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn cli_metadata() -> Metadata {
    Metadata {
        correlation_id: Some(Uuid::now_v7()),
        actor: Some(Actor::System {
            component: "cli:admin".into(),
        }),
        ..Metadata::default()
    }
}

fn encode(events: &[UserEvent], meta: &Metadata) -> Result<Vec<events::NewEvent>, AdminError> {
    events
        .iter()
        .map(|e| {
            events::NewEvent::tagged(None, e, meta.clone())
                .map_err(|err| AdminError::Store(err.into()))
        })
        .collect()
}

/// Creates a platform user with `role`, or grants `role` to the user who has `email`. The password is
/// only used when the user is created.
pub async fn create_platform_user(
    store: &EventStore,
    email: &str,
    password: &str,
    role: PlatformRole,
) -> Result<AdminOutcome, AdminError> {
    let invalid = |e: user::UserError| AdminError::Invalid(e.to_string());
    let email = user::normalize_email(email).map_err(invalid)?;
    let now = store.clock().now();
    let meta = cli_metadata();
    let existing: Option<Uuid> =
        sqlx::query_scalar("select user_id from user_credentials where email = $1")
            .bind(&email)
            .fetch_optional(store.pool())
            .await
            .map_err(StoreError::from)?;
    if let Some(user_id) = existing {
        let (state, version) = store.load::<User>(&user_stream(user_id)).await?;
        let events = user::grant_platform_role(&state, role, now).map_err(invalid)?;
        let granted = !events.is_empty();
        if granted {
            store
                .append(
                    &user_stream(user_id),
                    ExpectedVersion::Exact(version),
                    encode(&events, &meta)?,
                )
                .await?;
        }
        return Ok(AdminOutcome {
            user_id,
            created: false,
            granted,
        });
    }
    let user_id = Uuid::now_v7();
    let mut events =
        user::register(&User::default(), user_id, &email, password, now).map_err(invalid)?;
    events.push(UserEvent::PlatformRoleGranted {
        user_id,
        role,
        occurred_at: now,
    });
    let hash = hash_password(password.to_owned())
        .await
        .map_err(|e| AdminError::Invalid(e.message))?;
    let email_ = email.clone();
    let hook: store::AppendHook<'_> = Box::new(move |conn| {
        async move {
            sqlx::query(
                "insert into user_credentials (user_id, email, password_hash, created_at) \
                 values ($1, $2, $3, $4)",
            )
            .bind(user_id)
            .bind(email_)
            .bind(hash)
            .bind(now)
            .execute(conn)
            .await
            .map(|_| ())
        }
        .boxed()
    });
    let batch = StreamAppend::new(
        user_stream(user_id),
        ExpectedVersion::NoStream,
        encode(&events, &meta)?,
    );
    match store.append_many(vec![batch], Some(hook)).await {
        Ok(_) => Ok(AdminOutcome {
            user_id,
            created: true,
            granted: true,
        }),
        Err(StoreError::Hook(db))
            if violated_constraint(&db) == Some("user_credentials_email_key") =>
        {
            Err(AdminError::Invalid(
                "the email was registered concurrently; run again to grant the role".into(),
            ))
        }
        Err(err) => Err(err.into()),
    }
}
