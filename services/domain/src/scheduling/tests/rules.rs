//! §7 rules 1 and 3–6 on plain days: merging across midnight, a fixed grid, overrides, notice, horizon,
//! buffers, steps, 24:00, and which staff are offered.

use chrono::Weekday;

use super::{Given, at, busy, day, instants, intervals, staff};
use crate::scheduling::{
    DateOverrides, Performers, ServiceRules, StaffSchedule, UtcInterval, WeeklyHours,
    resolve_open_intervals,
};

/// A UTC business open Friday 22:00–24:00 and Saturday 00:00–02:00 (2027-01-08 is a Friday).
fn friday_night() -> Given {
    let mut given = Given::business("UTC", &[]);
    given.weekly = WeeklyHours::parse(&[
        (Weekday::Fri, &[("22:00", "24:00")]),
        (Weekday::Sat, &[("00:00", "02:00")]),
    ])
    .unwrap();
    given
}

#[test]
fn hours_across_midnight_merge_with_the_next_days_into_one_window() {
    let given = friday_night();

    let windows = resolve_open_intervals(
        given.tz,
        &given.weekly,
        &given.overrides,
        day("2027-01-08"),
        day("2027-01-09"),
    );

    let expected = UtcInterval {
        start: at("2027-01-08T22:00:00Z"),
        end: at("2027-01-09T02:00:00Z"),
    };
    assert_eq!(windows, vec![expected]);
}

#[test]
fn a_slot_may_run_across_midnight_when_the_hours_continue() {
    let mut given = friday_night();
    given.rules = ServiceRules {
        horizon_days: 1000,
        ..ServiceRules::new(90)
    };

    let starts: Vec<_> = given
        .slots("2027-01-08", "2027-01-09")
        .into_iter()
        .map(|slot| slot.start)
        .collect();

    assert_eq!(
        starts,
        instants(&["2027-01-08T22:00:00Z", "2027-01-08T23:30:00Z"])
    );
}

#[test]
fn the_grid_stays_anchored_at_the_merged_window_whatever_range_is_asked_for() {
    let mut given = friday_night();
    given.rules = ServiceRules {
        step_minutes: Some(90),
        horizon_days: 1000,
        ..ServiceRules::new(60)
    };

    assert_eq!(
        given.starts_on("2027-01-08"),
        instants(&["2027-01-08T22:00:00Z", "2027-01-08T23:30:00Z"])
    );
    assert_eq!(
        given.starts_on("2027-01-09"),
        instants(&["2027-01-09T01:00:00Z"])
    );
}

#[test]
fn an_override_replaces_the_weekly_hours_of_its_date_only() {
    let mut given = Given::business("UTC", &[("09:00", "17:00")]);
    given.overrides = DateOverrides::none()
        .with(day("2027-01-11"), intervals(&[("12:00", "14:00")]))
        .unwrap();

    assert_eq!(
        given.starts_on("2027-01-11"),
        instants(&["2027-01-11T12:00:00Z", "2027-01-11T13:00:00Z"])
    );
    assert_eq!(given.starts_on("2027-01-12").len(), 8);
}

#[test]
fn an_empty_override_closes_the_day() {
    let mut given = Given::business("UTC", &[("09:00", "17:00")]);
    given.overrides = DateOverrides::none()
        .with(day("2027-01-11"), Vec::new())
        .unwrap();

    assert!(given.starts_on("2027-01-11").is_empty());
    assert_eq!(given.starts_on("2027-01-12").len(), 8);
}

#[test]
fn a_slot_exactly_at_the_minimum_notice_is_offered() {
    let mut given = Given::business("UTC", &[("09:00", "12:00")]);
    given.rules.min_notice_minutes = 60;
    given.now = at("2027-01-11T08:00:00Z");

    assert_eq!(
        given.starts_on("2027-01-11").first(),
        Some(&at("2027-01-11T09:00:00Z"))
    );
}

#[test]
fn a_slot_one_second_inside_the_minimum_notice_is_not_offered() {
    let mut given = Given::business("UTC", &[("09:00", "12:00")]);
    given.rules.min_notice_minutes = 60;
    given.now = at("2027-01-11T08:00:01Z");

    assert_eq!(
        given.starts_on("2027-01-11").first(),
        Some(&at("2027-01-11T10:00:00Z"))
    );
}

#[test]
fn a_slot_starting_exactly_at_the_horizon_is_not_offered() {
    let mut given = Given::business("UTC", &[("09:00", "12:00")]);
    given.rules.horizon_days = 1;
    given.now = at("2027-01-11T09:00:00Z");

    let starts: Vec<_> = given
        .slots("2027-01-11", "2027-01-20")
        .into_iter()
        .map(|slot| slot.start)
        .collect();

    assert_eq!(
        starts,
        instants(&[
            "2027-01-11T09:00:00Z",
            "2027-01-11T10:00:00Z",
            "2027-01-11T11:00:00Z"
        ])
    );
}

#[test]
fn busy_intervals_are_half_open_so_touching_slots_stay_free() {
    let mut given = Given::business("UTC", &[("08:00", "14:00")]);
    given.busy = vec![busy(None, "2027-01-11T10:00:00Z", "2027-01-11T11:00:00Z")];

    let expected = instants(&[
        "2027-01-11T08:00:00Z",
        "2027-01-11T09:00:00Z",
        "2027-01-11T11:00:00Z",
        "2027-01-11T12:00:00Z",
        "2027-01-11T13:00:00Z",
    ]);
    assert_eq!(given.starts_on("2027-01-11"), expected);
}

#[test]
fn service_buffers_on_both_sides_keep_neighbouring_slots_away_from_a_booking() {
    let mut given = Given::business("UTC", &[("08:00", "14:00")]);
    given.rules.buffer_before_minutes = 15;
    given.rules.buffer_after_minutes = 15;
    given.busy = vec![busy(None, "2027-01-11T10:00:00Z", "2027-01-11T11:00:00Z")];

    let expected = instants(&[
        "2027-01-11T08:00:00Z",
        "2027-01-11T12:00:00Z",
        "2027-01-11T13:00:00Z",
    ]);
    assert_eq!(given.starts_on("2027-01-11"), expected);
}

#[test]
fn a_busy_intervals_own_buffers_block_on_both_sides() {
    let mut given = Given::business("UTC", &[("08:00", "14:00")]);
    let mut booked = busy(None, "2027-01-11T10:00:00Z", "2027-01-11T11:00:00Z");
    booked.buffer_before_minutes = 30;
    booked.buffer_after_minutes = 30;
    given.busy = vec![booked];

    let expected = instants(&[
        "2027-01-11T08:00:00Z",
        "2027-01-11T12:00:00Z",
        "2027-01-11T13:00:00Z",
    ]);
    assert_eq!(given.starts_on("2027-01-11"), expected);
}

#[test]
fn the_candidates_and_the_busy_intervals_buffers_add_up() {
    // Busy until 10:50 plus 5 minutes after; a 11:00 slot with 5 minutes before just touches, 6 overlap.
    let mut given = Given::business("UTC", &[("11:00", "12:00")]);
    let mut booked = busy(None, "2027-01-11T10:00:00Z", "2027-01-11T10:50:00Z");
    booked.buffer_after_minutes = 5;
    given.busy = vec![booked];

    given.rules.buffer_before_minutes = 5;
    assert_eq!(
        given.starts_on("2027-01-11"),
        instants(&["2027-01-11T11:00:00Z"])
    );
    given.rules.buffer_before_minutes = 6;
    assert!(given.starts_on("2027-01-11").is_empty());
}

#[test]
fn a_step_smaller_than_the_duration_offers_overlapping_starts() {
    let mut given = Given::business("UTC", &[("09:00", "12:00")]);
    given.rules.step_minutes = Some(30);

    let expected = instants(&[
        "2027-01-11T09:00:00Z",
        "2027-01-11T09:30:00Z",
        "2027-01-11T10:00:00Z",
        "2027-01-11T10:30:00Z",
        "2027-01-11T11:00:00Z",
    ]);
    assert_eq!(given.starts_on("2027-01-11"), expected);
}

#[test]
fn a_close_at_twenty_four_hundred_allows_a_slot_ending_at_midnight() {
    let given = Given::business("America/New_York", &[("20:00", "24:00")]);

    // 20:00 EST = 01:00Z next day; the last slot 23:00 EST = 04:00Z ends at local midnight.
    let expected = instants(&[
        "2027-01-12T01:00:00Z",
        "2027-01-12T02:00:00Z",
        "2027-01-12T03:00:00Z",
        "2027-01-12T04:00:00Z",
    ]);
    assert_eq!(given.starts_on("2027-01-11"), expected);
}

#[test]
fn a_slot_lists_every_free_staff_member_sorted_and_disappears_when_all_are_busy() {
    let mut given = Given::business("UTC", &[("09:00", "12:00")]);
    given.performers = Performers::Staff(vec![
        StaffSchedule::business_hours(staff(2)),
        StaffSchedule::business_hours(staff(1)),
    ]);
    given.busy = vec![
        busy(
            Some(staff(1)),
            "2027-01-11T10:00:00Z",
            "2027-01-11T11:00:00Z",
        ),
        busy(
            Some(staff(1)),
            "2027-01-11T11:00:00Z",
            "2027-01-11T12:00:00Z",
        ),
        busy(
            Some(staff(2)),
            "2027-01-11T11:00:00Z",
            "2027-01-11T12:00:00Z",
        ),
    ];

    let slots = given.slots("2027-01-11", "2027-01-11");

    let listed: Vec<_> = slots
        .iter()
        .map(|slot| (slot.start, slot.staff_ids.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (at("2027-01-11T09:00:00Z"), vec![staff(1), staff(2)]),
            (at("2027-01-11T10:00:00Z"), vec![staff(2)]),
        ]
    );
}

#[test]
fn a_business_wide_busy_interval_blocks_every_staff_member() {
    let mut given = Given::business("UTC", &[("09:00", "11:00")]);
    given.performers = Performers::Staff(vec![
        StaffSchedule::business_hours(staff(1)),
        StaffSchedule::business_hours(staff(2)),
    ]);
    given.busy = vec![busy(None, "2027-01-11T09:00:00Z", "2027-01-11T10:00:00Z")];

    assert_eq!(
        given.starts_on("2027-01-11"),
        instants(&["2027-01-11T10:00:00Z"])
    );
}

#[test]
fn staff_are_offered_only_inside_their_own_hours() {
    let mut given = Given::business("UTC", &[("09:00", "12:00")]);
    let part_timer = StaffSchedule {
        staff_id: staff(1),
        weekly: Some(WeeklyHours::parse(&[(Weekday::Mon, &[("09:00", "11:00")])]).unwrap()),
        overrides: DateOverrides::none(),
    };
    given.performers = Performers::Staff(vec![part_timer, StaffSchedule::business_hours(staff(2))]);
    given.busy = vec![busy(
        Some(staff(2)),
        "2027-01-11T09:00:00Z",
        "2027-01-11T10:00:00Z",
    )];

    let listed: Vec<_> = given
        .slots("2027-01-11", "2027-01-11")
        .into_iter()
        .map(|slot| (slot.start, slot.staff_ids))
        .collect();

    assert_eq!(
        listed,
        vec![
            (at("2027-01-11T09:00:00Z"), vec![staff(1)]),
            (at("2027-01-11T10:00:00Z"), vec![staff(1), staff(2)]),
            (at("2027-01-11T11:00:00Z"), vec![staff(2)]),
        ]
    );
}

#[test]
fn a_staff_override_gives_that_member_the_day_off() {
    let mut given = Given::business("UTC", &[("09:00", "10:00")]);
    let off_monday = StaffSchedule {
        staff_id: staff(1),
        weekly: None,
        overrides: DateOverrides::none()
            .with(day("2027-01-11"), Vec::new())
            .unwrap(),
    };
    given.performers = Performers::Staff(vec![off_monday, StaffSchedule::business_hours(staff(2))]);

    let slots = given.slots("2027-01-11", "2027-01-12");

    assert_eq!(slots.len(), 2);
    assert_eq!(slots[0].staff_ids, vec![staff(2)]);
    assert_eq!(slots[1].staff_ids, vec![staff(1), staff(2)]);
}

#[test]
fn no_qualified_staff_means_no_slots() {
    let mut given = Given::business("UTC", &[("09:00", "17:00")]);
    given.performers = Performers::Staff(Vec::new());

    assert!(given.starts_on("2027-01-11").is_empty());
}

#[test]
fn a_business_without_staff_offers_slots_with_no_staff_ids() {
    let given = Given::business("UTC", &[("09:00", "10:00")]);

    let slots = given.slots("2027-01-11", "2027-01-11");

    assert_eq!(slots.len(), 1);
    assert!(slots[0].staff_ids.is_empty());
    assert_eq!(slots[0].end, at("2027-01-11T10:00:00Z"));
}
