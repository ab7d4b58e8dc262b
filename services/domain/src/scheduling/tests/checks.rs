//! Booking-side questions (`check_bookable`, `is_on_grid`, `nearest_alternatives`) and hours validation and views.

use chrono::Weekday;

use super::{Given, at, busy, day, instants, staff};
use crate::scheduling::{
    DateOverrides, HoursError, LocalInterval, Performers, ResolvedDay, SlotError, StaffSchedule,
    UtcInterval, WallTime, WeeklyHours, check_bookable, is_on_grid, nearest_alternatives,
    resolve_days,
};

/// A UTC business open 09:00–12:00 with staff 1 and 2, `now` the morning of 2027-01-11.
fn two_staff() -> Given {
    let mut given = Given::business("UTC", &[("09:00", "12:00")]);
    given.performers = Performers::Staff(vec![
        StaffSchedule::business_hours(staff(1)),
        StaffSchedule::business_hours(staff(2)),
    ]);
    given.now = at("2027-01-11T07:00:00Z");
    given.rules.min_notice_minutes = 60;
    given.rules.horizon_days = 30;
    given
}

#[test]
fn a_free_start_on_the_grid_is_bookable_with_every_free_staff_member() {
    let mut given = two_staff();
    given.busy = vec![busy(
        Some(staff(1)),
        "2027-01-11T10:00:00Z",
        "2027-01-11T11:00:00Z",
    )];
    let query = given.query("2027-01-11", "2027-01-11");

    assert_eq!(
        check_bookable(&query, at("2027-01-11T09:00:00Z"), None),
        Ok(vec![staff(1), staff(2)])
    );
    assert_eq!(
        check_bookable(&query, at("2027-01-11T10:00:00Z"), None),
        Ok(vec![staff(2)])
    );
    assert_eq!(
        check_bookable(&query, at("2027-01-11T10:00:00Z"), Some(staff(2))),
        Ok(vec![staff(2)])
    );
}

#[test]
fn a_start_taken_for_the_requested_staff_member_is_unavailable() {
    let mut given = two_staff();
    given.busy = vec![busy(
        Some(staff(1)),
        "2027-01-11T10:00:00Z",
        "2027-01-11T11:00:00Z",
    )];
    let query = given.query("2027-01-11", "2027-01-11");
    let start = at("2027-01-11T10:00:00Z");

    assert_eq!(
        check_bookable(&query, start, Some(staff(1))),
        Err(SlotError::Unavailable { start })
    );
}

#[test]
fn a_start_taken_for_everyone_is_unavailable() {
    let mut given = two_staff();
    given.busy = vec![busy(None, "2027-01-11T10:30:00Z", "2027-01-11T10:45:00Z")];
    let query = given.query("2027-01-11", "2027-01-11");
    let start = at("2027-01-11T10:00:00Z");

    assert_eq!(
        check_bookable(&query, start, None),
        Err(SlotError::Unavailable { start })
    );
}

#[test]
fn bad_starts_are_refused_with_the_rule_they_break() {
    let given = two_staff();
    let query = given.query("2027-01-11", "2027-01-11");

    let past = at("2027-01-11T06:00:00Z");
    assert_eq!(
        check_bookable(&query, past, None),
        Err(SlotError::InPast { start: past })
    );
    let soon = at("2027-01-11T07:30:00Z");
    let earliest = at("2027-01-11T08:00:00Z");
    assert_eq!(
        check_bookable(&query, soon, None),
        Err(SlotError::TooSoon {
            start: soon,
            earliest
        })
    );
    let far = at("2027-02-10T09:00:00Z");
    let horizon = at("2027-02-10T07:00:00Z");
    assert_eq!(
        check_bookable(&query, far, None),
        Err(SlotError::OutsideHorizon {
            start: far,
            horizon
        })
    );
    let evening = at("2027-01-11T18:00:00Z");
    assert_eq!(
        check_bookable(&query, evening, None),
        Err(SlotError::OutsideHours { start: evening })
    );
    let overrunning = at("2027-01-11T11:30:00Z");
    assert_eq!(
        check_bookable(&query, overrunning, None),
        Err(SlotError::OutsideHours { start: overrunning })
    );
    let off_grid = at("2027-01-11T09:30:00Z");
    assert_eq!(
        check_bookable(&query, off_grid, None),
        Err(SlotError::OffGrid { start: off_grid })
    );
    let stranger = staff(9);
    assert_eq!(
        check_bookable(&query, at("2027-01-11T09:00:00Z"), Some(stranger)),
        Err(SlotError::StaffNotEligible { staff_id: stranger })
    );
}

#[test]
fn the_grid_check_follows_the_merged_window_anchor() {
    let mut given = Given::business("UTC", &[]);
    given.weekly = WeeklyHours::parse(&[
        (Weekday::Fri, &[("22:00", "24:00")]),
        (Weekday::Sat, &[("00:00", "02:00")]),
    ])
    .unwrap();
    given.rules.step_minutes = Some(90);
    let query = given.query("2027-01-09", "2027-01-09");

    assert!(is_on_grid(&query, at("2027-01-09T01:00:00Z")));
    assert!(!is_on_grid(&query, at("2027-01-09T00:00:00Z")));
    assert_eq!(
        check_bookable(&query, at("2027-01-09T01:00:00Z"), None),
        Ok(Vec::new())
    );
}

#[test]
fn alternatives_come_from_the_same_day_nearest_first_then_the_following_days() {
    let mut given = Given::business("UTC", &[("09:00", "13:00")]);
    given.now = at("2027-01-11T00:00:00Z");
    given.busy = vec![busy(None, "2027-01-11T10:00:00Z", "2027-01-11T11:00:00Z")];
    let query = given.query("2027-01-11", "2027-01-11");

    let alternatives = nearest_alternatives(&query, at("2027-01-11T10:00:00Z"), 5);

    let starts: Vec<_> = alternatives.into_iter().map(|slot| slot.start).collect();
    let expected = instants(&[
        "2027-01-11T09:00:00Z",
        "2027-01-11T11:00:00Z",
        "2027-01-11T12:00:00Z",
        "2027-01-12T09:00:00Z",
        "2027-01-12T10:00:00Z",
    ]);
    assert_eq!(starts, expected);
}

#[test]
fn alternatives_stop_at_the_horizon() {
    let mut given = Given::business("UTC", &[("09:00", "10:00")]);
    given.now = at("2027-01-11T00:00:00Z");
    given.rules.horizon_days = 2;
    let query = given.query("2027-01-11", "2027-01-11");

    let alternatives = nearest_alternatives(&query, at("2027-01-11T09:00:00Z"), 10);

    let starts: Vec<_> = alternatives.into_iter().map(|slot| slot.start).collect();
    assert_eq!(
        starts,
        instants(&["2027-01-11T09:00:00Z", "2027-01-12T09:00:00Z"])
    );
}

#[test]
fn wall_times_parse_strict_hh_mm_including_twenty_four_hundred() {
    assert_eq!(WallTime::parse("09:30").map(WallTime::minutes), Ok(570));
    assert_eq!(WallTime::parse("24:00"), Ok(WallTime::END_OF_DAY));
    assert_eq!(
        WallTime::parse("24:00").map(|time| time.to_string()),
        Ok("24:00".to_owned())
    );
    for bad in ["24:30", "9:30", "09:60", "0930", "ab:cd", ""] {
        assert_eq!(
            WallTime::parse(bad),
            Err(HoursError::BadTime(bad.to_owned())),
            "{bad}"
        );
    }
}

#[test]
fn an_interval_must_close_after_it_opens() {
    let open = WallTime::parse("17:00").unwrap();
    let close = WallTime::parse("09:00").unwrap();

    assert_eq!(
        LocalInterval::new(open, close),
        Err(HoursError::CloseNotAfterOpen { open, close })
    );
    assert!(LocalInterval::parse("09:00", "09:00").is_err());
}

#[test]
fn overlapping_intervals_on_one_day_are_refused_but_touching_ones_are_fine() {
    let overlapping =
        WeeklyHours::parse(&[(Weekday::Mon, &[("12:00", "18:00"), ("09:00", "13:00")])]);
    let touching = WeeklyHours::parse(&[(Weekday::Mon, &[("12:00", "18:00"), ("09:00", "12:00")])]);

    assert!(matches!(overlapping, Err(HoursError::Overlapping { ref day, .. }) if day == "mon"));
    assert_eq!(
        touching.unwrap().day(Weekday::Mon)[0],
        LocalInterval::parse("09:00", "12:00").unwrap()
    );
    let override_overlap = DateOverrides::none().with(
        day("2027-01-11"),
        vec![LocalInterval::parse("09:00", "12:00").unwrap(); 2],
    );
    assert!(matches!(
        override_overlap,
        Err(HoursError::Overlapping { .. })
    ));
}

#[test]
fn weekly_hours_round_trip_through_json_and_refuse_bad_input() {
    let hours = WeeklyHours::parse(&[(Weekday::Fri, &[("22:00", "24:00")])]).unwrap();

    let json = serde_json::to_string(&hours).unwrap();

    assert!(
        json.contains(r#""fri":[{"open":"22:00","close":"24:00"}]"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<WeeklyHours>(&json).unwrap(), hours);
    let backwards = r#"{"mon":[{"open":"17:00","close":"09:00"}]}"#;
    assert!(serde_json::from_str::<WeeklyHours>(backwards).is_err());
    let bad_time = r#"{"mon":[{"open":"25:00","close":"26:00"}]}"#;
    assert!(serde_json::from_str::<WeeklyHours>(bad_time).is_err());
    let overlapping =
        r#"{"tue":[{"open":"09:00","close":"12:00"},{"open":"11:00","close":"13:00"}]}"#;
    assert!(serde_json::from_str::<WeeklyHours>(overlapping).is_err());
}

#[test]
fn resolved_days_show_local_hours_and_their_utc_meaning_per_date() {
    let given = Given::business("America/New_York", &[("09:00", "17:00")]);

    let days = resolve_days(
        given.tz,
        &given.weekly,
        &given.overrides,
        day("2027-03-13"),
        day("2027-03-14"),
    );

    let nine_to_five = vec![("09:00".to_owned(), "17:00".to_owned())];
    assert_eq!(
        days,
        vec![
            ResolvedDay {
                date: day("2027-03-13"),
                local: nine_to_five.clone(),
                utc: vec![UtcInterval {
                    start: at("2027-03-13T14:00:00Z"),
                    end: at("2027-03-13T22:00:00Z")
                }],
            },
            ResolvedDay {
                date: day("2027-03-14"),
                local: nine_to_five,
                utc: vec![UtcInterval {
                    start: at("2027-03-14T13:00:00Z"),
                    end: at("2027-03-14T21:00:00Z")
                }],
            },
        ]
    );
}

#[test]
fn absurd_ranges_and_horizons_answer_quickly_without_panicking() {
    let mut given = Given::business("America/New_York", &[("09:00", "24:00")]);
    given.rules.horizon_days = u32::MAX;
    given.now = at("2027-01-11T00:00:00Z");
    let query = given.query("2027-01-11", "+262142-12-31");

    let slots = crate::scheduling::available_slots(&query);

    // 400 dates of 15 one-hour slots each.
    assert_eq!(slots.len(), 400 * 15);
    assert_eq!(
        check_bookable(&query, at("9999-12-31T23:00:00Z"), None),
        Ok(Vec::new())
    );
    let never_open = Given {
        weekly: WeeklyHours::closed(),
        ..given
    };
    let query = never_open.query("2027-01-11", "2027-01-11");
    assert!(nearest_alternatives(&query, at("2027-01-11T10:00:00Z"), 3).is_empty());
}
