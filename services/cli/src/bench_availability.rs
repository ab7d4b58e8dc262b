//! `voiceappoint bench availability`: the slot engine's speed target (issue 4) — one week of slots for a
//! business with 20 staff and 2,000 booked appointments, ≤ 1 ms per query — as median and p99 over many
//! runs. Pure CPU, no database: build with `--release` for figures that mean anything.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc, Weekday};
use domain::scheduling::{
    BusyInterval, DateOverrides, Performers, ServiceRules, SlotQuery, StaffSchedule, WeeklyHours,
    available_slots,
};
use uuid::Uuid;

use crate::platform::out;

/// The target of issue 4.
const TARGET: Duration = Duration::from_millis(1);

/// The fixture: New York, 08:00–12:00 and 13:00–20:00 every day, a 30-minute service on a 15-minute grid
/// with a 10-minute buffer after, 20 staff on business hours, 2,000 appointments of 45 minutes with
/// 5-minute buffers spread over the week.
struct Fixture {
    weekly: WeeklyHours,
    overrides: DateOverrides,
    rules: ServiceRules,
    performers: Performers,
    busy: Vec<BusyInterval>,
    now: DateTime<Utc>,
}

impl Fixture {
    fn new() -> anyhow::Result<Self> {
        let hours: &[(&str, &str)] = &[("08:00", "12:00"), ("13:00", "20:00")];
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .map(|day| (day, hours));
        let staff = |n: u16| Uuid::from_u128(u128::from(n) + 1);
        let week_start = DateTime::parse_from_rfc3339("2027-03-08T12:00:00Z")?.with_timezone(&Utc);
        let busy = (0..2000_u16)
            .map(|i| {
                let start = week_start + TimeDelta::minutes(i64::from(i) * 97 % (7 * 24 * 60));
                BusyInterval {
                    resource: Some(staff(i % 20)),
                    start,
                    end: start + TimeDelta::minutes(45),
                    buffer_before_minutes: 5,
                    buffer_after_minutes: 5,
                }
            })
            .collect();
        Ok(Self {
            weekly: WeeklyHours::parse(&days)?,
            overrides: DateOverrides::none(),
            rules: ServiceRules {
                step_minutes: Some(15),
                buffer_after_minutes: 10,
                ..ServiceRules::new(30)
            },
            performers: Performers::Staff(
                (0..20)
                    .map(|n| StaffSchedule::business_hours(staff(n)))
                    .collect(),
            ),
            busy,
            now: DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z")?.with_timezone(&Utc),
        })
    }

    fn query(&self, from: NaiveDate, to: NaiveDate) -> SlotQuery<'_> {
        SlotQuery {
            tz: chrono_tz::America::New_York,
            weekly: &self.weekly,
            overrides: &self.overrides,
            rules: &self.rules,
            performers: &self.performers,
            busy: &self.busy,
            now: self.now,
            from_date: from,
            to_date: to,
        }
    }
}

/// Runs the engine case `runs` times and prints median, p99 and the verdict against the target.
pub fn engine(runs: usize) -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let from = NaiveDate::from_ymd_opt(2027, 3, 8).ok_or_else(|| anyhow::anyhow!("date"))?;
    let to = NaiveDate::from_ymd_opt(2027, 3, 14).ok_or_else(|| anyhow::anyhow!("date"))?;
    let query = fixture.query(from, to);
    let offered = available_slots(&query).len();
    anyhow::ensure!(offered > 0, "the fixture offers no slots");
    let mut timings = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let slots = available_slots(&query);
        timings.push(started.elapsed());
        std::hint::black_box(slots);
    }
    timings.sort_unstable();
    let pct = |p: usize| timings[(timings.len() - 1) * p / 100];
    let (median, p99) = (pct(50), pct(99));
    out(&format!(
        "engine: one week, 20 staff, 2,000 bookings ({offered} slots): median {:.3} ms, p99 {:.3} ms over {} runs (target ≤ {:.0} ms: {})",
        median.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        timings.len(),
        TARGET.as_secs_f64() * 1000.0,
        if p99 <= TARGET { "met" } else { "missed" },
    ));
    if cfg!(debug_assertions) {
        out("(debug build: figures are not representative; use `cargo run --release`)");
    }
    Ok(())
}
