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
        let (lock_keys, shared): (Vec<String>, Vec<bool>) = row
            .zip(during)
            .map(|(row, (from, to))| lock_keys(self.tenant, row.resource_id, from, to))
            .unwrap_or_default()
            .into_iter()
            .unzip();
        let record = self.idempotency.as_ref();
        // `locked` takes the locks, in the order given, before the allocation insert can run (the insert
        // reads its row), so overlapping inserts take turns as [`lock_keys`] describes. Data-modifying
        // `with` parts always run to completion, so the statement selects nothing of its own.
        sqlx::query(
            "with locked as ( \
               select count(case when s then pg_advisory_xact_lock_shared(hashtextextended(k, 0)) \
                                 else pg_advisory_xact_lock(hashtextextended(k, 0)) end) as n \
               from unnest($1::text[], $18::bool[]) as t(k, s)), \
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
        .bind(&shared)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    }
}

fn minutes(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// An allocation whose widened interval touches at most this many quarter hours locks those quarters (and
/// its days in shared mode); a longer one locks its whole days exclusively. The bound keeps a day-long
/// service from taking a hundred locks.
const MOST_QUARTERS_LOCKED: i64 = 16;

/// A quarter hour in microseconds, the grain of the finer locks.
const QUARTER_MICROS: i64 = 15 * 60 * 1_000_000;

/// The advisory locks an allocation of `[from, to)` on `resource` takes before its insert, in the one order
/// every transaction takes them in (so lock waits can never form a cycle), each with whether it is taken
/// shared.
///
/// Two overlapping allocations must take turns: the second then sees the first committed and fails the
/// exclusion constraint at once. Without the locks, two racing inserts each enter the index and then wait for
/// the other's verdict — a deadlock Postgres breaks only after `deadlock_timeout` (1 s), which showed as
/// one-second stalls among racing callers. Two locks, by size:
///
/// - an allocation spanning at most [`MOST_QUARTERS_LOCKED`] quarter hours takes every UTC day it touches
///   **shared** and every quarter hour it touches **exclusively**;
/// - a longer one takes every day it touches **exclusively**.
///
/// Overlapping allocations share a day and a quarter hour, so two short ones meet on an exclusive quarter,
/// and a long one meets anything on an exclusive day. Allocations that merely share a day — the same staff
/// member's 09:00 and 09:30, booked at once by two callers — do not wait for each other.
fn lock_keys(
    tenant: Uuid,
    resource: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(String, bool)> {
    let last_instant = (to - TimeDelta::microseconds(1)).max(from);
    let first_day = from.date_naive();
    let last_day = last_instant.date_naive();
    let first_quarter = from.timestamp_micros().div_euclid(QUARTER_MICROS);
    let last_quarter = last_instant.timestamp_micros().div_euclid(QUARTER_MICROS);
    let fine = last_quarter - first_quarter < MOST_QUARTERS_LOCKED;
    // Days are taken shared exactly when quarter hours are taken too.
    let mut keys: Vec<(String, bool)> = first_day
        .iter_days()
        .take_while(|d| *d <= last_day)
        .map(|d| (format!("allocation:{tenant}:{resource}:{d}"), fine))
        .collect();
    if fine {
        keys.extend(
            (first_quarter..=last_quarter)
                .map(|q| (format!("allocation:{tenant}:{resource}:q{q}"), false)),
        );
    }
    keys.sort_unstable();
    keys
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;

    /// Whether two transactions holding `a` and `b` must take turns: they share a key that one of them
    /// holds exclusively.
    fn conflict(a: &[(String, bool)], b: &[(String, bool)]) -> bool {
        a.iter()
            .any(|(k, shared)| b.iter().any(|(j, other)| k == j && !(*shared && *other)))
    }

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 10, 0, 0, 0).unwrap() + TimeDelta::minutes(minute)
    }

    proptest! {
        /// The guarantee the deadlock avoidance rests on: overlapping allocations of one resource always
        /// meet on a lock, whatever their lengths; ones on another resource never do.
        #[test]
        fn overlapping_allocations_always_conflict(
            a_start in 0i64..4_320, a_len in 1i64..2_000,
            b_start in 0i64..4_320, b_len in 1i64..2_000,
        ) {
            let (tenant, resource) = (Uuid::nil(), Uuid::from_u128(1));
            let a = lock_keys(tenant, resource, at(a_start), at(a_start + a_len));
            let b = lock_keys(tenant, resource, at(b_start), at(b_start + b_len));
            let overlap = a_start < b_start + b_len && b_start < a_start + a_len;
            if overlap {
                prop_assert!(conflict(&a, &b), "{a:?} / {b:?}");
            }
            let elsewhere = lock_keys(tenant, Uuid::from_u128(2), at(b_start), at(b_start + b_len));
            prop_assert!(!conflict(&a, &elsewhere));
            let mut sorted = a.clone();
            sorted.sort();
            prop_assert_eq!(a, sorted, "one global order");
        }
    }

    #[test]
    fn adjacent_short_allocations_on_one_day_do_not_wait_for_each_other() {
        let (tenant, resource) = (Uuid::nil(), Uuid::from_u128(1));
        let nine = lock_keys(tenant, resource, at(540), at(570));
        let half_past = lock_keys(tenant, resource, at(570), at(600));
        assert!(!conflict(&nine, &half_past), "{nine:?} / {half_past:?}");
        assert_eq!(nine.len(), 3, "the day shared, two quarters: {nine:?}");
    }

    #[test]
    fn a_long_allocation_locks_its_days_alone() {
        let (tenant, resource) = (Uuid::nil(), Uuid::from_u128(1));
        let spa_day = lock_keys(tenant, resource, at(1_380), at(1_380 + 8 * 60));
        assert_eq!(
            spa_day,
            vec![
                (format!("allocation:{tenant}:{resource}:2027-03-10"), false),
                (format!("allocation:{tenant}:{resource}:2027-03-11"), false),
            ]
        );
        let short = lock_keys(tenant, resource, at(1_500), at(1_530));
        assert!(conflict(&spa_day, &short));
    }
}
