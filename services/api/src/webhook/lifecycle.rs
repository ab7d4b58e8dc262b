//! Recording what Vapi tells us about a call as call events: started, status changes, transcript lines,
//! hangs, the end, the report (with its usage), and every tool invocation.
//!
//! Load → decide (pure, `domain::call`) → append with the stream's exact version. Every event id is
//! deterministic in (call id, what happened), so a redelivered message — even one racing its twin —
//! appends nothing new: the loser's append finds its events already stored and succeeds as a no-op.

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::call::{CallState, Observation};
use events::call::{CallReport, CallStarted, UsageEvent, call_event_id, call_stream, usage_stream};
use events::{Actor, Metadata, NewEvent};
use store::hint::Hints;
use store::{ExpectedVersion, StoreError, StreamAppend};
use vapi::{Message, MessageType};

use crate::tenancy::directory::BusinessRef;
use crate::{ApiError, AppState};

/// How often a lost race on the call stream is retried (each retry reloads and decides again).
const RETRIES: usize = 8;

/// Handles `status-update`, `end-of-call-report`, `transcript` and `hang`: record, answer `{}`.
pub async fn answer(state: &AppState, message: &Message) -> Response {
    let Some(observation) = observation_of(message) else {
        return Json(vapi::response::empty()).into_response();
    };
    if message.call_id().is_none() {
        tracing::warn!(kind = ?message.kind(), "webhook message without call.id: nothing to record");
        return Json(vapi::response::empty()).into_response();
    }
    let business = match super::routing::business_for(state, message).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            metrics::counter!("va_webhook_unroutable_total").increment(1);
            tracing::warn!(call_id = ?message.call_id(), "webhook for an unknown number: not recorded");
            return Json(vapi::response::empty()).into_response();
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    match record(state, &business, message, &observation).await {
        Ok(()) => Json(vapi::response::empty()).into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// What an informational message observes; `None` for what is not worth recording (partial transcripts).
fn observation_of(message: &Message) -> Option<Observation> {
    match message.kind() {
        MessageType::StatusUpdate => Some(Observation::Status {
            status: message
                .status()
                .map_or_else(String::new, |s| s.as_str().to_owned()),
            ended_reason: message.ended_reason().map(str::to_owned),
            at: message.ended_at(),
        }),
        MessageType::EndOfCallReport => Some(Observation::Report(report_of(message))),
        MessageType::Transcript => {
            let is_final = matches!(
                message.transcript_type(),
                None | Some(vapi::message::TranscriptType::Final)
            );
            let text = message.transcript()?.trim();
            (is_final && !text.is_empty()).then(|| Observation::Transcript {
                role: message.role().unwrap_or("unknown").to_owned(),
                text: text.to_owned(),
            })
        }
        MessageType::Hang => Some(Observation::Hang {
            timestamp_ms: message.timestamp_ms(),
        }),
        _ => None,
    }
}

fn report_of(message: &Message) -> CallReport {
    let redacted = message.redacted();
    let breakdown = ["/call/costBreakdown", "/message/call/costBreakdown"]
        .iter()
        .find_map(|p| redacted.pointer(p).cloned())
        .unwrap_or(serde_json::Value::Null);
    CallReport {
        call_id: message.call_id().unwrap_or_default().to_owned(),
        started_at: message.started_at(),
        ended_at: message.ended_at(),
        duration_ms: message.duration().map(|d| d.num_milliseconds()),
        ended_reason: message.ended_reason().map(str::to_owned),
        summary: message.analysis_summary().map(str::to_owned),
        transcript: message.artifact_transcript().map(str::to_owned),
        recording_url: message.recording_url().map(str::to_owned),
        cost_micros: message.cost_micros(),
        cost_breakdown: breakdown,
        raw: redacted,
        occurred_at: DateTime::<Utc>::UNIX_EPOCH,
    }
}

/// What we know about the call from any message, in case this message is the first we see of it.
pub fn started_from(message: &Message, business: &BusinessRef, now: DateTime<Utc>) -> CallStarted {
    CallStarted {
        call_id: message.call_id().unwrap_or_default().to_owned(),
        business_id: business.business_id,
        org_id: message.org_id().map(str::to_owned),
        phone_number_id: message.phone_number_id().map(str::to_owned),
        dialled_number: message.dialled_number().map(str::to_owned),
        caller: message.customer_number().map(str::to_owned),
        call_type: message.call_type().map(str::to_owned),
        started_at: message.started_at(),
        first_seen_in: message.kind().as_str().to_owned(),
        occurred_at: now,
    }
}

/// The metadata of everything one call causes: correlated by the call, caused by the agent.
pub fn call_metadata(call_id: &str, command_id: Option<&str>) -> Metadata {
    Metadata {
        correlation_id: Some(call_event_id(call_id, "correlation")),
        causation_id: None,
        actor: Some(Actor::Vapi {
            call_id: call_id.to_owned(),
        }),
        command_id: command_id.map(str::to_owned),
        traceparent: None,
    }
}

/// Records one observation of a call for `business`.
pub async fn record(
    state: &AppState,
    business: &BusinessRef,
    message: &Message,
    observation: &Observation,
) -> Result<(), StoreError> {
    let store = state.store();
    let now = store.clock().now();
    let start = started_from(message, business, now);
    let call_id = start.call_id.clone();
    let stream = call_stream(&call_id);
    let observation = match observation {
        Observation::Report(r) => Observation::Report(CallReport {
            occurred_at: now,
            ..r.clone()
        }),
        other => other.clone(),
    };
    for attempt in 0..RETRIES {
        // First from what this process last wrote (a call it has not seen is taken as new); the append's
        // expected version refuses a stale guess, and every retry reads the stream.
        let (call, version): (CallState, i64) = if attempt == 0 {
            state.calls().get(&stream).unwrap_or_default()
        } else {
            store.load(&stream).await?
        };
        let decided = domain::call::decide(&call, &start, &observation, now);
        if decided.is_empty() {
            return Ok(());
        }
        let tenant = Some(business.business_id);
        let metadata = call_metadata(&call_id, None);
        let mut events = Vec::with_capacity(decided.len());
        let mut report = None;
        for keyed in &decided {
            let mut event = NewEvent::tagged(tenant, &keyed.event, metadata.clone())?;
            event.event_id = call_event_id(&call_id, &keyed.key);
            if let events::call::CallEvent::CallReportReceived(r) = &keyed.event {
                report = Some(r.clone());
            }
            events.push(event);
        }
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        };
        let mut batches = vec![StreamAppend::new(stream.clone(), expected, events)];
        if let Some(report) = report {
            batches.extend(usage_batch(
                business,
                &report,
                &start,
                metadata.clone(),
                now,
            )?);
        }
        match store.append_many(batches, None).await {
            Ok(results) => {
                let written = results.iter().find(|r| r.stream_id == stream);
                match written {
                    Some(r) if r.appended => {
                        let after = decided.iter().fold(call, |call, keyed| {
                            events::Aggregate::evolve(call, &keyed.event)
                        });
                        state.calls().put(stream.as_str(), (after, r.version));
                    }
                    // Already stored (a redelivery): where the stream stands now is unknown here.
                    _ => state.calls().forget(&stream),
                }
                return Ok(());
            }
            Err(StoreError::Conflict { .. }) => state.calls().forget(&stream),
            Err(err) => return Err(err),
        }
    }
    Err(StoreError::Conflict {
        stream,
        expected: "exact (after retries)".into(),
        actual: None,
    })
}

/// The usage a finished call records: its billable voice seconds and what Vapi charged us for it.
fn usage_batch(
    business: &BusinessRef,
    report: &CallReport,
    start: &CallStarted,
    metadata: Metadata,
    now: DateTime<Utc>,
) -> Result<Option<StreamAppend>, StoreError> {
    let started_at = report.started_at.or(start.started_at);
    let (Some(started_at), Some(ended_at)) = (started_at, report.ended_at) else {
        tracing::warn!(call_id = %report.call_id, "report without start/end times: no voice usage recorded");
        return Ok(None);
    };
    let usage = UsageEvent::UsageRecorded {
        business_id: business.business_id,
        call_id: Some(report.call_id.clone()),
        kind: "voice_seconds".into(),
        quantity: domain::call::billable_seconds(started_at, ended_at),
        provider_cost_micros: report.cost_micros.unwrap_or(0),
        usage_at: started_at,
        occurred_at: now,
    };
    let mut event = NewEvent::tagged(Some(business.business_id), &usage, metadata)?;
    event.event_id = call_event_id(&report.call_id, "usage:voice_seconds");
    Ok(Some(StreamAppend::new(
        usage_stream(&report.call_id),
        ExpectedVersion::Any,
        vec![event],
    )))
}

/// The most call states remembered before the cache starts over (it is only a first guess).
const CALL_CACHE_LIMIT: usize = 100_000;

/// Each call's state and stream version as this process last wrote them: a message's first attempt decides
/// on it instead of reading the call stream, and the append's expected version catches a stale entry (a
/// message handled by another instance meanwhile), after which the stream is read.
pub type CallCache = Hints<(CallState, i64)>;

/// A [`CallCache`] of the size the webhook keeps.
pub fn call_cache() -> CallCache {
    Hints::new(CALL_CACHE_LIMIT)
}
