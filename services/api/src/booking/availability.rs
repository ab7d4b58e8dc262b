//! Availability questions (the REST endpoint and the Vapi `check_service_availability` tool): the slot
//! engine over the catalog and the availability read model's busy intervals.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use domain::scheduling::{
    ALTERNATIVE_SEARCH_DAYS, Performers, Slot, available_slots, nearest_alternatives,
};
use uuid::Uuid;

use super::{BookingService, BusinessCatalog, catalog};
use crate::ApiError;

/// The most dates one availability question may cover.
pub const MAX_DAYS: u32 = 31;

impl BookingService {
    /// Free slots of `service_id` (for `staff_id` only, if given) on business-local dates
    /// `from..from + days`, sorted by start. 404 unknown service or staff, 422 retired service, staff who
    /// does not perform the service, or `days` outside `1..=31`.
    pub async fn slots(
        &self,
        catalog: &BusinessCatalog,
        service_id: Uuid,
        staff_id: Option<Uuid>,
        from: NaiveDate,
        days: u32,
    ) -> Result<Vec<Slot>, ApiError> {
        let service = catalog.service(service_id)?;
        catalog.known_staff(staff_id)?;
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(ApiError::validation(
                "invalid_days",
                format!("days must be 1..={MAX_DAYS}"),
            ));
        }
        let performers = only(catalog.performers(service.id), staff_id)?;
        let now = self.now();
        let to_date = from + TimeDelta::days(i64::from(days - 1));
        let busy = catalog::busy(
            self.store().pool(),
            catalog.business_id,
            dates_window(from, to_date),
            &service.rules,
            now,
            catalog.business_wide(),
        )
        .await?;
        let mut query = catalog.query(&service.rules, &performers, &busy, now);
        query.from_date = from;
        query.to_date = to_date;
        Ok(available_slots(&query))
    }

    /// The nearest free slots to `date` (that day first, then following days): the "next available"
    /// a caller is offered when the day they asked for is full.
    pub async fn next_available(
        &self,
        catalog: &BusinessCatalog,
        service_id: Uuid,
        staff_id: Option<Uuid>,
        date: NaiveDate,
        limit: usize,
    ) -> Result<Vec<Slot>, ApiError> {
        let service = catalog.service(service_id)?;
        catalog.known_staff(staff_id)?;
        let performers = only(catalog.performers(service.id), staff_id)?;
        let now = self.now();
        // `nearest_alternatives` looks at the day itself, then up to ALTERNATIVE_SEARCH_DAYS after it.
        let busy = catalog::busy(
            self.store().pool(),
            catalog.business_id,
            dates_window(date, date + TimeDelta::days(ALTERNATIVE_SEARCH_DAYS)),
            &service.rules,
            now,
            catalog.business_wide(),
        )
        .await?;
        let query = catalog.query(&service.rules, &performers, &busy, now);
        let start = domain::scheduling::start_of_local_date(catalog.timezone, date).max(now);
        Ok(nearest_alternatives(&query, start, limit))
    }
}

/// The instants covering local dates `first..=last` in any time zone (UTC offsets stay within a day).
fn dates_window(first: NaiveDate, last: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
    (
        midnight(first) - TimeDelta::days(1),
        midnight(last) + TimeDelta::days(2),
    )
}

/// The performers narrowed to one staff member when one was asked for.
fn only(performers: Performers, staff_id: Option<Uuid>) -> Result<Performers, ApiError> {
    match (performers, staff_id) {
        (Performers::Staff(list), Some(id)) => {
            let only: Vec<_> = list.into_iter().filter(|s| s.staff_id == id).collect();
            if only.is_empty() {
                return Err(ApiError::validation(
                    "staff_not_eligible",
                    "this staff member does not perform the service",
                ));
            }
            Ok(Performers::Staff(only))
        }
        (performers, _) => Ok(performers),
    }
}
