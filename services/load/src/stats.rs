//! What a run measured: latency per message type, errors by kind, projection lag samples.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "percentile arithmetic on sample counts far below 2^52"
)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Shared by every simulated call of a run.
#[derive(Default)]
pub struct Stats {
    latencies: Mutex<BTreeMap<&'static str, Vec<Duration>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// The first occurrence of each error kind, for the report.
    examples: Mutex<BTreeMap<String, String>>,
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    lag_seconds: Mutex<Vec<f64>>,
    lag_events: Mutex<Vec<i64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Percentiles of one sorted sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

impl Stats {
    pub fn latency(&self, kind: &'static str, took: Duration) {
        lock(&self.latencies).entry(kind).or_default().push(took);
    }

    pub fn error(&self, kind: impl Into<String>) {
        *lock(&self.errors).entry(kind.into()).or_default() += 1;
    }

    /// An error with what it looked like (the first example of each kind is kept).
    pub fn error_with(&self, kind: &str, example: impl FnOnce() -> String) {
        self.error(kind);
        lock(&self.examples)
            .entry(kind.to_owned())
            .or_insert_with(example);
    }

    /// Expected business outcomes (booked, slot taken, no slots…): counted, not errors.
    pub fn outcome(&self, kind: &'static str) {
        *lock(&self.outcomes).entry(kind).or_default() += 1;
    }

    pub fn lag(&self, seconds: f64, events: i64) {
        lock(&self.lag_seconds).push(seconds);
        lock(&self.lag_events).push(events);
    }

    pub fn summaries(&self) -> BTreeMap<&'static str, Summary> {
        lock(&self.latencies)
            .iter()
            .map(|(k, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                let s = Summary {
                    count: v.len(),
                    p50: percentile(&v, 0.50),
                    p95: percentile(&v, 0.95),
                    p99: percentile(&v, 0.99),
                    max: v.last().copied().unwrap_or_default(),
                };
                (*k, s)
            })
            .collect()
    }

    /// Requests measured, every message type together.
    pub fn total(&self) -> usize {
        lock(&self.latencies).values().map(Vec::len).sum()
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    pub fn error_count(&self) -> u64 {
        lock(&self.errors).values().sum()
    }

    pub fn outcomes(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.outcomes).clone()
    }

    /// (p50, p99, max) of the lag in seconds, and the max in events.
    pub fn lag_summary(&self) -> (f64, f64, f64, i64) {
        let mut s = lock(&self.lag_seconds).clone();
        s.sort_by(f64::total_cmp);
        let max_events = lock(&self.lag_events).iter().copied().max().unwrap_or(0);
        (
            percentile(&s, 0.50),
            percentile(&s, 0.99),
            s.last().copied().unwrap_or(0.0),
            max_events,
        )
    }

    /// The human report, one line each.
    pub fn report(&self, elapsed: Duration) -> Vec<String> {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut lines = Vec::new();
        let summaries = self.summaries();
        let total = self.total();
        lines.push(format!(
            "{total} webhook/API requests in {:.1} s: {:.0} requests/s",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64().max(1e-9)
        ));
        for (kind, s) in &summaries {
            lines.push(format!(
                "  {kind:<34} n {:>7}  {:>7.0}/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms",
                s.count,
                s.count as f64 / elapsed.as_secs_f64().max(1e-9),
                ms(s.p50),
                ms(s.p95),
                ms(s.p99),
                ms(s.max)
            ));
        }
        let (p50, p99, max, max_events) = self.lag_summary();
        lines.push(format!(
            "projection lag: p50 {p50:.3} s  p99 {p99:.3} s  max {max:.3} s  (max {max_events} events behind)"
        ));
        let outcomes = self.outcomes();
        lines.push(format!(
            "outcomes: {}",
            outcomes
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let errors = self.errors();
        if errors.is_empty() {
            lines.push("errors: none".into());
        } else {
            lines.push(format!(
                "errors: {}",
                errors
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            for (kind, example) in lock(&self.examples).iter() {
                let short: String = example.chars().take(400).collect();
                lines.push(format!("  first {kind}: {short}"));
            }
        }
        lines
    }
}
