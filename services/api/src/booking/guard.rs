//! The write-side allocation table (DESIGN.md §7): what occupies each resource, read for decisions and
//! written by the append hook in the same transaction as the booking events. Overlaps are refused by the
//! `allocations_no_overlap` exclusion constraint, which is how a lost race is recognised.

use chrono::{DateTime, TimeDelta, Utc};
use domain::scheduling::BusyInterval;
use events::booking::Placement;
use futures::FutureExt;
use sqlx::postgres::types::PgRange;
use sqlx::{PgConnection, PgPool, Row};
use store::{AppendHook, StoreError};
use uuid::Uuid;

/// The exclusion constraint that makes double booking impossible.
pub const NO_OVERLAP: &str = "allocations_no_overlap";

/// One row of `allocations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub resource_id: Uuid,
    pub booking_id: Uuid,
    pub kind: AllocationKind,
    pub placement: Placement,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationKind {
    Appointment,
    Hold,
}

impl AllocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Appointment => "appointment",
            Self::Hold => "hold",
        }
    }
}

impl Allocation {
    /// Whether the row still blocks at `now` (appointments always; holds until they expire).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// `[start − before, end + after)`: the interval the row occupies.
    pub fn during(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        widened(&self.placement)
    }

    /// The row as a busy interval for the slot engine; `business_wide` when the business has no staff.
    pub fn busy(&self, business_wide: bool) -> BusyInterval {
        BusyInterval {
            resource: if business_wide {
                None
            } else {
                Some(self.resource_id)
            },
            start: self.placement.start,
            end: self.placement.end,
            buffer_before_minutes: self.placement.buffer_before_minutes,
            buffer_after_minutes: self.placement.buffer_after_minutes,
        }
    }
}

/// `[start − before, end + after)` of a placement.
pub fn widened(placement: &Placement) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        placement.start - TimeDelta::minutes(i64::from(placement.buffer_before_minutes)),
        placement.end + TimeDelta::minutes(i64::from(placement.buffer_after_minutes)),
    )
}

/// The allocations of `tenant` whose widened interval overlaps `[from, to)` (the `GiST` index on
/// `(tenant_id, during)` answers it): what placing one booking needs, however many the business holds.
pub async fn load_overlapping<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    tenant: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Allocation>, sqlx::Error> {
    let rows = sqlx::query(
        "select resource_id, booking_id, kind, starts_at, ends_at, buffer_before_minutes, \
           buffer_after_minutes, expires_at \
         from allocations where tenant_id = $1 and during && tstzrange($2, $3)",
    )
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_all(executor)
    .await?;
    rows.iter().map(decode).collect()
}

/// Every allocation of every tenant, for the verifier: `(tenant, allocation)`.
pub async fn load_all(pool: &PgPool) -> Result<Vec<(Uuid, Allocation)>, sqlx::Error> {
    let rows = sqlx::query(
        "select tenant_id, resource_id, booking_id, kind, starts_at, ends_at, \
           buffer_before_minutes, buffer_after_minutes, expires_at from allocations",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("tenant_id")?, decode(row)?)))
        .collect()
}

fn decode(row: &sqlx::postgres::PgRow) -> Result<Allocation, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let minutes = |column: &str| -> Result<u32, sqlx::Error> {
        let value: i32 = row.try_get(column)?;
        Ok(u32::try_from(value).unwrap_or(0))
    };
    let resource_id: Uuid = row.try_get("resource_id")?;
    Ok(Allocation {
        resource_id,
        booking_id: row.try_get("booking_id")?,
        kind: if kind == "hold" {
            AllocationKind::Hold
        } else {
            AllocationKind::Appointment
        },
        placement: Placement {
            staff_id: None,
            start: row.try_get("starts_at")?,
            end: row.try_get("ends_at")?,
            buffer_before_minutes: minutes("buffer_before_minutes")?,
            buffer_after_minutes: minutes("buffer_after_minutes")?,
        },
        expires_at: row.try_get("expires_at")?,
    })
}

/// What the booking transaction does to the guard tables, after its events are written.
#[derive(Debug, Default)]
pub struct GuardWrite {
    pub tenant: Uuid,
    /// Rows to remove first: released holds, and the booking's own row when it moves or ends.
    pub release: Vec<Uuid>,
    /// The row to insert (the exclusion constraint checks it).
    pub insert: Option<Allocation>,
    /// `(key, request hash, status, response, booking id)` to remember for retries.
    pub idempotency: Option<IdempotencyRecord>,
    pub now: Option<DateTime<Utc>>,
}

/// A response to remember under an idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub key: String,
    pub request_hash: Vec<u8>,
    pub status: u16,
    pub response: serde_json::Value,
    pub booking_id: Option<Uuid>,
}

impl GuardWrite {
    /// The append hook running this write inside the booking transaction.
    pub fn into_hook(self) -> AppendHook<'static> {
        Box::new(move |conn: &mut PgConnection| self.apply(conn).boxed())
    }

    /// One statement for the common case (lock the resource's days, insert the allocation, remember the
    /// response), a second only when rows are released first.
    async fn apply(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if !self.release.is_empty() {
            sqlx::query("delete from allocations where tenant_id = $1 and booking_id = any($2)")
                .bind(self.tenant)
                .bind(&self.release)
                .execute(&mut *conn)
                .await?;
        }
        if self.insert.is_none() && self.idempotency.is_none() {
            return Ok(());
        }
        let row = self.insert.as_ref();
        let during = row.map(Allocation::during);
        let lock_keys = row.zip(during).map_or_else(Vec::new, |(row, (from, to))| {
            resource_day_keys(self.tenant, row.resource_id, from, to)
        });
        let record = self.idempotency.as_ref();
        // `locked` takes every day's lock before the allocation insert can run (the insert reads its
        // row), so overlapping inserts take turns as `resource_day_keys` describes. Data-modifying `with`
        // parts always run to completion, so the statement selects nothing of its own.
        sqlx::query(
            "with locked as ( \
               select count(pg_advisory_xact_lock(hashtextextended(k, 0))) as n \
               from unnest($1::text[]) as t(k)), \
             allocation as ( \
               insert into allocations (tenant_id, resource_id, booking_id, kind, starts_at, ends_at, \
                 buffer_before_minutes, buffer_after_minutes, during, expires_at) \
               select $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 from locked where $5::text is not null), \
             remembered as ( \
               insert into idempotency_keys (tenant_id, key, request_hash, status_code, response, \
                 booking_id, created_at) \
               select $2, $12, $13, $14, $15, $16, $17 from locked where $12::text is not null) \
             select 1",
        )
        .bind(&lock_keys)
        .bind(self.tenant)
        .bind(row.map(|r| r.resource_id))
        .bind(row.map(|r| r.booking_id))
        .bind(row.map(|r| r.kind.as_str()))
        .bind(row.map(|r| r.placement.start))
        .bind(row.map(|r| r.placement.end))
        .bind(row.map(|r| minutes(r.placement.buffer_before_minutes)))
        .bind(row.map(|r| minutes(r.placement.buffer_after_minutes)))
        .bind(during.map(|(from, to)| PgRange::from(from..to)))
        .bind(row.and_then(|r| r.expires_at))
        .bind(record.map(|r| r.key.as_str()))
        .bind(record.map(|r| r.request_hash.as_slice()))
        .bind(record.map(|r| i32::from(r.status)))
        .bind(record.map(|r| &r.response))
        .bind(record.and_then(|r| r.booking_id))
        .bind(self.now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    }
}

fn minutes(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// The advisory-lock keys of every UTC day `[from, to)` touches on `resource`, in ascending order. Two
/// overlapping allocations share a day, so their inserts take turns: the second sees the first committed and
/// fails the exclusion constraint at once. Without it, two racing inserts each enter the index and then wait
/// for the other's verdict — a deadlock Postgres breaks only after `deadlock_timeout` (1 s), which showed as
/// one-second stalls among racing callers. Inserts on different days or resources do not wait for each other.
fn resource_day_keys(
    tenant: Uuid,
    resource: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<String> {
    let first = from.date_naive();
    let last = (to - TimeDelta::microseconds(1)).date_naive().max(first);
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| format!("allocation:{tenant}:{resource}:{d}"))
        .collect()
}

/// Why a guarded append did not go through, as far as booking cares.
pub enum Refusal {
    /// The allocation overlaps another (a lost race, or an expired hold released meanwhile): re-decide.
    Overlap,
    /// A stream moved under us (a concurrent command on the same booking or key): re-read and re-decide.
    Raced {
        stream: String,
    },
    /// The same idempotency key committed first.
    KeyTaken,
    Other(StoreError),
}

/// Classifies an append error by constraint name and error kind, never by message text.
pub fn classify(err: StoreError) -> Refusal {
    match err {
        StoreError::Hook(db) => match store::error::violated_constraint(&db) {
            Some(NO_OVERLAP) => Refusal::Overlap,
            Some("idempotency_keys_pkey") => Refusal::KeyTaken,
            _ if is_deadlock(&db) => Refusal::Overlap,
            _ => Refusal::Other(StoreError::Hook(db)),
        },
        StoreError::Conflict { stream, .. } => Refusal::Raced { stream },
        StoreError::Database(db) if is_deadlock(&db) => Refusal::Overlap,
        other => Refusal::Other(other),
    }
}

/// Deadlocks and serialization failures are retried like a lost race.
fn is_deadlock(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|code| code == "40P01" || code == "40001")
}
