//! Catalog queries over the read models, always under row-level security: every query runs in a
//! transaction as `va_reader` with `va.tenant_id` set, so a query that forgot its tenant filter would still
//! return nothing of another tenant. These are the functions the Vapi webhook and booking code call.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use domain::catalog::{format_minor, overrides_from_spec, weekly_from_spec};
use domain::scheduling::{DateOverrides, WeeklyHours};
use events::catalog::{Intervals, WeeklySpec};
use serde::Serialize;
use sqlx::Executor as _;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The statements that enter a row-level-security context for the rest of the transaction: the reader
/// role and `va.tenant_id` (a tenant's id, or `*` for the platform). Sent as one simple query; the value is
/// a formatted UUID or `*`, nothing a caller could inject into.
fn context_sql(tenant_id: &str) -> String {
    format!("set local role va_reader; select set_config('va.tenant_id', '{tenant_id}', true)")
}

/// Enters tenant `tenant`'s row-level-security context for the rest of the transaction.
pub async fn tenant_context(conn: &mut PgConnection, tenant: Uuid) -> Result<(), sqlx::Error> {
    conn.execute(context_sql(&tenant.to_string()).as_str())
        .await
        .map(drop)
}

/// The platform context (`va.tenant_id = '*'`): for queries that are about the platform, not one tenant
/// (the available number pool, a user's own memberships, the number directory).
pub async fn platform_context(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    conn.execute(context_sql("*").as_str()).await.map(drop)
}

/// A transaction in tenant `tenant`'s row-level-security context ([`tenant_context`]), begun in one round
/// trip: `BEGIN` goes with the context's statements.
pub async fn tenant_tx(
    pool: &PgPool,
    tenant: Uuid,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with(format!("begin; {}", context_sql(&tenant.to_string())))
        .await
}

/// The business id a slug names (write-side guard table: consistent immediately after registration).
pub async fn business_id_by_slug(pool: &PgPool, slug: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select business_id from business_slugs where slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await
}

/// How far a business is through onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent checklist items shown as JSON"
)]
pub struct Onboarding {
    pub hours: bool,
    pub services: bool,
    pub phone_number: bool,
    pub agent: bool,
}

/// A business as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusinessView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub business_type: String,
    pub timezone: String,
    pub locale: String,
    pub currency: String,
    pub voice_booking_enabled: bool,
    pub phone_number: Option<String>,
    pub onboarding: Onboarding,
    /// Hours, services, a number and an agent, with voice booking on: callers can book.
    pub live: bool,
}

#[derive(sqlx::FromRow)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one row of independent flags"
)]
struct BusinessRow {
    tenant_id: Uuid,
    slug: String,
    name: String,
    business_type: String,
    timezone: String,
    locale: String,
    currency: String,
    voice_booking_enabled: bool,
    phone_number: Option<String>,
    has_hours: bool,
    has_services: bool,
    has_agent: bool,
}

/// One business's profile and onboarding state.
pub async fn business(pool: &PgPool, tenant: Uuid) -> Result<Option<BusinessView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let row: Option<BusinessRow> = sqlx::query_as(
        "select b.tenant_id, b.slug, b.name, b.business_type, b.timezone, b.locale, b.currency, \
           b.voice_booking_enabled, b.phone_number, \
           (b.weekly_hours is not null) as has_hours, \
           exists (select 1 from catalog_services s where s.tenant_id = b.tenant_id and not s.retired) as has_services, \
           exists (select 1 from catalog_agents a where a.tenant_id = b.tenant_id) as has_agent \
         from catalog_businesses b where b.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|r| {
        let onboarding = Onboarding {
            hours: r.has_hours,
            services: r.has_services,
            phone_number: r.phone_number.is_some(),
            agent: r.has_agent,
        };
        let live = onboarding.hours
            && onboarding.services
            && onboarding.phone_number
            && onboarding.agent
            && r.voice_booking_enabled;
        BusinessView {
            id: r.tenant_id,
            slug: r.slug,
            name: r.name,
            business_type: r.business_type,
            timezone: r.timezone,
            locale: r.locale,
            currency: r.currency,
            voice_booking_enabled: r.voice_booking_enabled,
            phone_number: r.phone_number,
            onboarding,
            live,
        }
    }))
}

/// A business a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MembershipView {
    pub business_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: String,
}

/// Every business `user_id` is a member of (a query about the user, across tenants, filtered by user).
pub async fn memberships_of(
    pool: &PgPool,
    user_id: Uuid,
) -> Result<Vec<MembershipView>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    platform_context(&mut tx).await?;
    sqlx::query_as(
        "select m.tenant_id as business_id, b.slug, b.name, m.role \
         from catalog_members m join catalog_businesses b on b.tenant_id = m.tenant_id \
         where m.user_id = $1 order by b.slug",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await
}

/// A service as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceView {
    pub id: Uuid,
    pub name: String,
    pub duration_minutes: u32,
    /// Decimal string in the currency's minor unit, e.g. `"35.00"`.
    pub price: String,
    pub price_minor: i64,
    pub currency: String,
    pub slot_step_minutes: Option<u32>,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub min_notice_minutes: u32,
    pub horizon_days: u32,
    pub voice_booking_enabled: bool,
    pub retired: bool,
}

impl ServiceView {
    /// The view of a service's settings (used right after a command, before the projection catches up).
    pub fn of(id: Uuid, s: &events::catalog::ServiceSettings, retired: bool) -> Self {
        Self {
            id,
            name: s.name.clone(),
            duration_minutes: s.duration_minutes,
            price: format_minor(s.price_minor, &s.currency),
            price_minor: s.price_minor,
            currency: s.currency.clone(),
            slot_step_minutes: s.slot_step_minutes,
            buffer_before_minutes: s.buffer_before_minutes,
            buffer_after_minutes: s.buffer_after_minutes,
            min_notice_minutes: s.min_notice_minutes,
            horizon_days: s.horizon_days,
            voice_booking_enabled: s.voice_booking_enabled,
            retired,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    service_id: Uuid,
    name: String,
    duration_minutes: i32,
    price_minor: i64,
    currency: String,
    slot_step_minutes: Option<i32>,
    buffer_before_minutes: i32,
    buffer_after_minutes: i32,
    min_notice_minutes: i32,
    horizon_days: i32,
    voice_booking_enabled: bool,
    retired: bool,
}

fn unsigned(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

impl From<ServiceRow> for ServiceView {
    fn from(r: ServiceRow) -> Self {
        Self {
            id: r.service_id,
            price: format_minor(r.price_minor, &r.currency),
            name: r.name,
            duration_minutes: unsigned(r.duration_minutes),
            price_minor: r.price_minor,
            currency: r.currency,
            slot_step_minutes: r.slot_step_minutes.map(unsigned),
            buffer_before_minutes: unsigned(r.buffer_before_minutes),
            buffer_after_minutes: unsigned(r.buffer_after_minutes),
            min_notice_minutes: unsigned(r.min_notice_minutes),
            horizon_days: unsigned(r.horizon_days),
            voice_booking_enabled: r.voice_booking_enabled,
            retired: r.retired,
        }
    }
}

const SERVICE_COLUMNS: &str = "service_id, name, duration_minutes, price_minor, currency, \
    slot_step_minutes, buffer_before_minutes, buffer_after_minutes, min_notice_minutes, horizon_days, \
    voice_booking_enabled, retired";

/// A business's services, by name; retired ones only when asked.
pub async fn services(
    pool: &PgPool,
    tenant: Uuid,
    include_retired: bool,
) -> Result<Vec<ServiceView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let rows: Vec<ServiceRow> = sqlx::query_as(&format!(
        "select {SERVICE_COLUMNS} from catalog_services \
         where tenant_id = $1 and ($2 or not retired) order by name, service_id"
    ))
    .bind(tenant)
    .bind(include_retired)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(ServiceView::from).collect())
}

/// One service of a business (retired included).
pub async fn service(
    pool: &PgPool,
    tenant: Uuid,
    service_id: Uuid,
) -> Result<Option<ServiceView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let row: Option<ServiceRow> = sqlx::query_as(&format!(
        "select {SERVICE_COLUMNS} from catalog_services where tenant_id = $1 and service_id = $2"
    ))
    .bind(tenant)
    .bind(service_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(ServiceView::from))
}

/// A staff member as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffView {
    pub id: Uuid,
    pub name: String,
    pub service_ids: Vec<Uuid>,
    /// `None` = works the business hours.
    pub weekly: Option<WeeklySpec>,
    pub overrides: BTreeMap<String, Intervals>,
}

type StaffRow = (
    Uuid,
    String,
    Vec<Uuid>,
    Option<Json<WeeklySpec>>,
    Json<BTreeMap<String, Intervals>>,
);

fn staff_view((id, name, service_ids, weekly, overrides): StaffRow) -> StaffView {
    StaffView {
        id,
        name,
        service_ids,
        weekly: weekly.map(|w| w.0),
        overrides: overrides.0,
    }
}

/// A business's current staff (removed members left out).
pub async fn staff(pool: &PgPool, tenant: Uuid) -> Result<Vec<StaffView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let rows: Vec<StaffRow> = sqlx::query_as(
        "select staff_id, name, service_ids, weekly_hours, overrides from catalog_staff \
         where tenant_id = $1 and not removed order by name, staff_id",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(staff_view).collect())
}

/// One current staff member.
pub async fn staff_member(
    pool: &PgPool,
    tenant: Uuid,
    staff_id: Uuid,
) -> Result<Option<StaffView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let row: Option<StaffRow> = sqlx::query_as(
        "select staff_id, name, service_ids, weekly_hours, overrides from catalog_staff \
         where tenant_id = $1 and staff_id = $2 and not removed",
    )
    .bind(tenant)
    .bind(staff_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(staff_view))
}

/// A business's zone and validated opening hours, ready for the slot engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    pub timezone: Tz,
    pub weekly: WeeklyHours,
    pub overrides: DateOverrides,
    /// The weekly pattern as stored (`None` until set).
    pub weekly_spec: Option<WeeklySpec>,
    pub overrides_spec: BTreeMap<String, Intervals>,
}

/// Hours of a business (closed every day until hours are set).
pub async fn hours(pool: &PgPool, tenant: Uuid) -> Result<Option<BusinessHours>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let row: Option<(String, Option<Json<WeeklySpec>>)> = sqlx::query_as(
        "select timezone, weekly_hours from catalog_businesses where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((timezone, weekly)) = row else {
        return Ok(None);
    };
    let rows: Vec<(NaiveDate, Json<Intervals>)> = sqlx::query_as(
        "select date, intervals from catalog_date_overrides where tenant_id = $1 order by date",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?;
    let weekly_spec = weekly.map(|w| w.0);
    let overrides_spec: BTreeMap<String, Intervals> = rows
        .into_iter()
        .map(|(d, i)| (d.to_string(), i.0))
        .collect();
    // Stored hours were validated before they were written; a parse failure here would be a bug.
    let weekly = weekly_spec
        .as_ref()
        .map(weekly_from_spec)
        .transpose()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?
        .unwrap_or_default();
    let overrides =
        overrides_from_spec(&overrides_spec).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Some(BusinessHours {
        timezone: timezone.parse().unwrap_or(Tz::UTC),
        weekly,
        overrides,
        weekly_spec,
        overrides_spec,
    }))
}

/// A member of a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
}

/// The members of a business.
pub async fn members(pool: &PgPool, tenant: Uuid) -> Result<Vec<MemberView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    sqlx::query_as(
        "select user_id, email, role from catalog_members where tenant_id = $1 order by email",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await
}

/// The agent settings of a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AgentView {
    pub name: String,
    pub greeting: String,
    pub voice_id: Option<String>,
    pub personality: Option<String>,
    pub instructions: Option<String>,
}

/// The agent of a business, if configured.
pub async fn agent(pool: &PgPool, tenant: Uuid) -> Result<Option<AgentView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    sqlx::query_as(
        "select name, greeting, voice_id, personality, instructions from catalog_agents \
         where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *tx)
    .await
}

/// A pool number as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PhoneNumberView {
    pub number: String,
    pub area_code: String,
    pub locality: String,
    pub region: String,
    pub status: String,
}

/// The number assigned to a business, if any.
pub async fn phone_number(
    pool: &PgPool,
    tenant: Uuid,
) -> Result<Option<PhoneNumberView>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    sqlx::query_as(
        "select number, area_code, locality, region, status from catalog_phone_numbers \
         where tenant_id = $1 and status = 'assigned'",
    )
    .bind(tenant)
    .fetch_optional(&mut *tx)
    .await
}

/// Available pool numbers, optionally in one area code, at most `limit`.
pub async fn available_numbers(
    pool: &PgPool,
    area_code: Option<&str>,
    limit: i64,
) -> Result<Vec<PhoneNumberView>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    platform_context(&mut tx).await?;
    sqlx::query_as(
        "select number, area_code, locality, region, status from catalog_phone_numbers \
         where status = 'available' and ($1::text is null or area_code = $1) \
         order by number limit $2",
    )
    .bind(area_code)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
}
