//! Calls: turning what Vapi tells us about a call into call events, whatever the order or repetition.
//!
//! Rules: the first message of any kind about a call starts it (a report for a call never seen starting
//! still yields a complete call); statuses are a monotone state machine (a late `in-progress` after
//! `ended` is ignored, unknown statuses are recorded while the call is open); the end is recorded once,
//! by whichever of `status-update: ended` and `end-of-call-report` arrives first; the report is recorded
//! once. Each event comes with a dedupe key (its deterministic id is made from call id + key), so
//! concurrent redeliveries collapse in the store.

use chrono::{DateTime, Utc};
use events::Aggregate;
use events::call::{CallEvent, CallReport, CallStarted, ToolInvoked, status_rank};

/// What the call stream says so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallState {
    pub started: bool,
    pub rank: Option<u8>,
    pub ended: bool,
    pub reported: bool,
}

impl Aggregate for CallState {
    type Event = CallEvent;

    fn evolve(mut self, event: &CallEvent) -> Self {
        match event {
            CallEvent::CallStarted(_) => self.started = true,
            CallEvent::CallStatusChanged { status, .. } => {
                if let Some(rank) = status_rank(status) {
                    self.rank = Some(self.rank.map_or(rank, |r| r.max(rank)));
                }
            }
            CallEvent::CallEnded { .. } => {
                self.ended = true;
                self.rank = Some(5);
            }
            CallEvent::CallReportReceived(_) => self.reported = true,
            CallEvent::ToolInvoked(_)
            | CallEvent::TranscriptRecorded { .. }
            | CallEvent::HangNotified { .. } => {}
        }
        self
    }
}

/// One observation from one webhook message.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// `assistant-request` (or any message that only tells us the call exists).
    Seen,
    Status {
        status: String,
        ended_reason: Option<String>,
        at: Option<DateTime<Utc>>,
    },
    Transcript {
        role: String,
        text: String,
    },
    Report(CallReport),
    Hang {
        /// Vapi's message timestamp (ms), to tell two hangs apart from one redelivered.
        timestamp_ms: Option<i64>,
    },
    Tool(ToolInvoked),
}

/// An event to append, with the key its deterministic id is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed {
    pub key: String,
    pub event: CallEvent,
}

fn keyed(key: impl Into<String>, event: CallEvent) -> Keyed {
    Keyed {
        key: key.into(),
        event,
    }
}

/// Decides the events for one observation. `start` describes the call in case it has not started yet.
pub fn decide(
    state: &CallState,
    start: &CallStarted,
    observation: &Observation,
    now: DateTime<Utc>,
) -> Vec<Keyed> {
    let call_id = start.call_id.clone();
    let mut out = Vec::new();
    if !state.started {
        out.push(keyed("started", CallEvent::CallStarted(start.clone())));
    }
    match observation {
        Observation::Seen => {}
        Observation::Status {
            status,
            ended_reason,
            at,
        } => {
            if status == "ended" {
                if !state.ended {
                    out.push(ended(&call_id, ended_reason.clone(), *at, now));
                }
            } else if !state.ended
                && status_rank(status).is_none_or(|r| state.rank.is_none_or(|cur| r > cur))
            {
                out.push(keyed(
                    format!("status:{status}"),
                    CallEvent::CallStatusChanged {
                        call_id,
                        status: status.clone(),
                        occurred_at: now,
                    },
                ));
            }
        }
        Observation::Transcript { role, text } => out.push(keyed(
            format!("transcript:{role}:{text}"),
            CallEvent::TranscriptRecorded {
                call_id,
                role: role.clone(),
                text: text.clone(),
                occurred_at: now,
            },
        )),
        Observation::Report(report) => {
            if !state.ended {
                out.push(ended(
                    &call_id,
                    report.ended_reason.clone(),
                    report.ended_at,
                    now,
                ));
            }
            if !state.reported {
                out.push(keyed(
                    "report",
                    CallEvent::CallReportReceived(report.clone()),
                ));
            }
        }
        Observation::Hang { timestamp_ms } => out.push(keyed(
            format!("hang:{}", timestamp_ms.unwrap_or_default()),
            CallEvent::HangNotified {
                call_id,
                occurred_at: now,
            },
        )),
        // Keyed by outcome too: a redelivery answered alike records nothing new, but a tool call that
        // failed (a dependency down) and then succeeded on redelivery keeps both, so the success — the
        // booking the caller was told about — is never dropped as a duplicate of the failure.
        Observation::Tool(tool) => {
            out.push(keyed(
                format!("tool:{}:{}", tool.tool_call_id, tool.outcome),
                CallEvent::ToolInvoked(tool.clone()),
            ));
        }
    }
    out
}

fn ended(
    call_id: &str,
    reason: Option<String>,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Keyed {
    keyed(
        "ended",
        CallEvent::CallEnded {
            call_id: call_id.to_owned(),
            ended_reason: reason,
            ended_at: at,
            occurred_at: now,
        },
    )
}

/// Billable voice time of a call in whole seconds, rounded up: `endedAt − startedAt` (never negative).
pub fn billable_seconds(started_at: DateTime<Utc>, ended_at: DateTime<Utc>) -> i64 {
    let ms = (ended_at - started_at).num_milliseconds().max(0);
    (ms + 999) / 1000
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use uuid::Uuid;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 10, 15, 0, 0).unwrap()
    }

    fn start() -> CallStarted {
        CallStarted {
            call_id: "c1".into(),
            business_id: Uuid::nil(),
            org_id: None,
            phone_number_id: Some("pn".into()),
            dialled_number: None,
            caller: Some("+15551234567".into()),
            call_type: None,
            started_at: None,
            first_seen_in: "status-update".into(),
            occurred_at: now(),
        }
    }

    fn report() -> CallReport {
        CallReport {
            call_id: "c1".into(),
            started_at: Some(now()),
            ended_at: Some(now() + chrono::TimeDelta::seconds(95)),
            duration_ms: Some(95_000),
            ended_reason: Some("customer-ended-call".into()),
            summary: None,
            transcript: None,
            recording_url: None,
            cost_micros: Some(120_000),
            cost_breakdown: serde_json::Value::Null,
            raw: serde_json::Value::Null,
            occurred_at: now(),
        }
    }

    fn given(observations: &[Observation]) -> CallState {
        observations
            .iter()
            .fold(CallState::default(), |state, obs| {
                decide(&state, &start(), obs, now())
                    .iter()
                    .fold(state, |s, k| s.evolve(&k.event))
            })
    }

    fn keys(events: &[Keyed]) -> Vec<&str> {
        events.iter().map(|k| k.key.as_str()).collect()
    }

    fn status(s: &str) -> Observation {
        Observation::Status {
            status: s.into(),
            ended_reason: None,
            at: None,
        }
    }

    #[test]
    fn the_first_message_about_a_call_starts_it() {
        let events = decide(&CallState::default(), &start(), &status("ringing"), now());
        assert_eq!(keys(&events), ["started", "status:ringing"]);
    }

    #[test]
    fn a_late_in_progress_after_ended_is_ignored() {
        let state = given(&[status("in-progress"), status("ended")]);
        assert!(decide(&state, &start(), &status("in-progress"), now()).is_empty());
    }

    #[test]
    fn a_repeated_status_is_not_recorded_twice() {
        let state = given(&[status("in-progress")]);
        assert!(decide(&state, &start(), &status("in-progress"), now()).is_empty());
    }

    #[test]
    fn a_report_for_a_call_never_seen_starts_ends_and_reports_it() {
        let events = decide(
            &CallState::default(),
            &start(),
            &Observation::Report(report()),
            now(),
        );
        assert_eq!(keys(&events), ["started", "ended", "report"]);
    }

    #[test]
    fn report_before_ended_status_gives_the_same_call_as_the_other_order() {
        let a = given(&[
            status("in-progress"),
            Observation::Report(report()),
            status("ended"),
        ]);
        let b = given(&[
            status("in-progress"),
            status("ended"),
            Observation::Report(report()),
        ]);
        assert_eq!(a, b);
        assert!(a.ended && a.reported);
    }

    #[test]
    fn a_second_report_is_not_recorded() {
        let state = given(&[Observation::Report(report())]);
        assert!(decide(&state, &start(), &Observation::Report(report()), now()).is_empty());
    }

    #[test]
    fn billable_seconds_round_up_and_never_go_negative() {
        let t = now();
        assert_eq!(
            billable_seconds(t, t + chrono::TimeDelta::milliseconds(95_001)),
            96
        );
        assert_eq!(billable_seconds(t, t + chrono::TimeDelta::seconds(95)), 95);
        assert_eq!(billable_seconds(t, t - chrono::TimeDelta::seconds(5)), 0);
    }
}
