//! Fault drills: the load run with one fault played beside the traffic, each ending with the invariant
//! check. `kill` aborts the relay and projectors at random moments; `flood` sends invalid webhooks beside
//! real traffic; `nats` kills a private nats-server for a while; `postgres` restarts a private Postgres;
//! `slow` holds connections open with clients that send nothing or dawdle over their request.

mod slow;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;
use store::EventStore;
use tokio::sync::Mutex;

use crate::invariants::Check;
use crate::local::{LocalNats, LocalPostgres};
use crate::platform::{Platform, SharedPlatform};
use crate::stats::Stats;
use crate::traffic::{self, Ledger, Options};
use crate::world::{self, Business, Rest};
use crate::{CATCH_UP, RunReport};

/// The drill names `voiceappoint drill` accepts.
pub const NAMES: [&str; 5] = ["kill", "flood", "nats", "postgres", "slow"];

/// The fault played beside the traffic.
pub enum Fault {
    None,
    /// Abort a random worker (relay or a projector) every 0.2–1.5 s, restart it 0–1 s later.
    KillWorkers,
    /// `senders` tasks posting invalid webhooks as fast as they are answered.
    InvalidFlood {
        senders: usize,
    },
    /// `connections` clients holding connections open without finishing a request (see `slow`).
    SlowClients {
        connections: usize,
    },
    /// Kill the private nats-server a third into the run for `down`, then start it again.
    NatsOutage {
        nats: LocalNats,
        down: Duration,
    },
    /// Stop the private Postgres (`-m immediate`, a crash) a third into the run for `down`.
    PostgresRestart {
        pg: LocalPostgres,
        down: Duration,
    },
}

/// The platform, the businesses, traffic and `fault` side by side, then the invariants (and the fault's own).
pub async fn run_with_fault(
    store: EventStore,
    nats_url: &str,
    businesses: usize,
    opts: &Options,
    fault: Fault,
) -> anyhow::Result<RunReport> {
    let platform = Platform::start(store.clone(), nats_url).await?;
    let rest = Rest::new(platform.base_url());
    let made = world::create(&store, &rest, businesses).await?;
    let platform: SharedPlatform = Arc::new(Mutex::new(platform));
    let stats = Arc::new(Stats::default());
    let ledger = Arc::new(Ledger::default());
    let traffic = traffic::run(&store, &rest, &made, opts, &stats, &ledger);
    let played = play(fault, &platform, &rest, &made, opts.duration);
    let (elapsed, (mut notes, extra, keep)) = tokio::join!(traffic, played);
    {
        let mut p = platform.lock().await;
        for name in Platform::worker_names() {
            if !p.is_running(name) {
                p.restart(name);
            }
        }
    }
    let recovered = probe(&rest, &made[0], Duration::from_secs(90)).await;
    let mut verdicts = crate::invariants::check(&store, &ledger, CATCH_UP).await;
    verdicts.0.extend(extra);
    verdicts.0.push(recovered);
    if stats.error_count() > 0 {
        notes.push(format!(
            "real traffic saw {} errors (listed above)",
            stats.error_count()
        ));
    }
    platform.lock().await.stop();
    drop(keep);
    Ok(RunReport {
        stats,
        elapsed,
        verdicts: crate::Verdicts(verdicts.0),
        notes,
    })
}

/// A private server the fault used: kept running until the invariants have run, then dropped (stopped).
type Keep = Option<Box<dyn std::any::Any + Send>>;

/// Plays the fault during `window`; notes for the report, the fault's own checks, what to keep alive.
async fn play(
    fault: Fault,
    platform: &SharedPlatform,
    rest: &Rest,
    made: &[Business],
    window: Duration,
) -> (Vec<String>, Vec<Check>, Keep) {
    let deadline = Instant::now() + window;
    match fault {
        Fault::None => (Vec::new(), Vec::new(), None),
        Fault::KillWorkers => {
            let (notes, checks) = kill_workers(platform, deadline).await;
            (notes, checks, None)
        }
        Fault::InvalidFlood { senders } => {
            let (notes, checks) = flood(platform, rest, made, senders, deadline).await;
            (notes, checks, None)
        }
        Fault::SlowClients { connections } => {
            let (notes, checks) = slow::play(&rest.base, connections, deadline).await;
            (notes, checks, None)
        }
        Fault::NatsOutage { mut nats, down } => {
            tokio::time::sleep(window / 3).await;
            nats.kill().await;
            let t = Instant::now();
            tokio::time::sleep(down).await;
            let restarted = nats.restart().await;
            let note = format!(
                "nats-server killed {:.1} s into the run, restarted after {:.1} s",
                (window / 3).as_secs_f64(),
                t.elapsed().as_secs_f64()
            );
            let check = Check {
                name: "private nats-server restarted",
                passed: restarted.is_ok(),
                detail: restarted.map_or_else(|e| format!("{e:#}"), |()| "answering again".into()),
            };
            tokio::time::sleep(deadline.saturating_duration_since(Instant::now())).await;
            (vec![note], vec![check], Some(Box::new(nats)))
        }
        Fault::PostgresRestart { pg, down } => {
            tokio::time::sleep(window / 3).await;
            let pg = Arc::new(pg);
            let stopper = Arc::clone(&pg);
            let _ = tokio::task::spawn_blocking(move || stopper.stop("immediate")).await;
            let t = Instant::now();
            tokio::time::sleep(down).await;
            let starter = Arc::clone(&pg);
            let back_up = tokio::task::spawn_blocking(move || starter.start_again()).await;
            let ok = matches!(back_up, Ok(Ok(())));
            let note = format!(
                "Postgres crashed (-m immediate) {:.1} s into the run, started again after {:.1} s",
                (window / 3).as_secs_f64(),
                t.elapsed().as_secs_f64()
            );
            tokio::time::sleep(deadline.saturating_duration_since(Instant::now())).await;
            let check = Check {
                name: "private Postgres started again",
                passed: ok,
                detail: format!("{back_up:?}"),
            };
            (vec![note], vec![check], Some(Box::new(pg)))
        }
    }
}

async fn kill_workers(platform: &SharedPlatform, deadline: Instant) -> (Vec<String>, Vec<Check>) {
    let mut rng = StdRng::seed_from_u64(rand::random());
    let names = Platform::worker_names();
    let mut kills: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        let name = names[rng.random_range(0..names.len())];
        platform.lock().await.kill(name);
        *kills.entry(name).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1000))).await;
        platform.lock().await.restart(name);
    }
    let list: Vec<String> = kills.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
    (
        vec![format!("killed (abort, then restart): {}", list.join(", "))],
        Vec::new(),
    )
}

/// Posts junk until `deadline`: a real-looking message with a wrong secret, none at all, a bad HMAC, and
/// garbage bodies with the right secret. Then checks nothing of it was stored.
async fn flood(
    platform: &SharedPlatform,
    rest: &Rest,
    made: &[Business],
    senders: usize,
    deadline: Instant,
) -> (Vec<String>, Vec<Check>) {
    let store = platform.lock().await.store.clone();
    let statuses: Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for s in 0..senders {
        let (rest, phone, statuses) = (
            rest.clone(),
            made[s % made.len()].phone_number_id.clone(),
            Arc::clone(&statuses),
        );
        tasks.spawn(async move {
            let secret = traffic::webhook_secret();
            let mut i = 0_u64;
            while Instant::now() < deadline {
                let call = json!({"id": format!("junk-{s}-{i}"), "orgId": "org_junk", "phoneNumberId": phone,
                                  "customer": {"number": "+15550000000"}});
                let real = json!({"message": {"type": "tool-calls", "call": call, "toolCallList": [{"id": format!("junk-tc-{s}-{i}"),
                    "type": "function", "function": {"name": "book_appointment", "arguments": {"service": "Haircut", "start": "2030-01-01T10:00:00Z"}}}]}}).to_string();
                let (kind, body, headers): (&str, String, Vec<(&str, String)>) = match i % 5 {
                    0 => ("wrong secret", real, vec![("x-vapi-secret", "not-the-secret".into())]),
                    1 => ("no credentials", real, vec![]),
                    2 => ("bad HMAC", real, vec![("x-signature", "00".repeat(32)), ("x-timestamp", "1700000000".into())]),
                    3 => ("garbage body", "\u{0}\u{1}not json at all {{{".into(), vec![("x-vapi-secret", secret.clone())]),
                    _ => ("truncated JSON", r#"{"message": {"type": "status-update", "call": {"id": "junk-"#.into(), vec![("x-vapi-secret", secret.clone())]),
                };
                let mut req = rest.http.post(format!("{}/vapi/webhook", rest.base))
                    .header("content-type", "application/json").body(body);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let status = match req.send().await {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "transport error".into(),
                };
                *statuses.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(format!("{kind} → {status}")).or_default() += 1;
                i += 1;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let statuses = statuses
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let sent: u64 = statuses.values().sum();
    let note = format!(
        "invalid webhooks sent: {sent} ({})",
        statuses
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let refused = statuses
        .keys()
        .all(|k| k.ends_with("→ 401") || k.ends_with("→ 400") || k.ends_with("→ 422"));
    let stored: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "select (select count(*) from events where stream_id like '%junk-%' or data::text like '%junk-%') \
              + (select count(*) from call_log where call_id like 'junk-%')",
    )
    .fetch_one(store.pool())
    .await;
    let checks = vec![
        Check {
            name: "invalid webhooks refused (401 unauthenticated, 4xx unreadable)",
            passed: refused && sent > 0,
            detail: format!("{sent} sent"),
        },
        Check {
            name: "nothing stored from invalid webhooks",
            passed: matches!(stored, Ok(0)),
            detail: format!("events or call-log rows mentioning a junk call: {stored:?}"),
        },
    ];
    (vec![note], checks)
}

/// After the faults: the platform answers a new call on its own (assistant + availability), within `limit`.
async fn probe(rest: &Rest, business: &Business, limit: Duration) -> Check {
    let start = Instant::now();
    let secret = traffic::webhook_secret();
    let date = (events::Clock::now(&events::SystemClock) + chrono::TimeDelta::days(3))
        .date_naive()
        .to_string();
    let mut last = String::new();
    while start.elapsed() < limit {
        let id = format!("probe-{}", uuid::Uuid::new_v4().simple());
        let call = json!({"id": id, "orgId": "org_load", "phoneNumberId": business.phone_number_id,
                          "customer": {"number": "+15550001111"}});
        let msgs = [
            json!({"message": {"type": "assistant-request", "call": call}}),
            json!({"message": {"type": "tool-calls", "call": call, "toolCallList": [{"id": format!("tc-{id}"), "type": "function",
                "function": {"name": "check_service_availability", "arguments": {"service": business.service_names[0], "date": date}}}]}}),
        ];
        let mut ok = true;
        for m in msgs {
            let answer = rest
                .http
                .post(format!("{}/vapi/webhook", rest.base))
                .header("x-vapi-secret", &secret)
                .json(&m)
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() => {
                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                    if v.get("assistant").is_none() && v["results"][0].get("result").is_none() {
                        ok = false;
                        last = v.to_string();
                    }
                }
                Ok(r) => {
                    ok = false;
                    last = format!("HTTP {}", r.status());
                }
                Err(e) => {
                    ok = false;
                    last = e.to_string();
                }
            }
        }
        if ok {
            return Check {
                name: "a new call is answered after the run",
                passed: true,
                detail: format!("after {:.1} s", start.elapsed().as_secs_f64()),
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Check {
        name: "a new call is answered after the run",
        passed: false,
        detail: format!("still failing after {} s: {last}", limit.as_secs()),
    }
}

/// The `nats` drill: a private nats-server under `dir`, killed for `down` a third into the run.
pub async fn nats_outage(
    store: EventStore,
    dir: &std::path::Path,
    businesses: usize,
    opts: &Options,
    down: Duration,
) -> anyhow::Result<RunReport> {
    let nats = LocalNats::start(dir).await?;
    let url = nats.url();
    run_with_fault(
        store,
        &url,
        businesses,
        opts,
        Fault::NatsOutage { nats, down },
    )
    .await
}

/// The `postgres` drill: a private Postgres cluster under `dir`, crashed for `down` a third into the run.
pub async fn postgres_restart(
    dir: &std::path::Path,
    nats_url: &str,
    businesses: usize,
    opts: &Options,
    down: Duration,
) -> anyhow::Result<RunReport> {
    let data = dir.to_owned();
    let pg = tokio::task::spawn_blocking(move || LocalPostgres::start(&data)).await??;
    let url = pg.url("postgres");
    let store = crate::connect_store(&url).await?;
    run_with_fault(
        store,
        nats_url,
        businesses,
        opts,
        Fault::PostgresRestart { pg, down },
    )
    .await
}
