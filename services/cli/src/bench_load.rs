//! Load drivers and reporting for the HTTP benchmarks.
//!
//! - [`open_loop`] sends request `i` at `start + i / rate` whether or not earlier ones have answered
//!   (at most `max_in_flight` at once) and measures each latency **from its scheduled send time**, so a
//!   stall shows up in the percentiles of everything scheduled during it instead of silently lowering the
//!   rate (coordinated omission).
//! - [`closed_loop`] runs `clients` workers back to back: the most the system serves at that concurrency.
//! - [`rounds`] fires `clients` requests at once, waits for all of them, and repeats: a race per round.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "benchmark arithmetic on counts and durations far below 2^52"
)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What one request came to: `Ok(label)` (counted per label, e.g. `"201"` / `"409"`) or an error with
/// a short description (counted, and the first one is shown).
pub type Outcome = Result<&'static str, String>;

type Samples = Vec<(Duration, Outcome)>;

/// How many requests an open loop at `rate` sends in `span`.
pub fn planned(rate: f64, span: Duration) -> usize {
    (rate * span.as_secs_f64()).round().max(1.0) as usize
}

/// Open loop at `rate` requests/s for `span`; see the module comment.
pub async fn open_loop<F, Fut>(
    rate: f64,
    span: Duration,
    max_in_flight: usize,
    mut op: F,
) -> (Duration, Samples)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let total = planned(rate, span);
    let gate = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..total {
        let scheduled = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(scheduled).await;
        let Ok(permit) = Arc::clone(&gate).acquire_owned().await else {
            break;
        };
        let request = op(i);
        tasks.spawn(async move {
            let outcome = request.await;
            drop(permit);
            (scheduled.elapsed(), outcome)
        });
    }
    let mut samples = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        samples.push(done.unwrap_or_else(|e| (Duration::ZERO, Err(format!("task: {e}")))));
    }
    (start.elapsed(), samples)
}

/// `clients` workers, each sending its next request when the previous one answered, until `span` is
/// over. `op` gets a sequence number unique across workers.
pub async fn closed_loop<F, Fut>(clients: usize, span: Duration, op: F) -> (Duration, Samples)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + span;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..clients.max(1) {
        let (op, next) = (op.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let outcome = op(next.fetch_add(1, Ordering::Relaxed)).await;
                samples.push((sent.elapsed(), outcome));
            }
            samples
        });
    }
    let mut samples = Vec::new();
    while let Some(done) = tasks.join_next().await {
        samples.extend(done.unwrap_or_default());
    }
    (start.elapsed(), samples)
}

/// Rounds of `clients` simultaneous requests until `span` is over; `op(round, client)`. Also returns
/// each round's outcomes counted per label.
pub async fn rounds<F, Fut>(
    clients: usize,
    span: Duration,
    op: F,
) -> (Duration, Samples, Vec<BTreeMap<&'static str, usize>>)
where
    F: Fn(usize, usize) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut per_round = Vec::new();
    let mut round = 0;
    while start.elapsed() < span {
        let mut tasks = JoinSet::new();
        for client in 0..clients.max(1) {
            let request = op(round, client);
            tasks.spawn(async move {
                let sent = Instant::now();
                let outcome = request.await;
                (sent.elapsed(), outcome)
            });
        }
        let mut labels = BTreeMap::new();
        while let Some(done) = tasks.join_next().await {
            let sample = done.unwrap_or_else(|e| (Duration::ZERO, Err(format!("task: {e}"))));
            if let Ok(label) = &sample.1 {
                *labels.entry(*label).or_insert(0) += 1;
            }
            samples.push(sample);
        }
        per_round.push(labels);
        round += 1;
    }
    (start.elapsed(), samples, per_round)
}

/// A target from the issues: a p99 ceiling and/or a throughput floor.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target {
    pub p99: Option<Duration>,
    pub min_rate: Option<f64>,
}

/// One measured case.
pub struct Case {
    pub name: String,
    /// Requests/s offered (open loop only).
    pub offered: Option<f64>,
    pub elapsed: Duration,
    /// Every request's latency, errors included, sorted.
    latencies: Vec<Duration>,
    pub labels: BTreeMap<&'static str, usize>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub target: Target,
}

impl Case {
    pub fn new(name: &str, offered: Option<f64>, (elapsed, samples): (Duration, Samples)) -> Self {
        let mut case = Self {
            name: name.to_owned(),
            offered,
            elapsed,
            latencies: Vec::with_capacity(samples.len()),
            labels: BTreeMap::new(),
            errors: 0,
            first_error: None,
            target: Target::default(),
        };
        for (latency, outcome) in samples {
            case.latencies.push(latency);
            match outcome {
                Ok(label) => *case.labels.entry(label).or_insert(0) += 1,
                Err(err) => {
                    case.errors += 1;
                    case.first_error.get_or_insert(err);
                }
            }
        }
        case.latencies.sort_unstable();
        case
    }

    #[must_use]
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    pub fn count(&self) -> usize {
        self.latencies.len()
    }

    /// Requests answered per second (errors included).
    pub fn rate(&self) -> f64 {
        self.count() as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile, `p` in 0..=1.
    pub fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (p * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    /// Whether the case met its target (`None` when it has none). Errors fail it.
    pub fn met(&self) -> Option<bool> {
        let Target { p99, min_rate } = self.target;
        if p99.is_none() && min_rate.is_none() {
            return None;
        }
        let latency_ok = p99.is_none_or(|limit| self.pct(0.99) <= limit);
        let rate_ok = min_rate.is_none_or(|floor| self.rate() >= floor);
        Some(latency_ok && rate_ok && self.errors == 0)
    }

    fn target_text(&self) -> String {
        let Target { p99, min_rate } = self.target;
        let mut parts = Vec::new();
        if let Some(floor) = min_rate {
            parts.push(format!("≥ {floor:.0}/s"));
        }
        if let Some(limit) = p99 {
            parts.push(format!("p99 ≤ {} ms", limit.as_millis()));
        }
        match self.met() {
            None => "—".to_owned(),
            Some(met) => format!(
                "{}: {}",
                parts.join(", "),
                if met { "met" } else { "NOT met" }
            ),
        }
    }

    pub fn json(&self) -> Value {
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        json!({"case": self.name, "offered_per_s": self.offered, "answered_per_s": self.rate(),
               "requests": self.count(), "errors": self.errors, "first_error": self.first_error,
               "outcomes": self.labels, "p50_ms": ms(self.pct(0.50)), "p95_ms": ms(self.pct(0.95)),
               "p99_ms": ms(self.pct(0.99)), "max_ms": ms(self.pct(1.0)),
               "target_p99_ms": self.target.p99.map(ms), "target_per_s": self.target.min_rate,
               "met": self.met()})
    }
}

/// The table: one line per case, outcome counts and the first error below it.
pub fn table(cases: &[Case]) -> Vec<String> {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut lines = vec![format!(
        "{:<44} {:>9} {:>9} {:>7} {:>5} {:>8} {:>8} {:>8} {:>8}  target",
        "case", "offered/s", "done/s", "n", "err", "p50 ms", "p95 ms", "p99 ms", "max ms"
    )];
    for case in cases {
        lines.push(format!(
            "{:<44} {:>9} {:>9.0} {:>7} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {}",
            case.name,
            case.offered
                .map_or_else(|| "closed".to_owned(), |r| format!("{r:.0}")),
            case.rate(),
            case.count(),
            case.errors,
            ms(case.pct(0.50)),
            ms(case.pct(0.95)),
            ms(case.pct(0.99)),
            ms(case.pct(1.0)),
            case.target_text(),
        ));
        if case.labels.len() > 1 || case.labels.keys().any(|l| *l != "ok") {
            let counts: Vec<String> = case
                .labels
                .iter()
                .map(|(l, n)| format!("{l}: {n}"))
                .collect();
            lines.push(format!("{:<44} outcomes {}", "", counts.join(", ")));
        }
        if let Some(err) = &case.first_error {
            lines.push(format!("{:<44} first error: {err}", ""));
        }
    }
    lines
}

/// A short description of an unexpected HTTP answer.
pub fn unexpected(status: reqwest::StatusCode, body: &str) -> String {
    let body: String = body.chars().take(160).collect();
    format!("{status}: {body}")
}

/// The database floor: one-row autocommit `INSERT`s of a small JSON document into a scratch table
/// (`bench_raw`, created here), `clients` at once, on `pool` — the platform's own database and pool.
pub async fn raw_insert_floor(
    pool: &sqlx::PgPool,
    clients: usize,
    span: Duration,
) -> anyhow::Result<Case> {
    let pool = pool.clone();
    sqlx::query(
        "create table bench_raw (id bigint generated always as identity primary key, k bigint not null, data jsonb not null)",
    )
    .execute(&pool)
    .await?;
    let sampled = closed_loop(clients, span, move |k| {
        let pool = pool.clone();
        async move {
            sqlx::query("insert into bench_raw (k, data) values ($1, $2)")
                .bind(i64::try_from(k).unwrap_or(i64::MAX))
                .bind(json!({"service": "Haircut", "start": "2027-03-15T10:00", "client": "Bench Client"}))
                .execute(&pool)
                .await
                .map(|_| "ok")
                .map_err(|e| e.to_string())
        }
    })
    .await;
    Ok(Case::new(
        &format!("floor: raw INSERT, {clients} clients"),
        None,
        sampled,
    ))
}
