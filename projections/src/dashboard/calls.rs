//! The call side of the dashboard: a call's day and hour, answered, duration, tool calls and voice minutes.

use events::call::{CallEvent, UsageEvent};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::rules::{answered_status, billed_minutes, is_availability_check};
use super::{Delta, Pending};
use chrono::NaiveDate;

/// A call's row: tenant, the day it counts on, whether it was answered, its known duration and seconds.
struct CallRow {
    tenant: Uuid,
    day: NaiveDate,
    answered: bool,
    duration_ms: Option<i64>,
    voice_seconds: i64,
}

async fn call_row(conn: &mut PgConnection, call_id: &str) -> Result<Option<CallRow>, sqlx::Error> {
    let row = sqlx::query(
        "select tenant_id, day, answered, duration_ms, voice_seconds from dashboard_calls where call_id = $1",
    )
    .bind(call_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| CallRow {
        tenant: r.get("tenant_id"),
        day: r.get("day"),
        answered: r.get("answered"),
        duration_ms: r.get("duration_ms"),
        voice_seconds: r.get("voice_seconds"),
    }))
}

pub(super) async fn call(
    conn: &mut PgConnection,
    pending: &mut Pending,
    event: &CallEvent,
) -> Result<(), sqlx::Error> {
    if let CallEvent::CallStarted(s) = event {
        return call_started(conn, pending, s).await;
    }
    let call_id = match event {
        CallEvent::CallStarted(s) => &s.call_id,
        CallEvent::ToolInvoked(t) => &t.call_id,
        CallEvent::CallReportReceived(r) => &r.call_id,
        CallEvent::CallStatusChanged { call_id, .. }
        | CallEvent::TranscriptRecorded { call_id, .. }
        | CallEvent::CallEnded { call_id, .. }
        | CallEvent::HangNotified { call_id, .. } => call_id,
    };
    // Every call stream opens with CallStarted; a call this projector never saw start is not counted.
    let Some(row) = call_row(conn, call_id).await? else {
        return Ok(());
    };
    let mut delta = Delta::default();
    let answered = match event {
        CallEvent::CallStatusChanged { status, .. } => answered_status(status),
        CallEvent::ToolInvoked(t) => {
            // A tool call recorded again (its success after a recorded failure) counts once.
            let first = sqlx::query(
                "insert into dashboard_tool_calls (tenant_id, call_id, tool_call_id) values ($1, $2, $3) \
                 on conflict do nothing",
            )
            .bind(row.tenant)
            .bind(call_id)
            .bind(&t.tool_call_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1;
            if first {
                delta.tool_calls = 1;
                delta.availability_checks = i64::from(is_availability_check(&t.name));
            }
            true
        }
        CallEvent::TranscriptRecorded { .. } => true,
        CallEvent::CallReportReceived(r) => {
            if let Some(ms) = r.duration_ms.filter(|ms| *ms >= 0) {
                delta.timed_calls = i64::from(row.duration_ms.is_none());
                delta.duration_ms = ms - row.duration_ms.unwrap_or(0);
                sqlx::query("update dashboard_calls set duration_ms = $2 where call_id = $1")
                    .bind(call_id)
                    .bind(ms)
                    .execute(&mut *conn)
                    .await?;
            }
            false
        }
        _ => false,
    };
    if answered && !row.answered {
        delta.answered = 1;
        sqlx::query("update dashboard_calls set answered = true where call_id = $1")
            .bind(call_id)
            .execute(&mut *conn)
            .await?;
    }
    pending.bump(row.tenant, row.day, delta);
    Ok(())
}

async fn call_started(
    conn: &mut PgConnection,
    pending: &mut Pending,
    s: &events::call::CallStarted,
) -> Result<(), sqlx::Error> {
    let tenant = s.business_id;
    let (day, hour) = pending
        .local(conn, tenant, s.started_at.unwrap_or(s.occurred_at))
        .await?;
    let inserted = sqlx::query(
        "insert into dashboard_calls (tenant_id, call_id, day, hour) values ($1, $2, $3, $4) \
         on conflict (call_id) do nothing",
    )
    .bind(tenant)
    .bind(&s.call_id)
    .bind(day)
    .bind(hour)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(());
    }
    sqlx::query(
        "insert into dashboard_hours as h (tenant_id, day, hour, calls) values ($1, $2, $3, 1) \
         on conflict (tenant_id, day, hour) do update set calls = h.calls + 1",
    )
    .bind(tenant)
    .bind(day)
    .bind(hour)
    .execute(&mut *conn)
    .await?;
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
    let row = match call_id {
        Some(id) => call_row(conn, id).await?,
        None => None,
    };
    let (Some(row), Some(call_id)) = (row, call_id) else {
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
    sqlx::query("update dashboard_calls set voice_seconds = $2 where call_id = $1")
        .bind(call_id)
        .bind(seconds)
        .execute(&mut *conn)
        .await?;
    let delta = Delta {
        voice_minutes: billed_minutes(seconds) - billed_minutes(row.voice_seconds),
        ..Delta::default()
    };
    pending.bump(row.tenant, row.day, delta);
    Ok(())
}
