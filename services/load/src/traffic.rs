//! Simulated phone calls, message by message as Vapi sends them: `assistant-request`, `status-update`
//! in-progress, `check_service_availability`, `book_appointment` (with think time between), `status-update`
//! ended and `end-of-call-report`. A share of callers race for the same slot; a share of messages is
//! delivered twice at once, as Vapi's redeliveries do.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use events::{Clock as _, SystemClock};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use store::EventStore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::stats::Stats;
use crate::world::{Business, HORIZON_DAYS, Rest};

/// The shape of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Calls in flight at once.
    pub calls: usize,
    pub duration: Duration,
    /// Share of calls that go for the one contested slot of their business.
    pub race_share: f64,
    /// Share of messages delivered twice, concurrently.
    pub duplicate_share: f64,
    /// Upper bound of the pause between a call's messages (uniform from zero).
    pub think: Duration,
    /// Duplicates sent at the same moment as the original (`true`) or right after its answer, as a
    /// retrying sender would (`false`).
    pub simultaneous_duplicates: bool,
}

/// A booking the platform confirmed to a caller.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub call_id: String,
    pub tenant_id: Uuid,
    pub appointment_id: Uuid,
}

/// What the calls left behind, for the invariant check.
#[derive(Default)]
pub struct Ledger {
    pub accepted: Mutex<Vec<Accepted>>,
    /// Calls whose `end-of-call-report` was answered 200.
    pub ended_calls: Mutex<Vec<(Uuid, String)>>,
}

/// Two deliveries of one message answered differently. Seen with simultaneous duplicates only:
/// `book_appointment` delivered twice at once answers one delivery `internal error` (the booking is made
/// once), and the call log can then keep the error outcome instead of the appointment.
pub const DUPLICATE_DISAGREED: &str = "duplicate delivery answered differently";

/// The webhook secret Vapi sends (`VAPI_WEBHOOK_SECRET`, default the development one).
pub fn webhook_secret() -> String {
    std::env::var("VAPI_WEBHOOK_SECRET").unwrap_or_else(|_| "dev-webhook-secret".to_owned())
}

/// Plays calls until `opts.duration` has passed (calls in flight then finish), sampling projection lag.
pub async fn run(
    store: &EventStore,
    rest: &Rest,
    businesses: &[Business],
    opts: &Options,
    stats: &Arc<Stats>,
    ledger: &Arc<Ledger>,
) -> Duration {
    let start = Instant::now();
    let deadline = start + opts.duration;
    let sampling = CancellationToken::new();
    let sampler = tokio::spawn(sample_lag(
        store.clone(),
        Arc::clone(stats),
        sampling.clone(),
    ));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..opts.calls {
        let caller = Caller {
            rest: rest.clone(),
            businesses: businesses.to_vec(),
            opts: opts.clone(),
            stats: Arc::clone(stats),
            ledger: Arc::clone(ledger),
            secret: webhook_secret(),
        };
        workers.spawn(async move {
            let mut rng = StdRng::seed_from_u64(rand::random::<u64>() ^ w as u64);
            while Instant::now() < deadline {
                caller.one_call(&mut rng).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    sampling.cancel();
    let _ = sampler.await;
    elapsed
}

/// Every 250 ms: how many events the slowest projector is behind, and for how long the oldest head it
/// has not reached yet has been committed (age of the oldest observation: an upper bound by 250 ms).
async fn sample_lag(store: EventStore, stats: Arc<Stats>, stop: CancellationToken) {
    let mut seen: VecDeque<(store::FeedPosition, Instant)> = VecDeque::new();
    let names: Vec<&str> = projections::all().iter().map(|p| p.name()).collect();
    while !stop.is_cancelled() {
        if let Ok(head) = store.committed_head().await {
            if seen.back().is_none_or(|(h, _)| *h < head) {
                seen.push_back((head, Instant::now()));
            }
            let mut slowest: Option<store::FeedPosition> = None;
            for name in &names {
                if let Ok(cp) = projections::runtime::load_checkpoint(store.pool(), name).await {
                    slowest = Some(slowest.map_or(cp.position, |s| s.min(cp.position)));
                }
            }
            if let Some(slowest) = slowest {
                while seen.front().is_some_and(|(h, _)| *h <= slowest) {
                    seen.pop_front();
                }
                let age = seen.front().map_or(0.0, |(_, t)| t.elapsed().as_secs_f64());
                let behind = (head.global_position - slowest.global_position).max(0);
                stats.lag(age, behind);
            }
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

struct Caller {
    rest: Rest,
    businesses: Vec<Business>,
    opts: Options,
    stats: Arc<Stats>,
    ledger: Arc<Ledger>,
    secret: String,
}

/// What one call will do, drawn before it starts (the rng is not held across awaits).
struct Script {
    call_id: String,
    business: Business,
    racer: bool,
    service: String,
    date: String,
    caller: String,
    pick: usize,
    dup: [bool; 6],
    think: [Duration; 3],
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Caller {
    fn script(&self, rng: &mut StdRng) -> Script {
        let business = self.businesses[rng.random_range(0..self.businesses.len())].clone();
        let racer = rng.random_bool(self.opts.race_share.clamp(0.0, 1.0));
        let now = SystemClock.now();
        let (service, offset) = if racer {
            (business.service_names[0].clone(), 2)
        } else {
            let s =
                business.service_names[rng.random_range(0..business.service_names.len())].clone();
            (s, rng.random_range(2..HORIZON_DAYS))
        };
        let date = (now + TimeDelta::days(i64::from(offset)))
            .date_naive()
            .to_string();
        let think_ms = u64::try_from(self.opts.think.as_millis()).unwrap_or(u64::MAX);
        let mut think = || Duration::from_millis(rng.random_range(0..=think_ms));
        let think = [think(), think(), think()];
        let dup_share = self.opts.duplicate_share.clamp(0.0, 1.0);
        Script {
            call_id: format!("load-{}", Uuid::new_v4().simple()),
            racer,
            service,
            date,
            caller: format!("+1555{:07}", rng.random_range(0..10_000_000)),
            pick: rng.random_range(0..1000),
            dup: std::array::from_fn(|_| rng.random_bool(dup_share)),
            think,
            business,
        }
    }

    fn call_object(s: &Script) -> Value {
        json!({"id": s.call_id, "orgId": "org_load", "type": "inboundPhoneCall",
               "phoneNumberId": s.business.phone_number_id, "customer": {"number": s.caller},
               "createdAt": iso(SystemClock.now()), "updatedAt": iso(SystemClock.now())})
    }

    async fn one_call(&self, rng: &mut StdRng) {
        let s = self.script(rng);
        let started = SystemClock.now();
        let call = Self::call_object(&s);
        let answer = self
            .deliver(
                "assistant-request",
                s.dup[0],
                json!({"type": "assistant-request", "call": call}),
            )
            .await;
        if answer
            .as_ref()
            .is_some_and(|a| a.get("assistant").is_none() && a.get("assistantId").is_none())
        {
            self.stats
                .error("assistant-request: no assistant in the answer");
        }
        self.deliver(
            "status-update",
            s.dup[1],
            json!({"type": "status-update", "status": "in-progress", "call": call}),
        )
        .await;
        tokio::time::sleep(s.think[0]).await;
        let slots = self
            .tool(
                &s,
                &call,
                s.dup[2],
                "check_service_availability",
                json!({"service": s.service, "date": s.date}),
            )
            .await;
        let start = slots.and_then(|r| {
            let slots = r["slots"].as_array()?.clone();
            if slots.is_empty() {
                return None;
            }
            // Racers all want the first slot of the contested day; others take any offered slot.
            let i = if s.racer { 0 } else { s.pick % slots.len() };
            slots[i]["start"].as_str().map(str::to_owned)
        });
        tokio::time::sleep(s.think[1]).await;
        if let Some(start) = start {
            self.book(&s, &call, &start).await;
        } else {
            self.stats.outcome("no_slot_offered");
        }
        tokio::time::sleep(s.think[2]).await;
        self.deliver(
            "status-update",
            s.dup[4],
            json!({"type": "status-update", "status": "ended",
            "endedReason": "customer-ended-call", "call": call}),
        )
        .await;
        let ended = SystemClock.now();
        let mut c = call.clone();
        c["costBreakdown"] = json!({"transport": 0.01, "stt": 0.02, "llm": 0.05, "tts": 0.04, "vapi": 0.0034, "total": 0.1234});
        let report = json!({"type": "end-of-call-report", "endedReason": "customer-ended-call",
            "startedAt": iso(started), "endedAt": iso(ended), "cost": 0.1234,
            "artifact": {"transcript": "AI: Hello\nUser: a haircut please", "messages": []},
            "analysis": {"summary": "Load test call.", "successEvaluation": "true"}, "call": c});
        if self
            .deliver("end-of-call-report", s.dup[5], report)
            .await
            .is_some()
        {
            let mut ended = self
                .ledger
                .ended_calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ended.push((s.business.tenant_id, s.call_id.clone()));
        }
    }

    async fn book(&self, s: &Script, call: &Value, start: &str) {
        let Some(r) = self
            .tool(
                s,
                call,
                s.dup[3],
                "book_appointment",
                json!({"service": s.service, "start": start, "client_name": "Load Caller"}),
            )
            .await
        else {
            return;
        };
        match r["status"].as_str() {
            Some("booked") => {
                let id = r["appointment_id"].as_str().and_then(|id| id.parse().ok());
                let Some(appointment_id) = id else {
                    self.stats
                        .error("book_appointment: booked without an appointment id");
                    return;
                };
                self.stats
                    .outcome(if s.racer { "booked (racer)" } else { "booked" });
                let mut accepted = self
                    .ledger
                    .accepted
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                accepted.push(Accepted {
                    call_id: s.call_id.clone(),
                    tenant_id: s.business.tenant_id,
                    appointment_id,
                });
            }
            Some("unavailable") => self.stats.outcome(if s.racer {
                "slot taken (racer)"
            } else {
                "slot taken"
            }),
            _ => self
                .stats
                .error(format!("book_appointment: unexpected answer {r}")),
        }
    }

    /// One tool call; the parsed JSON result, or `None` (counted as an error) for an error answer.
    async fn tool(
        &self,
        s: &Script,
        call: &Value,
        dup: bool,
        name: &'static str,
        args: Value,
    ) -> Option<Value> {
        let id = format!("tc-{}", Uuid::new_v4().simple());
        let message = json!({"type": "tool-calls", "call": call,
            "toolCallList": [{"id": id, "type": "function", "function": {"name": name, "arguments": args}}]});
        let kind = match name {
            "book_appointment" => "tool-calls book_appointment",
            _ => "tool-calls check_service_availability",
        };
        let answer = self.deliver(kind, dup, message).await?;
        let _ = s;
        let first = &answer["results"][0];
        if let Some(err) = first["error"].as_str() {
            self.stats
                .error_with(&format!("{name}: tool error"), || err.to_owned());
            return None;
        }
        if let Some(Ok(v)) = first["result"].as_str().map(serde_json::from_str::<Value>) {
            Some(v)
        } else {
            self.stats.error(format!("{name}: unreadable result"));
            None
        }
    }

    /// Posts a webhook message (twice at once when `dup`), records latency and errors; the first answer.
    async fn deliver(&self, kind: &'static str, dup: bool, message: Value) -> Option<Value> {
        let body = json!({"message": message}).to_string();
        if dup {
            let (a, b) = if self.opts.simultaneous_duplicates {
                tokio::join!(self.post(kind, body.clone()), self.post(kind, body))
            } else {
                let a = self.post(kind, body.clone()).await;
                (a, self.post(kind, body).await)
            };
            // Availability may change between two deliveries; a booking answer must not.
            if let (Some(a), Some(b)) = (&a, &b)
                && kind == "tool-calls book_appointment"
                && a != b
            {
                self.stats
                    .error_with(DUPLICATE_DISAGREED, || format!("{a} / {b}"));
            }
            // The caller hears one of the two answers; prefer one that is not an error, so a duplicate
            // that failed is counted once (above), not again as a tool error.
            let failed = |v: &Option<Value>| {
                v.as_ref()
                    .is_none_or(|v| v["results"][0].get("error").is_some())
            };
            if failed(&a) { b.or(a) } else { a }
        } else {
            self.post(kind, body).await
        }
    }

    async fn post(&self, kind: &'static str, body: String) -> Option<Value> {
        let t = Instant::now();
        let sent = self
            .rest
            .http
            .post(format!("{}/vapi/webhook", self.rest.base))
            .header("content-type", "application/json")
            .header("x-vapi-secret", &self.secret)
            .body(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(err) => {
                let why = if err.is_timeout() {
                    "timeout"
                } else if err.is_connect() {
                    "connect"
                } else {
                    "transport"
                };
                self.stats.error(format!("{kind}: {why}"));
                return None;
            }
        };
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        self.stats.latency(kind, t.elapsed());
        if !status.is_success() {
            self.stats
                .error(format!("{kind}: HTTP {}", status.as_u16()));
            return None;
        }
        serde_json::from_str(&text).ok().or_else(|| {
            self.stats.error(format!("{kind}: body is not JSON"));
            None
        })
    }
}
