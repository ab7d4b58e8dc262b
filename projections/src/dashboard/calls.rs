//! The call side of the dashboard: a call's day and hour, answered, duration, tool calls and voice minutes.
//!
//! Applied per batch: the batch's calls are read once ([`Calls::load`]), every event changes them in
//! memory in feed order, and [`Calls::flush`] writes the new and changed calls, the new tool calls and the
//! calls per hour with one statement each. A tool call counts once, when its row is first inserted (a
//! success recorded after a recorded failure is the same tool call, and `on conflict do nothing` keeps the
//! first of two rows for it in one statement, as `dashboard_bookings` does).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use events::call::{CallEvent, UsageEvent};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::rules::{answered_status, billed_minutes, is_availability_check};
use super::{Delta, Pending};
use crate::column;

/// A call's row: tenant, the day and hour it counts on, whether it was answered, its known duration and
/// seconds, and what the batch did to it.
#[derive(Debug)]
struct CallRow {
    tenant: Uuid,
    day: NaiveDate,
    hour: i16,
    answered: bool,
    duration_ms: Option<i64>,
    voice_seconds: i64,
    change: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Unchanged,
    Changed,
    New,
}

/// A tool call waiting to be inserted, with what it adds to its call's day if it is new.
#[derive(Debug)]
struct ToolUse {
    tenant: Uuid,
    call_id: String,
    tool_call_id: String,
    day: NaiveDate,
    availability_check: bool,
}

/// The calls of one batch.
#[derive(Debug, Default)]
pub(super) struct Calls {
    rows: HashMap<String, CallRow>,
    tools: Vec<ToolUse>,
}

impl Calls {
    /// Reads the rows of `call_ids` (one statement; the lookup is by the primary key, one key at a time).
    pub(super) async fn load(
        conn: &mut PgConnection,
        call_ids: &[&str],
    ) -> Result<Self, sqlx::Error> {
        if call_ids.is_empty() {
            return Ok(Self::default());
        }
        let rows = sqlx::query(
            "select c.call_id, c.tenant_id, c.day, c.hour, c.answered, c.duration_ms, c.voice_seconds \
             from unnest($1::text[]) as k(call_id) \
             cross join lateral (select * from dashboard_calls d where d.call_id = k.call_id) as c",
        )
        .bind(call_ids)
        .fetch_all(&mut *conn)
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("call_id")?,
                    CallRow {
                        tenant: r.try_get("tenant_id")?,
                        day: r.try_get("day")?,
                        hour: r.try_get("hour")?,
                        answered: r.try_get("answered")?,
                        duration_ms: r.try_get("duration_ms")?,
                        voice_seconds: r.try_get("voice_seconds")?,
                        change: Change::Unchanged,
                    },
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(Self {
            rows,
            ..Self::default()
        })
    }

    /// The calls the batch left in state `change`.
    fn with(&self, change: Change) -> Vec<(&String, &CallRow)> {
        self.rows
            .iter()
            .filter(|(_, r)| r.change == change)
            .collect()
    }

    /// Writes what the batch did: new calls, changed calls, new tool calls (counted on their call's day
    /// when the insert is theirs) and calls per hour.
    pub(super) async fn flush(
        self,
        conn: &mut PgConnection,
        pending: &mut Pending,
    ) -> Result<(), sqlx::Error> {
        let new = self.with(Change::New);
        if !new.is_empty() {
            sqlx::query(
                "insert into dashboard_calls (tenant_id, call_id, day, hour, answered, duration_ms, \
                   voice_seconds) \
                 select * from unnest($1::uuid[], $2::text[], $3::date[], $4::smallint[], $5::bool[], \
                   $6::bigint[], $7::bigint[]) \
                 on conflict (call_id) do nothing",
            )
            .bind(column(&new, |(_, r)| r.tenant))
            .bind(column(&new, |(id, _)| id.as_str()))
            .bind(column(&new, |(_, r)| r.day))
            .bind(column(&new, |(_, r)| r.hour))
            .bind(column(&new, |(_, r)| r.answered))
            .bind(column(&new, |(_, r)| r.duration_ms))
            .bind(column(&new, |(_, r)| r.voice_seconds))
            .execute(&mut *conn)
            .await?;
            let mut hours: HashMap<(Uuid, NaiveDate, i16), i64> = HashMap::new();
            for (_, r) in &new {
                *hours.entry((r.tenant, r.day, r.hour)).or_default() += 1;
            }
            let hours: Vec<_> = hours.into_iter().collect();
            sqlx::query(
                "insert into dashboard_hours as h (tenant_id, day, hour, calls) \
                 select * from unnest($1::uuid[], $2::date[], $3::smallint[], $4::bigint[]) \
                 on conflict (tenant_id, day, hour) do update set calls = h.calls + excluded.calls",
            )
            .bind(column(&hours, |((t, _, _), _)| *t))
            .bind(column(&hours, |((_, d, _), _)| *d))
            .bind(column(&hours, |((_, _, h), _)| *h))
            .bind(column(&hours, |(_, n)| *n))
            .execute(&mut *conn)
            .await?;
        }
        let changed = self.with(Change::Changed);
        if !changed.is_empty() {
            sqlx::query(
                "update dashboard_calls d set answered = u.answered, duration_ms = u.duration_ms, \
                   voice_seconds = u.voice_seconds \
                 from unnest($1::text[], $2::bool[], $3::bigint[], $4::bigint[]) \
                   as u(call_id, answered, duration_ms, voice_seconds) \
                 where d.call_id = u.call_id",
            )
            .bind(column(&changed, |(id, _)| id.as_str()))
            .bind(column(&changed, |(_, r)| r.answered))
            .bind(column(&changed, |(_, r)| r.duration_ms))
            .bind(column(&changed, |(_, r)| r.voice_seconds))
            .execute(&mut *conn)
            .await?;
        }
        flush_tool_calls(conn, pending, &self.tools).await
    }
}

/// Inserts the waiting tool calls and counts those whose row is new.
async fn flush_tool_calls(
    conn: &mut PgConnection,
    pending: &mut Pending,
    tool_calls: &[ToolUse],
) -> Result<(), sqlx::Error> {
    if tool_calls.is_empty() {
        return Ok(());
    }
    let mut inserted: HashSet<(String, String)> = sqlx::query(
        "insert into dashboard_tool_calls (tenant_id, call_id, tool_call_id) \
         select * from unnest($1::uuid[], $2::text[], $3::text[]) \
         on conflict do nothing returning call_id, tool_call_id",
    )
    .bind(column(tool_calls, |t| t.tenant))
    .bind(column(tool_calls, |t| t.call_id.as_str()))
    .bind(column(tool_calls, |t| t.tool_call_id.as_str()))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("call_id")?, r.try_get("tool_call_id")?)))
    .collect::<Result<_, sqlx::Error>>()?;
    for t in tool_calls
        .iter()
        .filter(|t| inserted.remove(&(t.call_id.clone(), t.tool_call_id.clone())))
    {
        let delta = Delta {
            tool_calls: 1,
            availability_checks: i64::from(t.availability_check),
            ..Delta::default()
        };
        pending.bump(t.tenant, t.day, delta);
    }
    Ok(())
}

/// The call a call or usage event is about, for [`Calls::load`].
pub(super) fn call_id_of_call(event: &CallEvent) -> &str {
    match event {
        CallEvent::CallStarted(s) => &s.call_id,
        CallEvent::ToolInvoked(t) => &t.call_id,
        CallEvent::CallReportReceived(r) => &r.call_id,
        CallEvent::CallStatusChanged { call_id, .. }
        | CallEvent::TranscriptRecorded { call_id, .. }
        | CallEvent::CallEnded { call_id, .. }
        | CallEvent::HangNotified { call_id, .. } => call_id,
    }
}

pub(super) fn call_id_of_usage(event: &UsageEvent) -> Option<&str> {
    let UsageEvent::UsageRecorded { call_id, kind, .. } = event;
    call_id.as_deref().filter(|_| kind == "voice_seconds")
}

pub(super) async fn call(
    conn: &mut PgConnection,
    pending: &mut Pending,
    event: &CallEvent,
) -> Result<(), sqlx::Error> {
    if let CallEvent::CallStarted(s) = event {
        return call_started(conn, pending, s).await;
    }
    let call_id = call_id_of_call(event);
    // Every call stream opens with CallStarted; a call this projector never saw start is not counted.
    let Some(row) = pending.calls.rows.get_mut(call_id) else {
        return Ok(());
    };
    let mut delta = Delta::default();
    let answered = match event {
        CallEvent::CallStatusChanged { status, .. } => answered_status(status),
        CallEvent::ToolInvoked(t) => {
            pending.calls.tools.push(ToolUse {
                tenant: row.tenant,
                call_id: call_id.to_owned(),
                tool_call_id: t.tool_call_id.clone(),
                day: row.day,
                availability_check: is_availability_check(&t.name),
            });
            true
        }
        CallEvent::TranscriptRecorded { .. } => true,
        CallEvent::CallReportReceived(r) => {
            if let Some(ms) = r.duration_ms.filter(|ms| *ms >= 0) {
                delta.timed_calls = i64::from(row.duration_ms.is_none());
                delta.duration_ms = ms - row.duration_ms.unwrap_or(0);
                row.duration_ms = Some(ms);
                row.touch();
            }
            false
        }
        _ => false,
    };
    if answered && !row.answered {
        delta.answered = 1;
        row.answered = true;
        row.touch();
    }
    let (tenant, day) = (row.tenant, row.day);
    pending.bump(tenant, day, delta);
    Ok(())
}

impl CallRow {
    /// Marks a loaded row changed (a new row stays new).
    fn touch(&mut self) {
        if self.change == Change::Unchanged {
            self.change = Change::Changed;
        }
    }
}

async fn call_started(
    conn: &mut PgConnection,
    pending: &mut Pending,
    s: &events::call::CallStarted,
) -> Result<(), sqlx::Error> {
    if pending.calls.rows.contains_key(&s.call_id) {
        return Ok(());
    }
    let tenant = s.business_id;
    let (day, hour) = pending
        .local(conn, tenant, s.started_at.unwrap_or(s.occurred_at))
        .await?;
    pending.calls.rows.insert(
        s.call_id.clone(),
        CallRow {
            tenant,
            day,
            hour,
            answered: false,
            duration_ms: None,
            voice_seconds: 0,
            change: Change::New,
        },
    );
    let delta = Delta {
        calls: 1,
        ..Delta::default()
    };
    pending.bump(tenant, day, delta);
    Ok(())
}

pub(super) async fn usage(
    conn: &mut PgConnection,
    pending: &mut Pending,
    event: &UsageEvent,
) -> Result<(), sqlx::Error> {
    let UsageEvent::UsageRecorded {
        business_id,
        call_id,
        kind,
        quantity,
        usage_at,
        ..
    } = event;
    if kind != "voice_seconds" {
        return Ok(());
    }
    let Some(row) = call_id
        .as_deref()
        .and_then(|id| pending.calls.rows.get_mut(id))
    else {
        // Usage of no known call: its own instant decides the day.
        let (day, _) = pending.local(conn, *business_id, *usage_at).await?;
        let delta = Delta {
            voice_minutes: billed_minutes(*quantity),
            ..Delta::default()
        };
        pending.bump(*business_id, day, delta);
        return Ok(());
    };
    // Rounded per call, so a second record for the same call only adds the minutes it starts.
    let seconds = row.voice_seconds + quantity;
    let delta = Delta {
        voice_minutes: billed_minutes(seconds) - billed_minutes(row.voice_seconds),
        ..Delta::default()
    };
    row.voice_seconds = seconds;
    row.touch();
    let (tenant, day) = (row.tenant, row.day);
    pending.bump(tenant, day, delta);
    Ok(())
}
