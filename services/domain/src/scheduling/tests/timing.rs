//! The engine's speed target (issue 4): one week of slots for 20 staff and 2,000 bookings in ≤ 1 ms.
//! Ignored by default because timings mean nothing in a debug build or on a busy machine; run with
//! `cargo test -p domain --release -- --ignored one_week`.

use std::time::{Duration, Instant};

use chrono::TimeDelta;

use super::{Given, at, staff};
use crate::scheduling::{BusyInterval, Performers, StaffSchedule, available_slots};

#[test]
#[ignore = "timing: run in release with --ignored"]
fn one_week_for_twenty_staff_and_two_thousand_bookings_takes_under_a_millisecond() {
    let mut given = Given::business(
        "America/New_York",
        &[("08:00", "12:00"), ("13:00", "20:00")],
    );
    given.rules.duration_minutes = 30;
    given.rules.step_minutes = Some(15);
    given.rules.buffer_after_minutes = 10;
    given.now = at("2027-03-01T00:00:00Z");
    given.performers = Performers::Staff(
        (1..=20)
            .map(|n| StaffSchedule::business_hours(staff(n)))
            .collect(),
    );
    let week_start = at("2027-03-08T12:00:00Z");
    given.busy = (0..2000_u16)
        .map(|i| {
            let start = week_start + TimeDelta::minutes(i64::from(i) * 97 % (7 * 24 * 60));
            BusyInterval {
                resource: Some(staff(u128::from(i % 20) + 1)),
                start,
                end: start + TimeDelta::minutes(45),
                buffer_before_minutes: 5,
                buffer_after_minutes: 5,
            }
        })
        .collect();
    let query = given.query("2027-03-08", "2027-03-14");

    let runs = 200;
    let started = Instant::now();
    let mut offered = 0;
    for _ in 0..runs {
        offered += available_slots(&query).len();
    }
    let per_query = started.elapsed() / runs;

    eprintln!("one week, 20 staff, 2,000 bookings: {per_query:?} per query");
    assert!(offered > 0);
    assert!(
        per_query < Duration::from_millis(1),
        "{per_query:?} per query"
    );
}
