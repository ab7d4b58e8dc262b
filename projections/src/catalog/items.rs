//! Service, staff and number streams → `catalog_services`, `catalog_staff`, `catalog_phone_numbers` (and
//! the business's `phone_number` column).

use events::catalog::{NumberEvent, ServiceEvent, StaffEvent};
use sqlx::PgConnection;
use sqlx::types::Json;
use store::StoredEvent;

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

pub(super) async fn service(
    conn: &mut PgConnection,
    event: &ServiceEvent,
    stored: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let at = stored.recorded_at;
    match event {
        ServiceEvent::ServiceAdded {
            service_id,
            business_id,
            settings: s,
            ..
        }
        | ServiceEvent::ServiceUpdated {
            service_id,
            business_id,
            settings: s,
            ..
        } => {
            sqlx::query(
                "insert into catalog_services (service_id, tenant_id, name, duration_minutes, price_minor, \
                   currency, slot_step_minutes, buffer_before_minutes, buffer_after_minutes, \
                   min_notice_minutes, horizon_days, voice_booking_enabled, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
                 on conflict (service_id) do update set name = excluded.name, \
                   duration_minutes = excluded.duration_minutes, price_minor = excluded.price_minor, \
                   currency = excluded.currency, slot_step_minutes = excluded.slot_step_minutes, \
                   buffer_before_minutes = excluded.buffer_before_minutes, \
                   buffer_after_minutes = excluded.buffer_after_minutes, \
                   min_notice_minutes = excluded.min_notice_minutes, horizon_days = excluded.horizon_days, \
                   voice_booking_enabled = excluded.voice_booking_enabled, updated_at = excluded.updated_at",
            )
            .bind(service_id)
            .bind(business_id)
            .bind(&s.name)
            .bind(int(s.duration_minutes))
            .bind(s.price_minor)
            .bind(&s.currency)
            .bind(s.slot_step_minutes.map(int))
            .bind(int(s.buffer_before_minutes))
            .bind(int(s.buffer_after_minutes))
            .bind(int(s.min_notice_minutes))
            .bind(int(s.horizon_days))
            .bind(s.voice_booking_enabled)
            .bind(at)
            .execute(conn)
            .await?;
        }
        ServiceEvent::ServiceRetired { service_id, .. } => {
            sqlx::query(
                "update catalog_services set retired = true, updated_at = $2 where service_id = $1",
            )
            .bind(service_id)
            .bind(at)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn staff(
    conn: &mut PgConnection,
    event: &StaffEvent,
    stored: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let at = stored.recorded_at;
    match event {
        StaffEvent::StaffAdded {
            staff_id,
            business_id,
            name,
            ..
        } => {
            sqlx::query(
                "insert into catalog_staff (staff_id, tenant_id, name, created_at, updated_at) \
                 values ($1, $2, $3, $4, $4) on conflict (staff_id) do nothing",
            )
            .bind(staff_id)
            .bind(business_id)
            .bind(name)
            .bind(at)
            .execute(conn)
            .await?;
        }
        StaffEvent::StaffScheduleSet {
            staff_id,
            weekly,
            overrides,
            ..
        } => {
            sqlx::query(
                "update catalog_staff set weekly_hours = $2, overrides = $3, updated_at = $4 \
                 where staff_id = $1",
            )
            .bind(staff_id)
            .bind(weekly.as_ref().map(Json))
            .bind(Json(overrides))
            .bind(at)
            .execute(conn)
            .await?;
        }
        StaffEvent::StaffServicesAssigned {
            staff_id,
            service_ids,
            ..
        } => {
            sqlx::query(
                "update catalog_staff set service_ids = $2, updated_at = $3 where staff_id = $1",
            )
            .bind(staff_id)
            .bind(service_ids)
            .bind(at)
            .execute(conn)
            .await?;
        }
        StaffEvent::StaffRemoved { staff_id, .. } => {
            sqlx::query(
                "update catalog_staff set removed = true, updated_at = $2 where staff_id = $1",
            )
            .bind(staff_id)
            .bind(at)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn number(
    conn: &mut PgConnection,
    event: &NumberEvent,
    stored: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let at = stored.recorded_at;
    match event {
        NumberEvent::NumberAddedToPool {
            number,
            provider_phone_number_id,
            area_code,
            locality,
            region,
            ..
        } => {
            sqlx::query(
                "insert into catalog_phone_numbers (number, tenant_id, provider_phone_number_id, area_code, \
                   locality, region, status, updated_at) values ($1, null, $2, $3, $4, $5, 'available', $6) \
                 on conflict (number) do nothing",
            )
            .bind(number)
            .bind(provider_phone_number_id)
            .bind(area_code)
            .bind(locality)
            .bind(region)
            .bind(at)
            .execute(conn)
            .await?;
        }
        NumberEvent::NumberAssigned {
            number,
            business_id,
            ..
        } => {
            sqlx::query(
                "update catalog_phone_numbers set tenant_id = $2, status = 'assigned', updated_at = $3 \
                 where number = $1",
            )
            .bind(number)
            .bind(business_id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "update catalog_businesses b set phone_number = p.number, \
                   provider_phone_number_id = p.provider_phone_number_id, updated_at = $3 \
                 from catalog_phone_numbers p where p.number = $1 and b.tenant_id = $2",
            )
            .bind(number)
            .bind(business_id)
            .bind(at)
            .execute(conn)
            .await?;
        }
        NumberEvent::NumberReleased { number, .. }
        | NumberEvent::NumberSuspended { number, .. } => {
            let status = if matches!(event, NumberEvent::NumberReleased { .. }) {
                "available"
            } else {
                "suspended"
            };
            // The business losing the number: its catalog changes too (the event may carry no tenant).
            let holder: Option<uuid::Uuid> = sqlx::query_scalar(
                "select tenant_id from catalog_businesses where phone_number = $1",
            )
            .bind(number)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(tenant) = holder {
                super::bump_revision(conn, tenant).await?;
            }
            sqlx::query(
                "update catalog_businesses set phone_number = null, provider_phone_number_id = null, \
                   updated_at = $2 where phone_number = $1",
            )
            .bind(number)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "update catalog_phone_numbers set tenant_id = null, status = $2, updated_at = $3 \
                 where number = $1",
            )
            .bind(number)
            .bind(status)
            .bind(at)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}
