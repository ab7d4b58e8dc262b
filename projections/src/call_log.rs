//! `call_log`: every call with its status, times, tool invocations, transcript, report and cost.

use events::StreamKind;
use events::call::{CallEvent, status_rank};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use store::StoredEvent;

use crate::Projector;

/// Builds `call_log`, `call_tool_invocations` and `call_transcript_lines` from call streams.
pub struct CallLog;

impl Projector for CallLog {
    fn name(&self) -> &'static str {
        "call_log"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["call_log", "call_tool_invocations", "call_transcript_lines"]
    }

    fn kinds(&self) -> Option<&'static [StreamKind]> {
        Some(&[StreamKind::Call])
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            for event in events {
                apply_event(&mut *conn, event).await?;
            }
            Ok(())
        }
        .boxed()
    }
}

/// Applies one event (each event is its own statements here).
async fn apply_event(conn: &mut PgConnection, event: &StoredEvent) -> Result<(), sqlx::Error> {
    if !event.stream_id.starts_with("call-") {
        return Ok(());
    }
    let Ok(call) = events::aggregate::decode_tagged::<CallEvent>(&event.event_type, &event.data)
    else {
        tracing::warn!(event_id = %event.event_id, "undecodable call event skipped");
        return Ok(());
    };
    apply(conn, event, &call).await
}

async fn apply(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: &CallEvent,
) -> Result<(), sqlx::Error> {
    let tenant = stored.tenant_id;
    let at = stored.recorded_at;
    match event {
        CallEvent::CallStarted(s) => {
            sqlx::query(
                "insert into call_log (tenant_id, call_id, caller, phone_number_id, dialled_number, status, \
                   started_at, first_seen_at, updated_at) values ($1, $2, $3, $4, $5, 'started', $6, $7, $7) \
                 on conflict (call_id) do nothing",
            )
            .bind(tenant)
            .bind(&s.call_id)
            .bind(&s.caller)
            .bind(&s.phone_number_id)
            .bind(&s.dialled_number)
            .bind(s.started_at)
            .bind(at)
            .execute(conn)
            .await?;
        }
        CallEvent::CallStatusChanged {
            call_id, status, ..
        } => {
            // Monotone: a status only replaces one of lower rank, and never an ended call's.
            sqlx::query(
                "update call_log set status = $2, status_rank = $3, updated_at = $4 \
                 where call_id = $1 and ended_at is null and status <> 'ended' \
                   and ($3::int is null or status_rank is null or status_rank < $3)",
            )
            .bind(call_id)
            .bind(status)
            .bind(status_rank(status).map(i32::from))
            .bind(at)
            .execute(conn)
            .await?;
        }
        CallEvent::ToolInvoked(t) => tool_invoked(conn, stored, t).await?,
        CallEvent::TranscriptRecorded {
            call_id,
            role,
            text,
            occurred_at,
        } => {
            sqlx::query(
                "insert into call_transcript_lines (tenant_id, call_id, position, role, text, occurred_at) \
                 values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
            )
            .bind(tenant)
            .bind(call_id)
            .bind(stored.stream_version)
            .bind(role)
            .bind(text)
            .bind(occurred_at)
            .execute(conn)
            .await?;
        }
        CallEvent::CallEnded {
            call_id,
            ended_reason,
            ended_at,
            ..
        } => {
            sqlx::query(
                "update call_log set status = 'ended', status_rank = 5, \
                   ended_reason = coalesce(ended_reason, $2), ended_at = coalesce(ended_at, $3, $4), \
                   updated_at = $4 where call_id = $1",
            )
            .bind(call_id)
            .bind(ended_reason)
            .bind(ended_at)
            .bind(at)
            .execute(conn)
            .await?;
        }
        CallEvent::CallReportReceived(r) => report(conn, at, r).await?,
        CallEvent::HangNotified { call_id, .. } => {
            sqlx::query(
                "update call_log set hangs = hangs + 1, updated_at = $2 where call_id = $1",
            )
            .bind(call_id)
            .bind(at)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

async fn tool_invoked(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    t: &events::call::ToolInvoked,
) -> Result<(), sqlx::Error> {
    let tenant = stored.tenant_id;
    let at = stored.recorded_at;
    // One row per tool call. A success replaces an earlier failure of the same tool call (a redelivery
    // that worked after a dependency came back), never the reverse; the call counts it once.
    let inserted: Option<bool> = sqlx::query_scalar(
        "insert into call_tool_invocations (tenant_id, call_id, tool_call_id, name, arguments, outcome, \
           result, latency_ms, appointment_id, occurred_at, position) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         on conflict (call_id, tool_call_id) do update set outcome = excluded.outcome, \
           result = excluded.result, latency_ms = excluded.latency_ms, \
           appointment_id = excluded.appointment_id, occurred_at = excluded.occurred_at, \
           position = excluded.position \
         where call_tool_invocations.outcome <> 'ok' and excluded.outcome = 'ok' \
         returning xmax = 0",
    )
    .bind(tenant)
    .bind(&t.call_id)
    .bind(&t.tool_call_id)
    .bind(&t.name)
    .bind(&t.arguments)
    .bind(&t.outcome)
    .bind(&t.result)
    .bind(i64::try_from(t.latency_ms).unwrap_or(i64::MAX))
    .bind(t.appointment_id)
    .bind(t.occurred_at)
    .bind(stored.stream_version)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(inserted) = inserted else {
        return Ok(());
    };
    sqlx::query(
        "update call_log set tool_calls = tool_calls + $4, \
           appointment_id = coalesce($2, appointment_id), updated_at = $3 where call_id = $1",
    )
    .bind(&t.call_id)
    .bind(t.appointment_id)
    .bind(at)
    .bind(i32::from(inserted))
    .execute(conn)
    .await?;
    Ok(())
}

async fn report(
    conn: &mut PgConnection,
    at: chrono::DateTime<chrono::Utc>,
    r: &events::call::CallReport,
) -> Result<(), sqlx::Error> {
    // The report's times are Vapi's own and win over the moment we saw the end.
    sqlx::query(
                "update call_log set started_at = coalesce($2, started_at), ended_at = coalesce($3, ended_at), \
                   duration_ms = $4, ended_reason = coalesce($5, ended_reason), summary = $6, \
                   transcript = $7, recording_url = $8, cost_micros = $9, updated_at = $10 where call_id = $1",
            )
            .bind(&r.call_id)
            .bind(r.started_at)
            .bind(r.ended_at)
            .bind(r.duration_ms)
            .bind(&r.ended_reason)
            .bind(&r.summary)
            .bind(&r.transcript)
            .bind(&r.recording_url)
            .bind(r.cost_micros)
            .bind(at)
            .execute(conn)
            .await?;
    Ok(())
}
