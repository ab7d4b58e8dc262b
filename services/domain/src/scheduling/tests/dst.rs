//! Time-zone and DST behaviour: offsets change on transition days, gaps use the offset before them,
//! repeated times mean their first occurrence, half-hour DST and half-hour offsets.

use chrono::NaiveDateTime;

use super::{Given, at, instants, zone};
use crate::scheduling::{ServiceRules, local_to_utc, parse_local_or_rfc3339};

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap()
}

#[test]
fn new_york_spring_forward_day_with_nine_to_five_gives_thirteen_to_twenty_utc() {
    let given = Given::business("America/New_York", &[("09:00", "17:00")]);

    let expected = instants(&[
        "2027-03-14T13:00:00Z",
        "2027-03-14T14:00:00Z",
        "2027-03-14T15:00:00Z",
        "2027-03-14T16:00:00Z",
        "2027-03-14T17:00:00Z",
        "2027-03-14T18:00:00Z",
        "2027-03-14T19:00:00Z",
        "2027-03-14T20:00:00Z",
    ]);
    assert_eq!(given.starts_on("2027-03-14"), expected);
}

#[test]
fn new_york_day_before_spring_forward_still_uses_standard_time() {
    let given = Given::business("America/New_York", &[("09:00", "17:00")]);

    let starts = given.starts_on("2027-03-13");

    assert_eq!(starts.first(), Some(&at("2027-03-13T14:00:00Z")));
    assert_eq!(starts.last(), Some(&at("2027-03-13T21:00:00Z")));
    assert_eq!(starts.len(), 8);
}

#[test]
fn new_york_fall_back_day_with_nine_to_five_gives_fourteen_to_twenty_one_utc() {
    let given = Given::business("America/New_York", &[("09:00", "17:00")]);

    let starts = given.starts_on("2027-11-07");

    assert_eq!(starts.first(), Some(&at("2027-11-07T14:00:00Z")));
    assert_eq!(starts.last(), Some(&at("2027-11-07T21:00:00Z")));
    assert_eq!(starts.len(), 8);
}

#[test]
fn london_spring_forward_day_opens_at_eight_utc() {
    let given = Given::business("Europe/London", &[("09:00", "17:00")]);

    let starts = given.starts_on("2027-03-28");

    assert_eq!(starts.first(), Some(&at("2027-03-28T08:00:00Z")));
    assert_eq!(starts.last(), Some(&at("2027-03-28T15:00:00Z")));
    assert_eq!(starts.len(), 8);
}

#[test]
fn london_fall_back_day_opens_at_nine_utc() {
    let given = Given::business("Europe/London", &[("09:00", "17:00")]);

    let starts = given.starts_on("2027-10-31");

    assert_eq!(starts.first(), Some(&at("2027-10-31T09:00:00Z")));
    assert_eq!(starts.last(), Some(&at("2027-10-31T16:00:00Z")));
    assert_eq!(starts.len(), 8);
}

#[test]
fn hours_spanning_the_new_york_gap_last_two_elapsed_hours() {
    // 01:00 EST = 06:00Z, 04:00 EDT = 08:00Z: three wall-clock hours, two real ones.
    let given = Given::business("America/New_York", &[("01:00", "04:00")]);

    assert_eq!(
        given.starts_on("2027-03-14"),
        instants(&["2027-03-14T06:00:00Z", "2027-03-14T07:00:00Z"])
    );
}

#[test]
fn hours_spanning_the_new_york_repeated_hour_last_three_elapsed_hours() {
    // 01:00 first occurrence (EDT) = 05:00Z, 03:00 EST = 08:00Z: two wall-clock hours, three real ones.
    let given = Given::business("America/New_York", &[("01:00", "03:00")]);

    let expected = instants(&[
        "2027-11-07T05:00:00Z",
        "2027-11-07T06:00:00Z",
        "2027-11-07T07:00:00Z",
    ]);
    assert_eq!(given.starts_on("2027-11-07"), expected);
}

#[test]
fn an_opening_time_inside_the_gap_uses_the_offset_before_the_gap() {
    // 02:30 does not exist; read with EST it is 07:30Z (03:30 EDT). Close 05:00 EDT = 09:00Z.
    let mut given = Given::business("America/New_York", &[("02:30", "05:00")]);
    given.rules = ServiceRules {
        horizon_days: 1000,
        ..ServiceRules::new(30)
    };

    let expected = instants(&[
        "2027-03-14T07:30:00Z",
        "2027-03-14T08:00:00Z",
        "2027-03-14T08:30:00Z",
    ]);
    assert_eq!(given.starts_on("2027-03-14"), expected);
}

#[test]
fn a_closing_time_inside_the_gap_uses_the_offset_before_the_gap() {
    // 00:00 EST = 05:00Z; 02:30 read with EST = 07:30Z, so a 60-minute slot at 07:00Z would overrun.
    let given = Given::business("America/New_York", &[("00:00", "02:30")]);

    assert_eq!(
        given.starts_on("2027-03-14"),
        instants(&["2027-03-14T05:00:00Z", "2027-03-14T06:00:00Z"])
    );
}

#[test]
fn an_opening_time_in_the_repeated_hour_means_its_first_occurrence() {
    // 01:30 EDT = 05:30Z; close 03:00 EST = 08:00Z.
    let mut given = Given::business("America/New_York", &[("01:30", "03:00")]);
    given.rules = ServiceRules {
        horizon_days: 1000,
        ..ServiceRules::new(30)
    };

    let expected = instants(&[
        "2027-11-07T05:30:00Z",
        "2027-11-07T06:00:00Z",
        "2027-11-07T06:30:00Z",
        "2027-11-07T07:00:00Z",
        "2027-11-07T07:30:00Z",
    ]);
    assert_eq!(given.starts_on("2027-11-07"), expected);
}

#[test]
fn lord_howe_half_hour_spring_forward_shortens_the_day_by_thirty_minutes() {
    // 01:00 LHST (+10:30) = 14:30Z the day before; 04:00 LHDT (+11) = 17:00Z: 2.5 elapsed hours.
    let mut given = Given::business("Australia/Lord_Howe", &[("01:00", "04:00")]);
    given.rules = ServiceRules {
        horizon_days: 1000,
        ..ServiceRules::new(30)
    };

    let expected = instants(&[
        "2027-10-02T14:30:00Z",
        "2027-10-02T15:00:00Z",
        "2027-10-02T15:30:00Z",
        "2027-10-02T16:00:00Z",
        "2027-10-02T16:30:00Z",
    ]);
    assert_eq!(given.starts_on("2027-10-03"), expected);
}

#[test]
fn lord_howe_half_hour_fall_back_lengthens_the_day_by_thirty_minutes() {
    // 01:00 LHDT (+11) = 14:00Z the day before; 04:00 LHST (+10:30) = 17:30Z: 3.5 elapsed hours.
    let mut given = Given::business("Australia/Lord_Howe", &[("01:00", "04:00")]);
    given.rules = ServiceRules {
        horizon_days: 1000,
        ..ServiceRules::new(30)
    };

    let starts = given.starts_on("2027-04-04");

    assert_eq!(starts.first(), Some(&at("2027-04-03T14:00:00Z")));
    assert_eq!(starts.last(), Some(&at("2027-04-03T17:00:00Z")));
    assert_eq!(starts.len(), 7);
}

#[test]
fn kolkata_half_hour_offset_puts_slots_on_the_half_hour_utc() {
    let given = Given::business("Asia/Kolkata", &[("09:00", "12:00")]);

    let expected = instants(&[
        "2027-03-14T03:30:00Z",
        "2027-03-14T04:30:00Z",
        "2027-03-14T05:30:00Z",
    ]);
    assert_eq!(given.starts_on("2027-03-14"), expected);
}

#[test]
fn local_times_in_gaps_and_repeats_resolve_by_the_rule() {
    let new_york = zone("America/New_York");
    let london = zone("Europe/London");

    assert_eq!(
        local_to_utc(new_york, local("2027-03-14T02:30")),
        at("2027-03-14T07:30:00Z")
    );
    assert_eq!(
        local_to_utc(new_york, local("2027-11-07T01:30")),
        at("2027-11-07T05:30:00Z")
    );
    assert_eq!(
        local_to_utc(london, local("2027-03-28T01:30")),
        at("2027-03-28T01:30:00Z")
    );
    assert_eq!(
        local_to_utc(london, local("2027-10-31T01:30")),
        at("2027-10-31T00:30:00Z")
    );
}

#[test]
fn a_time_in_samoas_skipped_day_uses_the_offset_before_the_skip() {
    // Apia jumped from -10 to +14 at the end of 2011-12-29; 2011-12-30 10:00 read at -10 is 20:00Z.
    let apia = zone("Pacific/Apia");

    assert_eq!(
        local_to_utc(apia, local("2011-12-30T10:00")),
        at("2011-12-30T20:00:00Z")
    );
}

#[test]
fn instants_parse_from_rfc3339_or_business_local_text() {
    let new_york = zone("America/New_York");

    assert_eq!(
        parse_local_or_rfc3339("2027-03-14T13:00:00Z", new_york),
        Ok(at("2027-03-14T13:00:00Z"))
    );
    assert_eq!(
        parse_local_or_rfc3339("2027-03-14T09:00:00-04:00", new_york),
        Ok(at("2027-03-14T13:00:00Z"))
    );
    assert_eq!(
        parse_local_or_rfc3339("2027-03-14T09:00", new_york),
        Ok(at("2027-03-14T13:00:00Z"))
    );
    assert_eq!(
        parse_local_or_rfc3339("2027-03-14T02:30", new_york),
        Ok(at("2027-03-14T07:30:00Z"))
    );
    assert_eq!(
        parse_local_or_rfc3339("2027-11-07T01:30", new_york),
        Ok(at("2027-11-07T05:30:00Z"))
    );
    assert!(parse_local_or_rfc3339("tomorrow at nine", new_york).is_err());
}
