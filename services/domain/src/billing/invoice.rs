//! The invoice of one business for one period: segments of days on one plan, a line per charge, the usage
//! summary and the gross margin against the provider's cost. Pure and deterministic: the same history and
//! period always give the same value (and, serialized, the same bytes).

use chrono::NaiveDate;
use serde::Serialize;

use super::history::{BOOKING, BillingHistory, TOOL_CALL, VOICE_SECONDS};
use super::period::Period;
use super::plans::{CURRENCY, Plan};

/// One charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    /// `plan_fee`, `voice_overage`, `bookings` or `phone_numbers`.
    pub kind: &'static str,
    pub plan: &'static str,
    /// The days the line covers (inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub description: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

/// What was used in the period (all of it, billed or not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UsageSummary {
    pub calls: i64,
    pub voice_seconds: i64,
    pub voice_minutes: i64,
    pub included_minutes: i64,
    pub overage_minutes: i64,
    pub bookings: i64,
    pub tool_calls: i64,
    pub number_days: i64,
    pub provider_cost_micros: i64,
}

/// An invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub period: String,
    pub currency: &'static str,
    pub lines: Vec<InvoiceLine>,
    pub total_minor: i64,
    pub usage: UsageSummary,
    /// Revenue minus provider cost, in micro-dollars (1 cent = 10,000 µ$).
    pub margin_micros: i64,
}

/// Micro-dollars per cent.
const MICROS_PER_MINOR: i64 = 10_000;

/// `amount × num / den`, rounded half up (all inputs non-negative, `den > 0`).
fn prorate(amount: i64, num: i64, den: i64) -> i64 {
    let (amount, num, den) = (i128::from(amount), i128::from(num), i128::from(den));
    let value = (2 * amount * num + den) / (2 * den);
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A run of consecutive days on one plan.
struct Segment {
    plan: &'static Plan,
    from: NaiveDate,
    to: NaiveDate,
    days: i64,
    minutes: i64,
    bookings: i64,
    number_days: i64,
}

fn segments(history: &BillingHistory, period: Period) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for day in period.each_day() {
        let Some(plan) = history.plan_on(day) else {
            continue;
        };
        let minutes = history.usage_on(day, VOICE_SECONDS).billable_units;
        let bookings = history.usage_on(day, BOOKING).billable_units;
        let numbers = history.numbers_held_on(day);
        match out.last_mut() {
            Some(seg) if seg.plan.code == plan.code && seg.to.succ_opt() == Some(day) => {
                seg.to = day;
                seg.days += 1;
                seg.minutes += minutes;
                seg.bookings += bookings;
                seg.number_days += numbers;
            }
            _ => out.push(Segment {
                plan,
                from: day,
                to: day,
                days: 1,
                minutes,
                bookings,
                number_days: numbers,
            }),
        }
    }
    out
}

fn summary(history: &BillingHistory, period: Period) -> UsageSummary {
    let mut s = UsageSummary::default();
    for ((day, kind), totals) in &history.usage {
        if !period.contains_day(*day) {
            continue;
        }
        s.provider_cost_micros += totals.provider_cost_micros;
        match kind.as_str() {
            VOICE_SECONDS => {
                s.calls += totals.events;
                s.voice_seconds += totals.quantity;
                s.voice_minutes += totals.billable_units;
            }
            BOOKING => s.bookings += totals.billable_units,
            TOOL_CALL => s.tool_calls += totals.billable_units,
            _ => {}
        }
    }
    s
}

/// The invoice of `history` for `period`. Every line is non-negative and the total is their sum.
pub fn invoice(history: &BillingHistory, period: Period) -> Invoice {
    let dim = period.days();
    let mut usage = summary(history, period);
    let mut lines = Vec::new();
    for seg in segments(history, period) {
        let plan = seg.plan;
        let span = format!("{} to {}", seg.from, seg.to);
        let mut line = |kind, description: String, quantity, unit_price_minor, amount_minor| {
            lines.push(InvoiceLine {
                kind,
                plan: plan.code,
                from: seg.from,
                to: seg.to,
                description,
                quantity,
                unit_price_minor,
                amount_minor,
            });
        };
        line(
            "plan_fee",
            format!("{} plan, {} of {dim} days ({span})", plan.name, seg.days),
            seg.days,
            plan.monthly_fee_minor,
            prorate(plan.monthly_fee_minor, seg.days, dim),
        );
        let included = prorate(plan.included_voice_minutes, seg.days, dim);
        let over = (seg.minutes - included).max(0);
        usage.included_minutes += included;
        usage.overage_minutes += over;
        if seg.minutes > 0 {
            line(
                "voice_overage",
                format!(
                    "Voice minutes beyond the {included} included: {} used ({span})",
                    seg.minutes
                ),
                over,
                plan.overage_per_minute_minor,
                over * plan.overage_per_minute_minor,
            );
        }
        if seg.bookings > 0 {
            line(
                "bookings",
                format!("Bookings ({span})"),
                seg.bookings,
                plan.per_booking_fee_minor,
                seg.bookings * plan.per_booking_fee_minor,
            );
        }
        if seg.number_days > 0 {
            usage.number_days += seg.number_days;
            line(
                "phone_numbers",
                format!("Phone numbers, {} number-days ({span})", seg.number_days),
                seg.number_days,
                plan.per_number_monthly_fee_minor,
                prorate(plan.per_number_monthly_fee_minor, seg.number_days, dim),
            );
        }
    }
    let total_minor = lines.iter().map(|l| l.amount_minor).sum::<i64>();
    Invoice {
        period: period.to_string(),
        currency: CURRENCY,
        margin_micros: total_minor * MICROS_PER_MINOR - usage.provider_cost_micros,
        lines,
        total_minor,
        usage,
    }
}
