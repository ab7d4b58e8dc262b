//! `GET /api/v1/businesses/{slug}/dashboard`: per local day counters, totals and the busiest hours over a
//! range of local dates. Ratios (conversion, average duration) are computed here, at read time, from the
//! stored sums, so totals are exact rather than averages of averages.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{Days, NaiveDate};
use domain::catalog::format_minor;
use domain::tenancy::Permission;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

use crate::tenancy::access::access;
use crate::tenancy::auth::AuthUser;
use crate::tenancy::read;
use crate::{ApiError, AppState};

/// Longest range one request may ask for, in days (both ends included).
pub const MAX_DAYS: u64 = 366;
/// Days shown when the request names no range: the last 30, ending today in the business's zone.
pub const DEFAULT_DAYS: u64 = 30;

/// Local dates (`YYYY-MM-DD`, in the business's zone), both included.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// First local day; default 29 days before `to`.
    from: Option<String>,
    /// Last local day; default today in the business's zone.
    to: Option<String>,
}

/// The counters of one day or of the whole range.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct Figures {
    calls: i64,
    /// Calls that reached `in-progress` or in which the agent acted (tools, transcript).
    answered: i64,
    /// Mean over the calls whose end-of-call report gave a duration; `null` when none did.
    average_duration_seconds: Option<f64>,
    total_duration_seconds: f64,
    tool_calls: i64,
    availability_checks: i64,
    bookings: i64,
    cancellations: i64,
    /// `bookings / calls`, rounded to 4 decimals; `null` without calls.
    conversion: Option<f64>,
    /// Voice minutes, each call rounded up to the started minute.
    voice_minutes: i64,
    /// Revenue of the day's bookings still standing, e.g. `"35.00"`, in the business's currency.
    revenue_booked: String,
    revenue_booked_minor: i64,
}

/// One local day.
#[derive(Debug, Serialize, ToSchema)]
pub struct Day {
    date: NaiveDate,
    #[serde(flatten)]
    figures: Figures,
}

/// Calls started in one local hour of the day over the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusyHour {
    hour: i16,
    calls: i64,
}

/// The dashboard of one business over a range of local days.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    timezone: String,
    currency: String,
    from: NaiveDate,
    to: NaiveDate,
    /// Every day of the range, oldest first (days without activity are all zeros).
    days: Vec<Day>,
    totals: Figures,
    /// The (at most) three local hours with the most calls, busiest first.
    busiest_hours: Vec<BusyHour>,
}

/// The stored sums of one day (or of several, added up).
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    calls: i64,
    answered: i64,
    timed_calls: i64,
    duration_ms: i64,
    tool_calls: i64,
    availability_checks: i64,
    bookings: i64,
    cancellations: i64,
    voice_minutes: i64,
    revenue_minor: i64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.calls += o.calls;
        self.answered += o.answered;
        self.timed_calls += o.timed_calls;
        self.duration_ms += o.duration_ms;
        self.tool_calls += o.tool_calls;
        self.availability_checks += o.availability_checks;
        self.bookings += o.bookings;
        self.cancellations += o.cancellations;
        self.voice_minutes += o.voice_minutes;
        self.revenue_minor += o.revenue_minor;
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds stay far below 2^52"
    )]
    fn figures(&self, currency: &str) -> Figures {
        let ratio = |num: i64, den: i64, scale: f64| {
            (den > 0).then(|| (num as f64 / den as f64 * scale).round() / scale)
        };
        Figures {
            calls: self.calls,
            answered: self.answered,
            average_duration_seconds: ratio(self.duration_ms, self.timed_calls * 1000, 10.0),
            total_duration_seconds: (self.duration_ms as f64 / 100.0).round() / 10.0,
            tool_calls: self.tool_calls,
            availability_checks: self.availability_checks,
            bookings: self.bookings,
            cancellations: self.cancellations,
            conversion: ratio(self.bookings, self.calls, 10_000.0),
            voice_minutes: self.voice_minutes,
            revenue_booked: format_minor(self.revenue_minor, currency),
            revenue_booked_minor: self.revenue_minor,
        }
    }
}

fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::validation(
            "invalid_date",
            format!("{field} must be a real date as YYYY-MM-DD, got {raw:?}"),
        )
    })
}

/// The requested range, defaults filled in, checked: `from <= to`, at most [`MAX_DAYS`] days.
pub fn resolve_range(range: &Range, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = range
        .to
        .as_deref()
        .map(|raw| parse_date("to", raw))
        .transpose()?;
    let from = range
        .from
        .as_deref()
        .map(|raw| parse_date("from", raw))
        .transpose()?;
    let to = to.unwrap_or(today);
    let from = match from {
        Some(from) => from,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .unwrap_or(NaiveDate::MIN),
    };
    if from > to {
        return Err(ApiError::validation(
            "invalid_range",
            "from must not be after to",
        ));
    }
    let days = u64::try_from((to - from).num_days()).unwrap_or(u64::MAX);
    if days >= MAX_DAYS {
        return Err(ApiError::validation(
            "range_too_long",
            format!("a dashboard covers at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/dashboard", tag = "dashboard",
    params(("slug" = String, Path, description = "business slug"), Range),
    responses((status = 200, description = "daily counters, totals and busiest hours", body = Dashboard),
        (status = 404, description = "unknown business, or not a member"),
        (status = 422, description = "impossible date, from after to, or more than 366 days")),
    security(("bearer" = [])))]
pub async fn dashboard(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    Query(range): Query<Range>,
) -> Result<Json<Dashboard>, ApiError> {
    let tenant = access(&state, &user, &slug, Permission::View, "dashboard").await?;
    let tz = tenant.business.tz();
    let today = state.store().clock().now().with_timezone(&tz).date_naive();
    let (from, to) = resolve_range(&range, today)?;
    let currency = tenant.business.profile.currency.clone();

    let mut tx = read::tenant_tx(state.store().pool(), tenant.business_id).await?;
    let rows = sqlx::query(
        "select day, calls, answered, timed_calls, duration_ms, tool_calls, availability_checks, \
           bookings, cancellations, voice_minutes, revenue_minor \
         from dashboard_days where tenant_id = $1 and day between $2 and $3",
    )
    .bind(tenant.business_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    let hours = sqlx::query(
        "select hour, sum(calls)::bigint as calls from dashboard_hours \
         where tenant_id = $1 and day between $2 and $3 \
         group by hour having sum(calls) > 0 order by 2 desc, hour limit 3",
    )
    .bind(tenant.business_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let stored: BTreeMap<NaiveDate, Sums> = rows
        .iter()
        .map(|r| {
            let sums = Sums {
                calls: r.get("calls"),
                answered: r.get("answered"),
                timed_calls: r.get("timed_calls"),
                duration_ms: r.get("duration_ms"),
                tool_calls: r.get("tool_calls"),
                availability_checks: r.get("availability_checks"),
                bookings: r.get("bookings"),
                cancellations: r.get("cancellations"),
                voice_minutes: r.get("voice_minutes"),
                revenue_minor: r.get("revenue_minor"),
            };
            (r.get("day"), sums)
        })
        .collect();
    let mut totals = Sums::default();
    let days = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| {
            let sums = stored.get(&date).copied().unwrap_or_default();
            totals.add(&sums);
            Day {
                date,
                figures: sums.figures(&currency),
            }
        })
        .collect();
    Ok(Json(Dashboard {
        timezone: tz.name().to_owned(),
        totals: totals.figures(&currency),
        currency,
        from,
        to,
        days,
        busiest_hours: hours
            .iter()
            .map(|r| BusyHour {
                hour: r.get("hour"),
                calls: r.get("calls"),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: Option<&str>, to: Option<&str>) -> Range {
        Range {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn no_range_means_the_last_thirty_days_ending_today() {
        let today = day("2026-11-21");
        assert_eq!(
            resolve_range(&range(None, None), today).unwrap(),
            (day("2026-10-23"), today)
        );
    }

    #[test]
    fn impossible_reversed_and_overlong_ranges_are_refused() {
        let today = day("2026-11-21");
        for (from, to, code) in [
            (Some("2026-02-30"), None, "invalid_date"),
            (None, Some("2026-13-01"), "invalid_date"),
            (Some("yesterday"), None, "invalid_date"),
            (Some("2026-11-02"), Some("2026-11-01"), "invalid_range"),
            (Some("2025-01-01"), Some("2026-01-02"), "range_too_long"),
        ] {
            let err = resolve_range(&range(from, to), today).unwrap_err();
            assert_eq!(err.code, code, "{from:?}..{to:?}");
        }
        // Exactly 366 days is allowed.
        assert!(resolve_range(&range(Some("2024-01-01"), Some("2024-12-31")), today).is_ok());
    }

    #[test]
    fn ratios_are_computed_from_sums_and_are_null_without_a_denominator() {
        let sums = Sums {
            calls: 3,
            bookings: 2,
            timed_calls: 2,
            duration_ms: 95_200 + 60_000,
            revenue_minor: 3500,
            ..Sums::default()
        };
        let f = sums.figures("EUR");
        assert_eq!(f.conversion, Some(0.6667));
        assert_eq!(f.average_duration_seconds, Some(77.6));
        assert_eq!(f.revenue_booked, "35.00");
        let none = Sums::default().figures("EUR");
        assert_eq!(
            (none.conversion, none.average_duration_seconds),
            (None, None)
        );
    }
}
