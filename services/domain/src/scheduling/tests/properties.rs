//! Properties over random schedules around DST transitions, checked by brute force against the rules:
//! no slot touches a widened busy interval, every slot lies in opening (and staff) hours, slots are sorted,
//! unique, on the grid, within notice and horizon, and exactly the free candidates are offered.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use uuid::Uuid;

use super::{ALL_WEEK, day, intervals, staff, zone};
use crate::scheduling::{
    BusyInterval, DateOverrides, LocalInterval, Performers, ServiceRules, Slot, SlotQuery,
    StaffSchedule, UtcInterval, WallTime, WeeklyHours, available_slots, check_bookable,
    resolve_open_intervals, start_of_local_date,
};

const ZONES: [&str; 6] = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    "America/Sao_Paulo",
];

/// Dates a few days before DST transitions of the zones above.
const BASES: [&str; 6] = [
    "2027-03-12",
    "2027-03-26",
    "2027-04-02",
    "2027-10-01",
    "2027-10-29",
    "2027-11-05",
];

#[derive(Debug, Clone)]
struct Scenario {
    tz: Tz,
    weekly: WeeklyHours,
    overrides: DateOverrides,
    rules: ServiceRules,
    performers: Performers,
    busy: Vec<BusyInterval>,
    now: DateTime<Utc>,
    from: NaiveDate,
    to: NaiveDate,
}

impl Scenario {
    fn query(&self) -> SlotQuery<'_> {
        SlotQuery {
            tz: self.tz,
            weekly: &self.weekly,
            overrides: &self.overrides,
            rules: &self.rules,
            performers: &self.performers,
            busy: &self.busy,
            now: self.now,
            from_date: self.from,
            to_date: self.to,
        }
    }
}

fn day_intervals() -> impl Strategy<Value = Vec<LocalInterval>> {
    let random = prop::collection::btree_set(0u16..=96, 0..=4).prop_map(|points| {
        let points: Vec<u16> = points.into_iter().collect();
        points
            .chunks_exact(2)
            .map(|pair| {
                let open = WallTime::from_minutes(pair[0] * 15).unwrap();
                LocalInterval::new(open, WallTime::from_minutes(pair[1] * 15).unwrap()).unwrap()
            })
            .collect()
    });
    prop_oneof![
        4 => random,
        1 => Just(intervals(&[("00:00", "03:00"), ("21:00", "24:00")])),
        1 => Just(intervals(&[("00:00", "24:00")])),
    ]
}

fn weekly() -> impl Strategy<Value = WeeklyHours> {
    prop::collection::vec(day_intervals(), 7)
        .prop_map(|days| WeeklyHours::new(ALL_WEEK.iter().copied().zip(days)).unwrap())
}

fn overrides(base: NaiveDate) -> impl Strategy<Value = DateOverrides> {
    prop::collection::vec((0i64..8, day_intervals()), 0..=2).prop_map(move |entries| {
        let mut overrides = DateOverrides::none();
        for (offset, hours) in entries {
            overrides
                .set(base + TimeDelta::days(offset), hours)
                .unwrap();
        }
        overrides
    })
}

fn rules() -> impl Strategy<Value = ServiceRules> {
    (
        1u32..=24,
        prop::option::of(1u32..=24),
        0u32..=6,
        0u32..=6,
        0u32..=600,
        1u32..=30,
    )
        .prop_map(
            |(duration, step, before, after, notice, horizon)| ServiceRules {
                duration_minutes: duration * 5,
                step_minutes: step.map(|step| step * 5),
                buffer_before_minutes: before * 5,
                buffer_after_minutes: after * 5,
                min_notice_minutes: notice,
                horizon_days: horizon,
            },
        )
}

fn performers(base: NaiveDate) -> impl Strategy<Value = Performers> {
    let member = (prop::option::of(weekly()), overrides(base));
    prop_oneof![
        1 => Just(Performers::Business),
        3 => prop::collection::vec(member, 0..=3).prop_map(|members| {
            Performers::Staff(
                members
                    .into_iter()
                    .zip(1u128..)
                    .map(|((weekly, overrides), n)| StaffSchedule { staff_id: staff(n), weekly, overrides })
                    .collect(),
            )
        }),
    ]
}

fn busy(base: DateTime<Utc>) -> impl Strategy<Value = Vec<BusyInterval>> {
    let one = (
        0u128..=3,
        0i64..(9 * 24 * 12),
        1i64..=48,
        0u32..=6,
        0u32..=6,
    )
        .prop_map(move |(resource, start, length, before, after)| {
            let start = base + TimeDelta::minutes(start * 5);
            BusyInterval {
                resource: (resource > 0).then(|| staff(resource)),
                start,
                end: start + TimeDelta::minutes(length * 5),
                buffer_before_minutes: before * 5,
                buffer_after_minutes: after * 5,
            }
        });
    prop::collection::vec(one, 0..40)
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (0..ZONES.len(), 0..BASES.len()).prop_flat_map(|(zone_index, base_index)| {
        let base = day(BASES[base_index]);
        let base_instant = base.and_hms_opt(0, 0, 0).unwrap().and_utc() - TimeDelta::days(1);
        (
            weekly(),
            overrides(base),
            rules(),
            performers(base),
            busy(base_instant),
            -2880i64..5760,
            0i64..4,
            0i64..4,
        )
            .prop_map(
                move |(weekly, overrides, rules, performers, busy, now, start, length)| Scenario {
                    tz: zone(ZONES[zone_index]),
                    weekly,
                    overrides,
                    rules,
                    performers,
                    busy,
                    now: base_instant + TimeDelta::minutes(now),
                    from: base + TimeDelta::days(start),
                    to: base + TimeDelta::days(start + length),
                },
            )
    })
}

fn minutes(count: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(count))
}

/// Whether `[start, end)` widened by the service buffers overlaps `interval` widened by its own (brute force).
fn blocked_by(
    rules: &ServiceRules,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    interval: &BusyInterval,
) -> bool {
    let (from, to) = (
        start - minutes(rules.buffer_before_minutes),
        end + minutes(rules.buffer_after_minutes),
    );
    let (busy_from, busy_to) = (
        interval.start - minutes(interval.buffer_before_minutes),
        interval.end + minutes(interval.buffer_after_minutes),
    );
    from < to && busy_from < busy_to && from < busy_to && busy_from < to
}

/// Whether `staff_id` (or the business, for `None`) is blocked for `[start, end)` by any busy interval.
fn blocked(
    scenario: &Scenario,
    staff_id: Option<Uuid>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> bool {
    scenario.busy.iter().any(|interval| {
        let relevant =
            staff_id.is_none() || interval.resource.is_none() || interval.resource == staff_id;
        relevant && blocked_by(&scenario.rules, start, end, interval)
    })
}

/// The merged working windows of one staff member, built from the public resolver.
fn staff_windows(scenario: &Scenario, member: &StaffSchedule) -> Vec<UtcInterval> {
    let (weekly, mut overrides) = match &member.weekly {
        Some(weekly) => (weekly.clone(), DateOverrides::none()),
        None => (scenario.weekly.clone(), scenario.overrides.clone()),
    };
    for (date, hours) in member.overrides.iter() {
        overrides.set(date, hours.to_vec()).unwrap();
    }
    resolve_open_intervals(
        scenario.tz,
        &weekly,
        &overrides,
        scenario.from - TimeDelta::days(2),
        scenario.to + TimeDelta::days(2),
    )
}

fn inside(windows: &[UtcInterval], slot: &Slot) -> bool {
    windows
        .iter()
        .any(|window| window.contains(slot.start, slot.end))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_slot_overlaps_a_busy_interval_widened_by_both_sides_buffers(scenario in scenario()) {
        for slot in available_slots(&scenario.query()) {
            match &scenario.performers {
                Performers::Business => prop_assert!(!blocked(&scenario, None, slot.start, slot.end), "{slot:?}"),
                Performers::Staff(_) => {
                    prop_assert!(!slot.staff_ids.is_empty());
                    for staff_id in &slot.staff_ids {
                        prop_assert!(!blocked(&scenario, Some(*staff_id), slot.start, slot.end), "{slot:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_slot_lies_inside_opening_hours_and_its_staffs_hours(scenario in scenario()) {
        let windows = resolve_open_intervals(
            scenario.tz, &scenario.weekly, &scenario.overrides,
            scenario.from - TimeDelta::days(2), scenario.to + TimeDelta::days(2),
        );
        for slot in available_slots(&scenario.query()) {
            prop_assert_eq!(slot.end - slot.start, minutes(scenario.rules.duration_minutes));
            prop_assert!(inside(&windows, &slot), "{:?} not inside {:?}", slot, windows);
            let local_date = slot.start.with_timezone(&scenario.tz).date_naive();
            prop_assert!(scenario.from <= local_date && local_date <= scenario.to);
            if let Performers::Staff(members) = &scenario.performers {
                for member in members.iter().filter(|member| slot.staff_ids.contains(&member.staff_id)) {
                    prop_assert!(inside(&staff_windows(&scenario, member), &slot), "{slot:?}");
                }
            }
        }
    }

    #[test]
    fn slots_are_sorted_unique_and_within_notice_and_horizon(scenario in scenario()) {
        let slots = available_slots(&scenario.query());
        for pair in slots.windows(2) {
            prop_assert!(pair[0].start < pair[1].start, "{:?}", pair);
        }
        for slot in &slots {
            prop_assert!(slot.start >= scenario.now + minutes(scenario.rules.min_notice_minutes));
            prop_assert!(slot.start < scenario.now + TimeDelta::days(i64::from(scenario.rules.horizon_days)));
            prop_assert!(slot.staff_ids.windows(2).all(|ids| ids[0] < ids[1]));
        }
    }

    #[test]
    fn every_slot_is_on_the_grid_of_its_merged_window_and_bookable(scenario in scenario()) {
        let windows = resolve_open_intervals(
            scenario.tz, &scenario.weekly, &scenario.overrides,
            scenario.from - TimeDelta::days(9), scenario.to + TimeDelta::days(2),
        );
        let step = i64::from(scenario.rules.step()) * 60;
        for slot in available_slots(&scenario.query()) {
            let window = windows.iter().find(|window| window.contains(slot.start, slot.end)).unwrap();
            let date = slot.start.with_timezone(&scenario.tz).date_naive();
            let anchor = if window.start >= start_of_local_date(scenario.tz, date - TimeDelta::days(7)) {
                window.start
            } else {
                start_of_local_date(scenario.tz, date)
            };
            prop_assert_eq!((slot.start - anchor).num_seconds().rem_euclid(step), 0, "{:?}", slot);
            prop_assert_eq!(check_bookable(&scenario.query(), slot.start, None), Ok(slot.staff_ids.clone()));
        }
    }

    #[test]
    fn exactly_the_free_candidates_are_offered(scenario in scenario()) {
        let unbusy = Scenario { busy: Vec::new(), ..scenario.clone() };
        let expected: Vec<(DateTime<Utc>, Vec<Uuid>)> = available_slots(&unbusy.query())
            .into_iter()
            .filter_map(|slot| match &scenario.performers {
                Performers::Business => {
                    (!blocked(&scenario, None, slot.start, slot.end)).then_some((slot.start, Vec::new()))
                }
                Performers::Staff(_) => {
                    let free: Vec<Uuid> = slot
                        .staff_ids
                        .iter()
                        .copied()
                        .filter(|id| !blocked(&scenario, Some(*id), slot.start, slot.end))
                        .collect();
                    (!free.is_empty()).then_some((slot.start, free))
                }
            })
            .collect();
        let actual: Vec<_> =
            available_slots(&scenario.query()).into_iter().map(|slot| (slot.start, slot.staff_ids)).collect();
        prop_assert_eq!(actual, expected);
    }
}
