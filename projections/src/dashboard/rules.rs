//! The dashboard's pure attribution rules: local day and hour, minute rounding, what counts as answered
//! and as an availability check.

use chrono::{DateTime, NaiveDate, Timelike as _, Utc};
use chrono_tz::Tz;
use vapi::tools::Tool;

/// The local date and hour (0–23) of `at` in zone `timezone` (an unknown zone name is read as UTC).
pub fn local_day_hour(timezone: &str, at: DateTime<Utc>) -> (NaiveDate, i16) {
    let tz: Tz = timezone.parse().unwrap_or(Tz::UTC);
    let local = at.with_timezone(&tz);
    let hour = i16::try_from(local.hour()).unwrap_or(0);
    (local.date_naive(), hour)
}

/// Voice seconds as billed minutes: every started minute counts (0 s is 0 minutes, 61 s is 2).
pub fn billed_minutes(seconds: i64) -> i64 {
    if seconds <= 0 {
        0
    } else {
        seconds / 60 + i64::from(seconds % 60 != 0)
    }
}

/// Whether a Vapi status means somebody was talking: `in-progress`, or `forwarding` (only an answered
/// call can be forwarded). `ended` proves nothing: a call can end while still ringing.
pub fn answered_status(status: &str) -> bool {
    matches!(status.trim(), "in-progress" | "forwarding")
}

/// Whether a tool invocation was the caller asking for free slots.
pub fn is_availability_check(tool_name: &str) -> bool {
    Tool::from_name(tool_name) == Tool::CheckServiceAvailability
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_call_late_in_the_evening_counts_on_the_local_day_not_the_utc_day() {
        // 23:30 in New York (EST) is 04:30 UTC the next day.
        let (day, hour) = local_day_hour("America/New_York", at("2026-11-21T04:30:00Z"));
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
        assert_eq!(hour, 23);
        // Madrid (CET) is ahead: 23:15 UTC is already 00:15 the next local day.
        let (day, hour) = local_day_hour("Europe/Madrid", at("2026-11-20T23:15:00Z"));
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        assert_eq!(hour, 0);
    }

    #[test]
    fn an_unknown_zone_is_read_as_utc() {
        let (day, hour) = local_day_hour("Mars/Olympus", at("2026-11-21T04:30:00Z"));
        assert_eq!(
            (day, hour),
            (NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(), 4)
        );
    }

    #[test]
    fn every_started_minute_is_a_voice_minute() {
        assert_eq!(billed_minutes(0), 0);
        assert_eq!(billed_minutes(-5), 0);
        assert_eq!(billed_minutes(1), 1);
        assert_eq!(billed_minutes(60), 1);
        assert_eq!(billed_minutes(61), 2);
        assert_eq!(billed_minutes(96), 2);
    }

    #[test]
    fn only_a_connected_status_means_answered() {
        assert!(answered_status("in-progress"));
        assert!(answered_status("forwarding"));
        for s in ["queued", "ringing", "ended", "scheduled", "weird"] {
            assert!(!answered_status(s), "{s}");
        }
    }

    #[test]
    fn the_availability_tool_is_recognised_by_its_wire_name() {
        assert!(is_availability_check("check_service_availability"));
        assert!(is_availability_check(" check_service_availability "));
        assert!(!is_availability_check("book_appointment"));
    }
}
