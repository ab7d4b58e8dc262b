//! `voiceappoint bench …`: throughput and latency of the real components, each beside a baseline
//! measured in the same run on the same database (this machine is noisy; ratios travel, absolutes don't).
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "benchmark arithmetic on counts and ratios far below 2^52"
)]

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use events::NewEvent;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use store::{EventStore, ExpectedVersion, FeedPosition};
use uuid::Uuid;

use crate::config::Config;
use crate::platform::{self, out};

#[derive(Subcommand)]
pub enum Which {
    /// Event-store appends (1 and 32 writers, batches of 100) and feed reads vs raw INSERT/SELECT.
    Append {
        /// Seconds per measured case.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// The slot engine: one week of slots, 20 staff, 2,000 bookings (median and p99 per query).
    Availability {
        /// Queries measured.
        #[arg(long, default_value_t = 2000)]
        runs: usize,
    },
    /// The finance replay: a month of usage events, every business's invoice from the event store, vs COPY.
    Replay {
        /// Usage events to write.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        #[arg(long, default_value_t = 500)]
        businesses: usize,
        /// Timed runs of each case.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Realistic call traffic against the whole platform in this process, then the invariant check.
    Load(crate::load_cmd::Shape),
    /// Over real HTTP: availability at a fixed rate, bookings with and without contention, beside
    /// `/healthz` and raw `INSERT` floors (issue 4).
    Http(crate::bench_http::Args),
    /// Vapi webhook messages at a fixed offered rate: assistant-request, availability and booking tool
    /// calls, beside the `/healthz` floor (issue 5).
    Webhook(crate::bench_webhook::Args),
}

pub async fn run(config: &Config, which: Which) -> anyhow::Result<()> {
    match which {
        Which::Append { seconds } => append(config, Duration::from_secs(seconds)).await,
        Which::Availability { runs } => crate::bench_availability::engine(runs),
        Which::Replay {
            events,
            businesses,
            runs,
        } => crate::bench_replay::run(config, events, businesses, runs).await,
        Which::Load(shape) => crate::load_cmd::bench(config, &shape).await,
        Which::Http(args) => crate::bench_http::run(config, args).await,
        Which::Webhook(args) => crate::bench_webhook::run(config, args).await,
    }
}

/// A throwaway database for one benchmark run, dropped at the end.
pub(crate) struct BenchDb {
    admin_url: String,
    name: String,
}

impl BenchDb {
    pub(crate) async fn create(config: &Config) -> anyhow::Result<(Self, Config)> {
        let name = format!("va_bench_{}", &Uuid::new_v4().simple().to_string()[..10]);
        let options = PgConnectOptions::from_str(&config.database_url)?;
        let admin = options.clone().database("postgres");
        let mut conn = sqlx::postgres::PgConnection::connect_with(&admin).await?;
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await?;
        let mut cfg = config.clone();
        cfg.database_url = replace_database(&config.database_url, &name);
        Ok((
            Self {
                admin_url: replace_database(&config.database_url, "postgres"),
                name,
            },
            cfg,
        ))
    }

    pub(crate) async fn drop_db(self) -> anyhow::Result<()> {
        let mut conn = sqlx::postgres::PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!(
            "drop database if exists {} with (force)",
            self.name
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }
}

use sqlx::Connection as _;

fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Latencies of one case, and its rate.
struct Measured {
    ops: usize,
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measured {
    fn merge(parts: &[(usize, Vec<Duration>)], events_per_op: usize, elapsed: Duration) -> Self {
        let mut latencies: Vec<Duration> = parts.iter().flat_map(|p| p.1.iter().copied()).collect();
        latencies.sort_unstable();
        let ops = parts.iter().map(|p| p.0).sum();
        Self {
            ops,
            events: ops * events_per_op,
            elapsed,
            latencies,
        }
    }

    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[idx]
    }

    fn line(&self, name: &str) -> String {
        format!(
            "{name:<44} {:>10.0} events/s  ops {:>7}  p50 {:>8.2} ms  p99 {:>8.2} ms",
            self.rate(),
            self.ops,
            self.pct(0.50).as_secs_f64() * 1000.0,
            self.pct(0.99).as_secs_f64() * 1000.0,
        )
    }
}

fn payload(i: usize) -> serde_json::Value {
    json!({"call_id": format!("call-{i}"), "seconds": 60 + i % 300, "kind": "voice_seconds",
           "provider_cost_micros": 12_345, "note": "benchmark event of a typical size"})
}

/// Runs `writers` tasks until `deadline`, each calling `op(writer, i)`; gathers latencies.
async fn drive<F, Fut>(
    writers: usize,
    span: Duration,
    per_op: usize,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let deadline = start + span;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let op = op.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                op(w, i).await?;
                lat.push(t.elapsed());
                i += 1;
            }
            anyhow::Ok((i, lat))
        });
    }
    let mut parts = Vec::new();
    while let Some(r) = tasks.join_next().await {
        parts.push(r??);
    }
    Ok(Measured::merge(&parts, per_op, start.elapsed()))
}

async fn append(config: &Config, span: Duration) -> anyhow::Result<()> {
    let (db, cfg) = BenchDb::create(config).await?;
    let result = append_cases(&cfg, span).await;
    db.drop_db().await?;
    result
}

async fn append_cases(cfg: &Config, span: Duration) -> anyhow::Result<()> {
    let store = platform::open_store_migrated(cfg).await?;
    sqlx::query(
        "create table raw_events (like events including defaults including identity including constraints including indexes)",
    )
    .execute(store.pool())
    .await
    .context("creating the baseline table")?;
    out(&format!(
        "bench append: {} s per case, database {}",
        span.as_secs(),
        cfg.database_url.rsplit('/').next().unwrap_or("")
    ));
    for writers in [1, 32] {
        let raw = raw_insert(&store, writers, 1, span).await?;
        let ours = store_append(&store, writers, 1, span).await?;
        report(&format!("single appends, {writers} writer(s)"), &raw, &ours);
    }
    let raw = raw_insert(&store, 4, 100, span).await?;
    let ours = store_append(&store, 4, 100, span).await?;
    report("batched appends (100/tx), 4 writers", &raw, &ours);

    let (raw_rate, total) = raw_scan(&store).await?;
    let feed_rate = feed_read(&store).await?;
    out(&format!(
        "{:<44} {raw_rate:>10.0} events/s  ({total} rows)",
        "baseline: raw SELECT of all rows"
    ));
    out(&format!(
        "{:<44} {feed_rate:>10.0} events/s  ratio {:.2}",
        "feed read (gap-safe, 1000/page)",
        feed_rate / raw_rate
    ));
    Ok(())
}

fn report(name: &str, raw: &Measured, ours: &Measured) {
    out(&raw.line(&format!("baseline raw INSERT: {name}")));
    out(&ours.line(&format!("event store append: {name}")));
    out(&format!("{:<44} ratio {:.2}", "", ours.rate() / raw.rate()));
}

async fn store_append(
    store: &EventStore,
    writers: usize,
    per_op: usize,
    span: Duration,
) -> anyhow::Result<Measured> {
    let run = Uuid::new_v4().simple().to_string();
    let store = store.clone();
    drive(writers, span, per_op, move |w, i| {
        let store = store.clone();
        let stream = format!("other-bench-{run}-{w}");
        async move {
            let events = (0..per_op)
                .map(|k| NewEvent::raw("BenchRecorded", payload(i * per_op + k)))
                .collect();
            let expected = if i == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact((i * per_op) as i64)
            };
            store.append(&stream, expected, events).await?;
            Ok(())
        }
    })
    .await
}

async fn raw_insert(
    store: &EventStore,
    writers: usize,
    per_op: usize,
    span: Duration,
) -> anyhow::Result<Measured> {
    let run = Uuid::new_v4().simple().to_string();
    let pool = store.pool().clone();
    drive(writers, span, per_op, move |w, i| {
        let pool = pool.clone();
        let stream = format!("other-raw-{run}-{w}");
        async move {
            let n = per_op;
            let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
            let versions: Vec<i64> = (0..n).map(|k| (i * n + k + 1) as i64).collect();
            let data: Vec<serde_json::Value> = (0..n).map(|k| payload(i * n + k)).collect();
            sqlx::query(
                "insert into raw_events (epoch, event_id, stream_id, stream_version, event_type, schema_version, \
                   data, metadata, recorded_at, prev_hash, hash) \
                 select 0, id, $2, v, 'BenchRecorded', 1, d, '{}'::jsonb, now(), $5, $5 \
                 from unnest($1::uuid[], $3::bigint[], $4::jsonb[]) as t(id, v, d)",
            )
            .bind(&ids)
            .bind(&stream)
            .bind(&versions)
            .bind(&data)
            .bind(vec![0_u8; 32])
            .execute(&pool)
            .await?;
            Ok(())
        }
    })
    .await
}

async fn raw_scan(store: &EventStore) -> anyhow::Result<(f64, usize)> {
    use futures::TryStreamExt as _;
    let start = Instant::now();
    let mut rows = sqlx::query("select * from events order by global_position").fetch(store.pool());
    let mut n = 0_usize;
    while rows.try_next().await?.is_some() {
        n += 1;
    }
    Ok((n as f64 / start.elapsed().as_secs_f64(), n))
}

async fn feed_read(store: &EventStore) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut pos = FeedPosition::START;
    let mut n = 0_usize;
    loop {
        let batch = store.read_feed(pos, 1000).await?;
        let Some(last) = batch.last() else { break };
        pos = last.position();
        n += batch.len();
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
