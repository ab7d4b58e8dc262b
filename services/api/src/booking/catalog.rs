//! Builds a [`BusinessCatalog`] from the catalog read models (issue 3's `tenancy::read`), and reads the
//! booking read models (busy intervals, appointments), all under the tenant's row-level security.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use domain::catalog::{overrides_from_spec, weekly_from_spec};
use domain::scheduling::{BusyInterval, ServiceRules, StaffSchedule};
use sqlx::PgPool;
use uuid::Uuid;

use super::{BusinessCatalog, CatalogService, CatalogStaff};
use crate::tenancy::access::Tenant;
use crate::tenancy::read;
use crate::{ApiError, AppState};

/// The catalog of the business a request was admitted to, at the revision found by the access check.
pub async fn of_tenant(
    state: &AppState,
    tenant: &Tenant,
) -> Result<Arc<BusinessCatalog>, ApiError> {
    at_revision(state, tenant.business_id, tenant.catalog_revision).await
}

/// The catalog of business `tenant` as the read models hold it now (one query for its revision; the
/// catalog tables are read only when it changed since the cached copy).
pub async fn current(state: &AppState, tenant: Uuid) -> Result<Arc<BusinessCatalog>, ApiError> {
    let revision = revision(state.store().pool(), tenant).await?;
    at_revision(state, tenant, revision).await
}

/// How many catalog changes of `tenant` the catalog projector has applied (0 before the first).
pub async fn revision(pool: &PgPool, tenant: Uuid) -> Result<i64, sqlx::Error> {
    let revision: Option<i64> =
        sqlx::query_scalar("select revision from catalog_revisions where tenant_id = $1")
            .bind(tenant)
            .fetch_optional(pool)
            .await?;
    Ok(revision.unwrap_or(0))
}

/// The catalog at `revision` or later: cached, or read and cached at `revision`. A read that sees a later
/// revision's rows is still tagged with the earlier one, so the next request reads again — never the reverse.
async fn at_revision(
    state: &AppState,
    tenant: Uuid,
    revision: i64,
) -> Result<Arc<BusinessCatalog>, ApiError> {
    if let Some(catalog) = state.catalogs().get(tenant, revision) {
        return Ok(catalog);
    }
    let catalog = Arc::new(load(state.store().pool(), tenant).await?);
    state.catalogs().put(tenant, revision, Arc::clone(&catalog));
    Ok(catalog)
}

/// The catalog of business `tenant` as the read models hold it now, read from the tables.
pub async fn load(pool: &PgPool, tenant: Uuid) -> Result<BusinessCatalog, ApiError> {
    let hours = read::hours(pool, tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("business"))?;
    let services = read::services(pool, tenant, true)
        .await?
        .into_iter()
        .map(|s| CatalogService {
            id: s.id,
            name: s.name,
            rules: ServiceRules {
                duration_minutes: s.duration_minutes,
                step_minutes: s.slot_step_minutes,
                buffer_before_minutes: s.buffer_before_minutes,
                buffer_after_minutes: s.buffer_after_minutes,
                min_notice_minutes: s.min_notice_minutes,
                horizon_days: s.horizon_days,
            },
            retired: s.retired,
        })
        .collect();
    let mut staff = Vec::new();
    for member in read::staff(pool, tenant).await? {
        let weekly = member
            .weekly
            .as_ref()
            .map(weekly_from_spec)
            .transpose()
            .map_err(|e| ApiError::internal(&e))?;
        let overrides =
            overrides_from_spec(&member.overrides).map_err(|e| ApiError::internal(&e))?;
        staff.push(CatalogStaff {
            id: member.id,
            name: member.name,
            service_ids: member.service_ids,
            schedule: StaffSchedule {
                staff_id: member.id,
                weekly,
                overrides,
            },
        });
    }
    Ok(BusinessCatalog {
        business_id: tenant,
        timezone: hours.timezone,
        weekly: hours.weekly,
        overrides: hours.overrides,
        services,
        staff,
    })
}

type BusyRow = (Option<Uuid>, DateTime<Utc>, DateTime<Utc>, i32, i32);

/// Busy intervals of `tenant` (appointments and live holds) that can affect slots of a service with `rules`
/// starting between the instants `from` and `to`, from the availability read model. A business without
/// staff has every interval business-wide.
///
/// A slot blocks `[start − its buffer before, end + its buffer after)` and a busy interval blocks
/// `[start − buffer before, end + buffer after)`, so only intervals whose widened span reaches into
/// `[from − the service's buffer before, to + a day + duration + buffer after)` can matter (the extra day: hours
/// across midnight give a date slots that start after it). That is the exact filter; the index range
/// around it uses that buffers and durations are at most a day (`domain::catalog::service`). A question costs
/// what its window holds, not every future appointment of the business.
pub async fn busy(
    pool: &PgPool,
    tenant: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    rules: &ServiceRules,
    now: DateTime<Utc>,
    business_wide: bool,
) -> Result<Vec<BusyInterval>, ApiError> {
    let (before, after) = rules.blocks_around_start();
    let (reach_from, reach_to) = (from - before, to + TimeDelta::days(1) + after);
    let mut tx = read::tenant_tx(pool, tenant).await?;
    let rows: Vec<BusyRow> = sqlx::query_as(
        "select staff_id, starts_at, ends_at, buffer_before_minutes, buffer_after_minutes \
         from availability_busy where tenant_id = $1 and ends_at > $2 and ends_at < $3 \
           and ends_at + make_interval(mins => buffer_after_minutes) > $4 \
           and starts_at - make_interval(mins => buffer_before_minutes) < $5 \
           and (expires_at is null or expires_at > $6)",
    )
    .bind(tenant)
    .bind(reach_from - TimeDelta::days(1))
    .bind(reach_to + TimeDelta::days(2))
    .bind(reach_from)
    .bind(reach_to)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(staff_id, start, end, before, after)| BusyInterval {
            resource: if business_wide { None } else { staff_id },
            start,
            end,
            buffer_before_minutes: u32::try_from(before).unwrap_or(0),
            buffer_after_minutes: u32::try_from(after).unwrap_or(0),
        })
        .collect())
}

/// One row of the appointments read model, joined with its client.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AppointmentRow {
    pub id: Uuid,
    pub status: String,
    pub service_id: Uuid,
    pub staff_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub client_name: Option<String>,
    pub client_phone: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub notes: Option<String>,
}

/// Appointments of `tenant` starting in `[from, to)`, optionally of one status and one client phone.
pub async fn appointments(
    pool: &PgPool,
    tenant: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    status: Option<&str>,
    phone: Option<&str>,
) -> Result<Vec<AppointmentRow>, ApiError> {
    let mut tx = read::tenant_tx(pool, tenant).await?;
    let rows = sqlx::query_as(
        "select a.booking_id as id, a.status, a.service_id, a.staff_id, a.client_id, \
           c.name as client_name, c.phone as client_phone, a.starts_at, a.ends_at, a.notes \
         from appointments a left join clients c on c.client_id = a.client_id \
         where a.tenant_id = $1 and a.starts_at >= $2 and a.starts_at < $3 \
           and ($4::text is null or a.status = $4) and ($5::text is null or c.phone = $5) \
         order by a.starts_at, a.booking_id limit 1000",
    )
    .bind(tenant)
    .bind(from)
    .bind(to)
    .bind(status)
    .bind(phone.map(events::client::normalize_phone))
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows)
}
