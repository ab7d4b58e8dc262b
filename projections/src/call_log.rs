//! `call_log`: every call with its status, times, tool invocations, transcript, report and cost.

use std::collections::HashMap;

use events::StreamKind;
use events::call::{CallEvent, CallStarted, ToolInvoked, status_rank};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use store::StoredEvent;

use crate::{Projector, column};

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
        apply_events(conn, events).boxed()
    }
}

/// Applies a batch in rounds: round `k` holds the `k`-th event of every call in the batch. Each call's
/// events keep their order, and the events of one round belong to different calls, whose rows they alone
/// touch, so a round's call starts are one insert and its tool invocations one statement; the other
/// events (a few per call) are one statement each.
async fn apply_events(conn: &mut PgConnection, events: &[&StoredEvent]) -> Result<(), sqlx::Error> {
    let mut rounds: Vec<Vec<(&StoredEvent, CallEvent)>> = Vec::new();
    let mut next: HashMap<&str, usize> = HashMap::new();
    for &stored in events {
        if !stored.stream_id.starts_with("call-") {
            continue;
        }
        let Ok(call) =
            events::aggregate::decode_tagged::<CallEvent>(&stored.event_type, &stored.data)
        else {
            tracing::warn!(event_id = %stored.event_id, "undecodable call event skipped");
            continue;
        };
        let k = next.entry(stored.stream_id.as_str()).or_default();
        if rounds.len() <= *k {
            rounds.push(Vec::new());
        }
        rounds[*k].push((stored, call));
        *k += 1;
    }
    for round in &rounds {
        let started: Vec<_> = round
            .iter()
            .filter_map(|(e, c)| match c {
                CallEvent::CallStarted(s) => Some((*e, s)),
                _ => None,
            })
            .collect();
        calls_started(&mut *conn, &started).await?;
        let tools: Vec<_> = round
            .iter()
            .filter_map(|(e, c)| match c {
                CallEvent::ToolInvoked(t) => Some((*e, t)),
                _ => None,
            })
            .collect();
        tools_invoked(&mut *conn, &tools).await?;
        for (stored, call) in round {
            apply(&mut *conn, stored, call).await?;
        }
    }
    Ok(())
}

/// Inserts calls (a call seen before keeps its row).
async fn calls_started(
    conn: &mut PgConnection,
    started: &[(&StoredEvent, &CallStarted)],
) -> Result<(), sqlx::Error> {
    if started.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into call_log (tenant_id, call_id, caller, phone_number_id, dialled_number, status, \
           started_at, first_seen_at, updated_at) \
         select u.tn, u.id, u.caller, u.pn, u.dialled, 'started', u.started, u.seen, u.seen \
         from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
           $7::timestamptz[]) as u(tn, id, caller, pn, dialled, started, seen) \
         on conflict (call_id) do nothing",
    )
    .bind(column(started, |(e, _)| e.tenant_id))
    .bind(column(started, |(_, s)| s.call_id.as_str()))
    .bind(column(started, |(_, s)| s.caller.as_deref()))
    .bind(column(started, |(_, s)| s.phone_number_id.as_deref()))
    .bind(column(started, |(_, s)| s.dialled_number.as_deref()))
    .bind(column(started, |(_, s)| s.started_at))
    .bind(column(started, |(e, _)| e.recorded_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// One row per tool call. A success replaces an earlier failure of the same tool call (a redelivery that
/// worked after a dependency came back), never the reverse; the call counts it once, and takes the
/// appointment it booked. One statement for the tool calls of different calls.
async fn tools_invoked(
    conn: &mut PgConnection,
    tools: &[(&StoredEvent, &ToolInvoked)],
) -> Result<(), sqlx::Error> {
    if tools.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "with u as ( \
           select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::bigint[], $9::uuid[], $10::timestamptz[], $11::bigint[], $12::timestamptz[]) \
           as u(tn, call_id, tool_call_id, name, arguments, outcome, result, latency_ms, appointment_id, \
             occurred_at, position, at)), \
         written as ( \
           insert into call_tool_invocations as i (tenant_id, call_id, tool_call_id, name, arguments, \
             outcome, result, latency_ms, appointment_id, occurred_at, position) \
           select tn, call_id, tool_call_id, name, arguments::jsonb, outcome, result, latency_ms, \
             appointment_id, occurred_at, position from u \
           on conflict (call_id, tool_call_id) do update set outcome = excluded.outcome, \
             result = excluded.result, latency_ms = excluded.latency_ms, \
             appointment_id = excluded.appointment_id, occurred_at = excluded.occurred_at, \
             position = excluded.position \
           where i.outcome <> 'ok' and excluded.outcome = 'ok' \
           returning i.call_id, (i.xmax = 0) as inserted) \
         update call_log c set tool_calls = c.tool_calls + w.inserted::int, \
           appointment_id = coalesce(u.appointment_id, c.appointment_id), updated_at = u.at \
         from written w join u on u.call_id = w.call_id \
         where c.call_id = w.call_id",
    )
    .bind(column(tools, |(e, _)| e.tenant_id))
    .bind(column(tools, |(_, t)| t.call_id.as_str()))
    .bind(column(tools, |(_, t)| t.tool_call_id.as_str()))
    .bind(column(tools, |(_, t)| t.name.as_str()))
    .bind(column(tools, |(_, t)| t.arguments.to_string()))
    .bind(column(tools, |(_, t)| t.outcome.as_str()))
    .bind(column(tools, |(_, t)| t.result.as_str()))
    .bind(column(tools, |(_, t)| {
        i64::try_from(t.latency_ms).unwrap_or(i64::MAX)
    }))
    .bind(column(tools, |(_, t)| t.appointment_id))
    .bind(column(tools, |(_, t)| t.occurred_at))
    .bind(column(tools, |(e, _)| e.stream_version))
    .bind(column(tools, |(e, _)| e.recorded_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies one event other than a call start or tool invocation (those are applied per round).
async fn apply(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: &CallEvent,
) -> Result<(), sqlx::Error> {
    let tenant = stored.tenant_id;
    let at = stored.recorded_at;
    match event {
        CallEvent::CallStarted(_) | CallEvent::ToolInvoked(_) => {}
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
