//! `voiceappoint bench http` (issue 4 over HTTP): the real platform in this process on a throwaway
//! database, `--businesses` businesses onboarded over the REST API, then, over keep-alive HTTP:
//! bookings without contention (every request its own free slot, request `k` in business
//! `k % businesses` — many businesses, as the issue puts it — closed loop at `--clients`), availability of
//! the first business at a fixed offered rate (open loop), bookings with contention (rounds of `--clients`
//! racing for six slots of the first business), each beside same-run floors: `GET /healthz` over the same client (open and closed loop) and a
//! single-row `INSERT` loop on the same database. Afterwards: no two appointments overlap, and the
//! allocation table matches the events.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::bench_load::{self, Case, Outcome, Target, closed_loop, open_loop, rounds, unexpected};
use crate::bench_platform::{Business, Platform, SlotPlan};
use crate::config::Config;
use crate::platform::out;

/// Options of `bench http`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Seconds per measured case.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Offered rate (requests/s) of the open-loop cases (`/healthz`, availability).
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Concurrent clients (connections) of the closed-loop and contention cases; the open-loop cases'
    /// most requests in flight.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Businesses the uncontended bookings are spread over, so that they are many businesses' bookings,
    /// as the issue asks.
    #[arg(long, default_value_t = 16)]
    pub businesses: usize,
    /// Seconds of uncontended bookings made before the measured ones and reported on a line of their own
    /// without a target (0: none): the first second after the process started carries the pool's
    /// connections preparing their statements and warming their caches.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
    /// Print the results as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Issue 4's targets.
const AVAILABILITY_P99: Duration = Duration::from_millis(5);
const BOOKING_P99: Duration = Duration::from_millis(30);
const BOOKINGS_PER_S: f64 = 1000.0;
/// Slots each contention round races for: two adjacent starts × three staff.
const SLOTS_PER_ROUND: usize = 6;

pub async fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0.0 && args.seconds > 0 && args.businesses > 0,
        "--rate, --seconds and --businesses must be positive"
    );
    let platform = Platform::start(config, args.clients).await?;
    let result = measure(&platform, &args).await;
    platform.stop().await?;
    let report = result?;
    if args.json {
        out(&report.to_string());
    } else {
        for line in report["lines"].as_array().into_iter().flatten() {
            out(line.as_str().unwrap_or_default());
        }
    }
    if report["checks"]["clean"] != json!(true) {
        bail!("booking checks failed: {}", report["checks"]);
    }
    Ok(())
}

/// What every booking request needs.
struct Booker {
    http: reqwest::Client,
    url: String,
    token: String,
    service_id: String,
}

impl Booker {
    /// Books `start` for the client with `phone`. Every request uses its own phone number, as distinct
    /// callers would: bookings of one client append to that client's stream too, so they serialize on it.
    async fn book(
        &self,
        start: &str,
        staff: Option<&str>,
        phone: &str,
        conflict_ok: bool,
    ) -> Outcome {
        let body = json!({"service_id": self.service_id, "start": start, "staff_id": staff,
                          "client": {"name": "Bench Client", "phone": phone}});
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        match status {
            StatusCode::CREATED => Ok("201"),
            StatusCode::CONFLICT if conflict_ok => Ok("409"),
            _ => Err(unexpected(status, &text)),
        }
    }
}

async fn get(http: &reqwest::Client, url: &str, token: Option<&str>) -> Outcome {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status == StatusCode::OK {
        Ok("ok")
    } else {
        Err(unexpected(status, &String::from_utf8_lossy(&body)))
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the benchmark's script, case by case, in the order it runs"
)]
async fn measure(p: &Platform, args: &Args) -> anyhow::Result<serde_json::Value> {
    let span = Duration::from_secs(args.seconds);
    let (rate, clients) = (args.rate, args.clients.max(1));
    let businesses = p.onboard_many(args.businesses, false).await?;
    let business = &businesses[0];
    let mut cases = Vec::new();

    let health = p.url("/healthz");
    let http = p.http.clone();
    cases.push(Case::new(
        "floor: GET /healthz (open loop)",
        Some(rate),
        open_loop(rate, span, clients, |_| {
            let (http, url) = (http.clone(), health.clone());
            async move { get(&http, &url, None).await }
        })
        .await,
    ));
    let (http, url) = (p.http.clone(), health.clone());
    cases.push(Case::new(
        &format!("floor: GET /healthz, {clients} clients"),
        None,
        closed_loop(clients, span, move |_| {
            let (http, url) = (http.clone(), url.clone());
            async move { get(&http, &url, None).await }
        })
        .await,
    ));
    cases.push(crate::bench_load::raw_insert_floor(p.app.store.pool(), clients, span).await?);

    // One booker and slot plan per business; days 2..400 ahead (minimum notice never bites), contention
    // uses days from 420 on.
    let per_business = businesses
        .iter()
        .map(|b| {
            let booker = Arc::new(Booker {
                http: p.http.clone(),
                url: p.url(&format!("/api/v1/businesses/{}/appointments", b.slug)),
                token: b.token.clone(),
                service_id: b.service_id.clone(),
            });
            Ok((booker, SlotPlan::new(b, 2, 398)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let per_business = Arc::new(per_business);
    let n = businesses.len();
    // Request `k` books business `k % n`'s `k / n`-th slot; the measured requests continue the numbering
    // after the warm-up's (a closed loop's case counts exactly the requests it numbered).
    let book_free = |offset: usize| {
        let all = Arc::clone(&per_business);
        move |k: usize| {
            let all = Arc::clone(&all);
            let k = k + offset;
            async move {
                let (booker, plan) = &all[k % n];
                let Some((start, staff)) = plan.slot(k / n) else {
                    return Err(format!("slot plan exhausted ({} slots)", plan.capacity()));
                };
                booker
                    .book(&start, Some(staff), &format!("+1201{k:07}"), false)
                    .await
            }
        }
    };
    let free_name = format!("POST appointments, free slots, {clients} clients, {n} businesses");
    let mut warmed = 0;
    if args.warmup > 0 {
        let warm = Duration::from_secs(args.warmup);
        let case = Case::new(
            &format!("{free_name}: warm-up"),
            None,
            closed_loop(clients, warm, book_free(0)).await,
        );
        warmed = case.count();
        cases.push(case);
    }
    let free = Case::new(
        &free_name,
        None,
        closed_loop(clients, span, book_free(warmed)).await,
    )
    .with_target(Target {
        p99: Some(BOOKING_P99),
        min_rate: Some(BOOKINGS_PER_S),
    });
    // Requests 0, n, 2n, … went to the first business, filling its plan day by day. Availability is asked
    // of a full calendar: the first business is filled up to CALENDAR appointments first (not measured).
    let (booker, plan) = &per_business[0];
    let booked_before = (warmed + free.count()).div_ceil(n);
    let first_booked = fill(booker, plan, booked_before, clients).await?;
    let filled = first_booked - booked_before;
    let days_booked = (first_booked / (plan.capacity() / 398).max(1)).clamp(1, 398);
    cases.push(free);
    // Let the projectors catch up with the bookings, so availability is measured on a quiet system.
    if let Err(err) = p.settle(Duration::from_secs(30)).await {
        tracing::warn!(error = %err, "projectors still busy; measuring availability anyway");
    }

    cases.push(availability(p, business, plan, days_booked, rate, span).await);

    let (contended, per_round) = contention(business, booker, clients, span).await?;
    cases.push(contended);

    let check = p.check_bookings().await?;
    let won: usize = cases
        .iter()
        .map(|c| c.labels.get("201").copied().unwrap_or(0))
        .sum::<usize>()
        + filled;
    let most = per_round.iter().max().copied().unwrap_or(0);
    let least = per_round.iter().min().copied().unwrap_or(0);
    let clean = check.clean() && check.booked == won && most <= SLOTS_PER_ROUND;
    let mut lines = vec![format!(
        "bench http: {} s per case (uncontended bookings after {} s of warm-up), offered rate {rate}/s, \
         {clients} clients, {n} businesses (availability over the first, which holds about {first_booked} \
         appointments){}",
        args.seconds,
        args.warmup,
        if cfg!(debug_assertions) {
            " (DEBUG build: not representative)"
        } else {
            ""
        }
    )];
    lines.extend(bench_load::table(&cases));
    lines.push(format!(
        "contention: {} rounds of {clients} clients racing for {SLOTS_PER_ROUND} slots; winners per round {least}–{most}",
        per_round.len()
    ));
    lines.push(format!(
        "checks: {} appointments in the events ({won} answered 201), {} overlapping pairs, {} allocation differences: {}",
        check.booked,
        check.overlaps,
        check.differences,
        if clean { "ok" } else { "FAILED" }
    ));
    Ok(json!({
        "bench": "http", "seconds": args.seconds, "warmup_seconds": args.warmup, "rate": rate, "clients": clients,
        "businesses": n, "first_business_appointments": first_booked,
        "release": !cfg!(debug_assertions),
        "cases": cases.iter().map(Case::json).collect::<Vec<_>>(),
        "contention": {"rounds": per_round.len(), "slots_per_round": SLOTS_PER_ROUND,
                       "winners_min": least, "winners_max": most},
        "checks": {"appointments": check.booked, "answered_201": won, "overlaps": check.overlaps,
                   "allocation_differences": check.differences, "clean": clean},
        "lines": lines,
    }))
}

/// Appointments the first business holds before availability is measured: 28 full days (72 a day), about
/// the "2,000 booked appointments".
const CALENDAR: usize = 2_016;

/// Books the plan's slots `from..CALENDAR` (`clients` at a time) and returns how many the business holds
/// (at least `from`).
async fn fill(
    booker: &Booker,
    plan: &SlotPlan,
    from: usize,
    clients: usize,
) -> anyhow::Result<usize> {
    let mut results = futures::stream::iter(from..CALENDAR)
        .map(|k| async move {
            let (start, staff) = plan.slot(k).context("slot plan exhausted")?;
            booker
                .book(&start, Some(staff), &format!("+1203{k:07}"), false)
                .await
                .map_err(|err| anyhow::anyhow!("filling the calendar: {err}"))
        })
        .buffer_unordered(clients);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(from.max(CALENDAR))
}

/// Availability of the service for one day (no staff filter), cycling over the days the free-slot case
/// booked, at `rate` requests/s.
async fn availability(
    p: &Platform,
    business: &Business,
    plan: &SlotPlan,
    days: usize,
    rate: f64,
    span: Duration,
) -> Case {
    let base = p.url(&format!(
        "/api/v1/businesses/{}/availability?service_id={}&date=",
        business.slug, business.service_id
    ));
    let dates: Arc<Vec<String>> = Arc::new((0..days).map(|d| plan.day(d)).collect());
    let (http, token) = (p.http.clone(), business.token.clone());
    Case::new(
        "GET availability (one day, 3 staff)",
        Some(rate),
        open_loop(rate, span, 64, |i| {
            let url = format!("{base}{}", dates[i % dates.len()]);
            let (http, token) = (http.clone(), token.clone());
            async move { get(&http, &url, Some(&token)).await }
        })
        .await,
    )
    .with_target(Target {
        p99: Some(AVAILABILITY_P99),
        min_rate: None,
    })
}

/// Rounds of `clients` booking requests for the same two starts (half name a staff member, half let
/// the service pick): at most six can win per round. Returns the case and the winners per round.
async fn contention(
    business: &Business,
    booker: &Arc<Booker>,
    clients: usize,
    span: Duration,
) -> anyhow::Result<(Case, Vec<usize>)> {
    let plan = Arc::new(SlotPlan::new(business, 420, 300)?);
    let staff = business.staff.clone();
    let (elapsed, samples, per_round) = rounds(clients, span, |round, client| {
        let (b, pl) = (Arc::clone(booker), Arc::clone(&plan));
        let start = pl.start(round / 12, (round % 12) * 2 + client % 2);
        let named = ((client / 2) % 2 == 1).then(|| staff[(client / 4) % staff.len()].clone());
        let phone = format!("+1202{:07}", round * clients + client);
        async move { b.book(&start, named.as_deref(), &phone, true).await }
    })
    .await;
    let winners = per_round
        .iter()
        .map(|labels| labels.get("201").copied().unwrap_or(0))
        .collect();
    let case = Case::new(
        &format!("POST appointments, contended, {clients} racing"),
        None,
        (elapsed, samples),
    )
    .with_target(Target {
        p99: Some(BOOKING_P99),
        min_rate: None,
    });
    Ok((case, winners))
}
