//! The plan catalog. Prices are USD cents; changing a price means adding a plan with a new code, never
//! editing one that invoices have been computed with (an invoice must replay to the same bytes forever).

use serde::Serialize;

/// The currency every plan is priced in (and Vapi bills us in).
pub const CURRENCY: &str = "USD";

/// The plan a business is on from registration until it chooses another.
pub const DEFAULT_PLAN: &str = "starter";

/// One plan's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub code: &'static str,
    pub name: &'static str,
    pub monthly_fee_minor: i64,
    pub included_voice_minutes: i64,
    pub overage_per_minute_minor: i64,
    pub per_booking_fee_minor: i64,
    pub per_number_monthly_fee_minor: i64,
}

/// Every plan that can be assigned.
pub const PLANS: [Plan; 3] = [
    Plan {
        code: "starter",
        name: "Starter",
        monthly_fee_minor: 2_900,
        included_voice_minutes: 100,
        overage_per_minute_minor: 25,
        per_booking_fee_minor: 50,
        per_number_monthly_fee_minor: 500,
    },
    Plan {
        code: "growth",
        name: "Growth",
        monthly_fee_minor: 7_900,
        included_voice_minutes: 500,
        overage_per_minute_minor: 20,
        per_booking_fee_minor: 30,
        per_number_monthly_fee_minor: 500,
    },
    Plan {
        code: "scale",
        name: "Scale",
        monthly_fee_minor: 19_900,
        included_voice_minutes: 2_000,
        overage_per_minute_minor: 15,
        per_booking_fee_minor: 10,
        per_number_monthly_fee_minor: 300,
    },
];

/// The plan with `code`.
pub fn plan(code: &str) -> Option<&'static Plan> {
    PLANS.iter().find(|p| p.code == code)
}
