//! Business stream → `catalog_businesses`, `catalog_date_overrides`, `catalog_members`, `catalog_agents`.

use events::catalog::BusinessEvent;
use sqlx::PgConnection;
use sqlx::types::Json;
use store::StoredEvent;

pub(super) async fn apply(
    conn: &mut PgConnection,
    event: &BusinessEvent,
    stored: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let at = stored.recorded_at;
    match event {
        BusinessEvent::BusinessRegistered {
            business_id,
            slug,
            name,
            business_type,
            timezone,
            locale,
            currency,
            occurred_at,
            ..
        } => {
            sqlx::query(
                "insert into catalog_businesses (tenant_id, slug, name, business_type, timezone, locale, \
                   currency, voice_booking_enabled, registered_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, true, $8, $9) on conflict (tenant_id) do nothing",
            )
            .bind(business_id)
            .bind(slug)
            .bind(name)
            .bind(business_type)
            .bind(timezone)
            .bind(locale)
            .bind(currency)
            .bind(occurred_at)
            .bind(at)
            .execute(conn)
            .await?;
        }
        BusinessEvent::BusinessProfileUpdated {
            business_id,
            name,
            business_type,
            timezone,
            locale,
            currency,
            ..
        } => {
            sqlx::query(
                "update catalog_businesses set name = $2, business_type = $3, timezone = $4, \
                   locale = $5, currency = $6, updated_at = $7 where tenant_id = $1",
            )
            .bind(business_id)
            .bind(name)
            .bind(business_type)
            .bind(timezone)
            .bind(locale)
            .bind(currency)
            .bind(at)
            .execute(conn)
            .await?;
        }
        BusinessEvent::BusinessHoursSet {
            business_id,
            weekly,
            ..
        } => {
            sqlx::query(
                "update catalog_businesses set weekly_hours = $2, updated_at = $3 where tenant_id = $1",
            )
            .bind(business_id)
            .bind(Json(weekly))
            .bind(at)
            .execute(conn)
            .await?;
        }
        BusinessEvent::DateOverrideSet {
            business_id,
            date,
            intervals: Some(intervals),
            ..
        } => {
            sqlx::query(
                "insert into catalog_date_overrides (tenant_id, date, intervals) values ($1, $2, $3) \
                 on conflict (tenant_id, date) do update set intervals = excluded.intervals",
            )
            .bind(business_id)
            .bind(date)
            .bind(Json(intervals))
            .execute(conn)
            .await?;
        }
        BusinessEvent::DateOverrideSet {
            business_id,
            date,
            intervals: None,
            ..
        } => {
            sqlx::query("delete from catalog_date_overrides where tenant_id = $1 and date = $2")
                .bind(business_id)
                .bind(date)
                .execute(conn)
                .await?;
        }
        other => apply_people(conn, other, at).await?,
    }
    Ok(())
}

/// Members, voice booking and the agent.
async fn apply_people(
    conn: &mut PgConnection,
    event: &BusinessEvent,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    match event {
        BusinessEvent::MemberAdded {
            business_id,
            user_id,
            email,
            role,
            occurred_at,
        } => {
            sqlx::query(
                "insert into catalog_members (tenant_id, user_id, email, role, added_at) \
                 values ($1, $2, $3, $4, $5) \
                 on conflict (tenant_id, user_id) do update set role = excluded.role, email = excluded.email",
            )
            .bind(business_id)
            .bind(user_id)
            .bind(email)
            .bind(role.as_str())
            .bind(occurred_at)
            .execute(conn)
            .await?;
        }
        BusinessEvent::MemberRoleChanged {
            business_id,
            user_id,
            role,
            ..
        } => {
            sqlx::query(
                "update catalog_members set role = $3 where tenant_id = $1 and user_id = $2",
            )
            .bind(business_id)
            .bind(user_id)
            .bind(role.as_str())
            .execute(conn)
            .await?;
        }
        BusinessEvent::MemberRemoved {
            business_id,
            user_id,
            ..
        } => {
            sqlx::query("delete from catalog_members where tenant_id = $1 and user_id = $2")
                .bind(business_id)
                .bind(user_id)
                .execute(conn)
                .await?;
        }
        BusinessEvent::VoiceBookingToggled {
            business_id,
            enabled,
            ..
        } => {
            sqlx::query(
                "update catalog_businesses set voice_booking_enabled = $2, updated_at = $3 \
                 where tenant_id = $1",
            )
            .bind(business_id)
            .bind(enabled)
            .bind(at)
            .execute(conn)
            .await?;
        }
        BusinessEvent::AgentConfigured {
            business_id, agent, ..
        } => {
            sqlx::query(
                "insert into catalog_agents (tenant_id, name, greeting, voice_id, personality, \
                   instructions, updated_at) values ($1, $2, $3, $4, $5, $6, $7) \
                 on conflict (tenant_id) do update set name = excluded.name, greeting = excluded.greeting, \
                   voice_id = excluded.voice_id, personality = excluded.personality, \
                   instructions = excluded.instructions, updated_at = excluded.updated_at",
            )
            .bind(business_id)
            .bind(&agent.name)
            .bind(&agent.greeting)
            .bind(&agent.voice_id)
            .bind(&agent.personality)
            .bind(&agent.instructions)
            .bind(at)
            .execute(conn)
            .await?;
        }
        _ => {}
    }
    Ok(())
}
