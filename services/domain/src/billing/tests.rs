//! Invoice arithmetic: worked examples and properties over random histories.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn nov() -> Period {
    Period::parse("2026-11").unwrap()
}

fn amounts(inv: &Invoice) -> Vec<(&'static str, &'static str, i64, i64)> {
    inv.lines
        .iter()
        .map(|l| (l.kind, l.plan, l.quantity, l.amount_minor))
        .collect()
}

#[test]
fn periods_parse_strictly_and_know_their_days() {
    let feb = Period::parse("2028-02").unwrap();
    assert_eq!(feb.days(), 29);
    assert_eq!(feb.to_string(), "2028-02");
    assert_eq!(feb.end(), at(2028, 3, 1, 0));
    for bad in [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-11",
        "2026-11-01",
        "+026-11",
        "1999-12",
        "",
        "2026/11",
    ] {
        assert!(Period::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Period::of(at(2026, 11, 30, 23)), nov());
}

#[test]
fn a_whole_month_on_the_default_plan_costs_its_fee() {
    let mut h = BillingHistory::default();
    h.registered(at(2026, 10, 3, 9));
    let inv = invoice(&h, nov());
    assert_eq!(amounts(&inv), vec![("plan_fee", "starter", 30, 2_900)]);
    assert_eq!(inv.total_minor, 2_900);
    assert_eq!(inv.margin_micros, 29_000_000);
}

#[test]
fn a_business_registered_mid_month_pays_from_its_registration_day() {
    let mut h = BillingHistory::default();
    h.registered(at(2026, 11, 21, 15));
    // 10 of 30 days of 29.00 = 9.666… → 9.67 (half up).
    assert_eq!(invoice(&h, nov()).total_minor, 967);
    assert_eq!(
        invoice(&h, Period::parse("2026-10").unwrap()).total_minor,
        0
    );
}

#[test]
fn a_plan_change_mid_month_splits_the_fee_and_the_included_minutes_by_days() {
    let mut h = BillingHistory::default();
    h.registered(at(2026, 1, 1, 0));
    h.plan_assigned(day(2026, 11, 15), "growth");
    // 14 days of starter: 100 × 14/30 = 46.67 → 47 included minutes; 200 used → 153 over at 0.25.
    h.usage(at(2026, 11, 2, 10), "voice_seconds", 200 * 60, 1_000);
    // 16 days of growth: 500 × 16/30 = 266.67 → 267 included; 10 used, nothing over.
    h.usage(at(2026, 11, 20, 10), "voice_seconds", 9 * 60 + 1, 2_000);
    h.usage(at(2026, 11, 20, 11), "booking", 1, 0);
    let inv = invoice(&h, nov());
    assert_eq!(
        amounts(&inv),
        vec![
            ("plan_fee", "starter", 14, 1_353),
            ("voice_overage", "starter", 153, 153 * 25),
            ("plan_fee", "growth", 16, 4_213),
            ("voice_overage", "growth", 0, 0),
            ("bookings", "growth", 1, 30),
        ]
    );
    assert_eq!(inv.total_minor, 1_353 + 3_825 + 4_213 + 30);
    assert_eq!(inv.usage.voice_minutes, 210);
    assert_eq!(inv.usage.included_minutes, 47 + 267);
    assert_eq!(inv.usage.provider_cost_micros, 3_000);
}

#[test]
fn voice_time_is_rounded_up_per_call_not_per_month() {
    let mut h = BillingHistory::default();
    h.registered(at(2026, 1, 1, 0));
    for _ in 0..3 {
        h.usage(at(2026, 11, 5, 10), "voice_seconds", 61, 0);
    }
    let inv = invoice(&h, nov());
    assert_eq!(inv.usage.voice_seconds, 183);
    assert_eq!(
        inv.usage.voice_minutes, 6,
        "3 calls of 61 s bill 2 minutes each"
    );
}

#[test]
fn usage_belongs_to_the_month_its_call_started_in() {
    let mut h = BillingHistory::default();
    h.registered(at(2026, 1, 1, 0));
    h.usage(
        Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 0).unwrap(),
        "voice_seconds",
        600,
        10,
    );
    assert_eq!(
        invoice(&h, Period::parse("2026-10").unwrap()).usage.calls,
        1
    );
    assert_eq!(invoice(&h, nov()).usage.calls, 0);
}

#[test]
fn phone_numbers_are_billed_per_day_held() {
    let mut h = BillingHistory::default();
    h.registered(at(2026, 1, 1, 0));
    h.number_assigned("+15550001", at(2026, 11, 1, 8));
    h.number_released("+15550001", at(2026, 11, 10, 8));
    h.number_assigned("+15550002", at(2026, 11, 26, 8));
    let inv = invoice(&h, nov());
    // 10 + 5 number-days of a 5.00 monthly fee over 30 days = 2.50.
    assert_eq!(inv.lines[1].kind, "phone_numbers");
    assert_eq!(inv.lines[1].quantity, 15);
    assert_eq!(inv.lines[1].amount_minor, 250);
}

#[test]
fn the_assignment_written_last_wins_from_its_date() {
    let mut h = BillingHistory::default();
    h.registered(at(2026, 1, 1, 0));
    h.plan_assigned(day(2026, 11, 10), "scale");
    h.plan_assigned(day(2026, 11, 5), "growth");
    assert_eq!(h.plan_on(day(2026, 11, 4)).unwrap().code, "starter");
    assert_eq!(h.plan_on(day(2026, 11, 12)).unwrap().code, "growth");
}

/// One event of some stream, as the property tests replay them.
#[derive(Debug, Clone)]
enum Ev {
    Registered(DateTime<Utc>),
    Plan(NaiveDate, &'static str),
    Assigned(&'static str, DateTime<Utc>),
    Released(&'static str, DateTime<Utc>),
    Usage(DateTime<Utc>, &'static str, i64, i64),
}

fn apply(history: &mut BillingHistory, ev: &Ev) {
    match ev {
        Ev::Registered(at) => history.registered(*at),
        Ev::Plan(from, plan) => history.plan_assigned(*from, plan),
        Ev::Assigned(number, at) => history.number_assigned(number, *at),
        Ev::Released(number, at) => history.number_released(number, *at),
        Ev::Usage(at, kind, quantity, cost) => history.usage(*at, kind, *quantity, *cost),
    }
}

/// Instants from mid-October to early December 2026.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0_i64..55 * 86_400).prop_map(|s| at(2026, 10, 15, 0) + chrono::TimeDelta::seconds(s))
}

/// A history as streams: the business stream, two number streams and one stream per usage event.
fn streams() -> impl Strategy<Value = Vec<Vec<Ev>>> {
    let plans = prop::collection::vec(
        (
            instant(),
            prop::sample::select(vec!["starter", "growth", "scale"]),
        ),
        0..4,
    );
    let number = || prop::collection::vec(instant(), 0..4);
    let usage = prop::collection::vec(
        (
            instant(),
            prop::sample::select(vec![
                "voice_seconds",
                "booking",
                "tool_call",
                "phone_number_day",
            ]),
            0_i64..4_000,
            0_i64..500_000,
        ),
        0..40,
    );
    (instant(), plans, number(), number(), usage).prop_map(|(reg, plans, n1, n2, usage)| {
        let mut business = vec![Ev::Registered(reg)];
        business.extend(plans.into_iter().map(|(t, p)| Ev::Plan(t.date_naive(), p)));
        let holds = |n: &'static str, mut times: Vec<DateTime<Utc>>| {
            times.sort();
            times
                .into_iter()
                .enumerate()
                .map(|(i, t)| {
                    if i % 2 == 0 {
                        Ev::Assigned(n, t)
                    } else {
                        Ev::Released(n, t)
                    }
                })
                .collect::<Vec<_>>()
        };
        let mut all = vec![business, holds("+1555000001", n1), holds("+1555000002", n2)];
        all.extend(
            usage
                .into_iter()
                .map(|(t, k, q, c)| vec![Ev::Usage(t, k, q, c)]),
        );
        all
    })
}

/// Interleaves `streams` keeping each stream's own order, choosing the next stream with `choices`.
fn interleave(streams: &[Vec<Ev>], choices: &[usize]) -> Vec<Ev> {
    let mut next = vec![0; streams.len()];
    let mut out = Vec::new();
    let mut choice = choices.iter().cycle();
    loop {
        let open: Vec<usize> = (0..streams.len())
            .filter(|&s| next[s] < streams[s].len())
            .collect();
        if open.is_empty() {
            return out;
        }
        let s = open[choice.next().copied().unwrap_or(0) % open.len()];
        out.push(streams[s][next[s]].clone());
        next[s] += 1;
    }
}

fn fold(events: &[Ev]) -> BillingHistory {
    let mut h = BillingHistory::default();
    for ev in events {
        apply(&mut h, ev);
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_invoice_totals_its_lines_is_never_negative_and_ignores_the_interleaving(
        streams in streams(),
        choices in prop::collection::vec(0_usize..1_000, 1..64),
        month in prop::sample::select(vec!["2026-10", "2026-11", "2026-12"]),
    ) {
        let period = Period::parse(month).unwrap();
        let in_order: Vec<Ev> = streams.iter().flatten().cloned().collect();
        let reference = invoice(&fold(&in_order), period);
        prop_assert_eq!(reference.total_minor, reference.lines.iter().map(|l| l.amount_minor).sum::<i64>());
        prop_assert!(reference.total_minor >= 0);
        prop_assert!(reference.lines.iter().all(|l| l.amount_minor >= 0 && l.quantity >= 0));
        let shuffled = invoice(&fold(&interleave(&streams, &choices)), period);
        prop_assert_eq!(&shuffled, &reference);
        prop_assert_eq!(serde_json::to_vec(&shuffled).unwrap(), serde_json::to_vec(&reference).unwrap());
    }
}
