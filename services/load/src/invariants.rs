//! The invariants every load run and every drill ends with. Each is checked against the event store and
//! the read models after the projectors have caught up, and reported pass/fail with its evidence.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Datelike as _;
use domain::billing::Period;
use events::{Clock as _, SystemClock};
use store::EventStore;
use uuid::Uuid;

use crate::traffic::Ledger;

/// One invariant's verdict.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        write!(f, "{verdict}  {}: {}", self.name, self.detail)
    }
}

/// All verdicts of one check.
#[derive(Debug, Clone, Default)]
pub struct Verdicts(pub Vec<Check>);

impl Verdicts {
    pub fn all_passed(&self) -> bool {
        self.0.iter().all(|c| c.passed)
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// `Err` listing the failures (for tests).
    pub fn ensure(&self) -> anyhow::Result<()> {
        if self.all_passed() {
            return Ok(());
        }
        let failed: Vec<String> = self
            .0
            .iter()
            .filter(|c| !c.passed)
            .map(ToString::to_string)
            .collect();
        anyhow::bail!("invariants failed:\n{}", failed.join("\n"))
    }

    fn push(&mut self, name: &'static str, passed: bool, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            passed,
            detail: detail.into(),
        });
    }
}

/// Waits (up to `catch_up`) for the projectors, then checks every invariant. `ledger` holds what callers
/// were told; an empty ledger still checks the store-wide invariants.
pub async fn check(store: &EventStore, ledger: &Ledger, catch_up: Duration) -> Verdicts {
    let mut v = Verdicts::default();
    match crate::platform::wait_caught_up(store, catch_up).await {
        Ok(()) => v.push(
            "projections caught up",
            true,
            "every checkpoint at the committed head",
        ),
        Err(err) => v.push("projections caught up", false, format!("{err:#}")),
    }
    allocations(store, &mut v).await;
    overlaps(store, &mut v).await;
    accepted_visible(store, ledger, &mut v).await;
    calls_logged(store, ledger, &mut v).await;
    billing(store, &mut v).await;
    match store.verify_chains(None).await {
        Ok(r) if r.is_clean() => v.push(
            "audit verify",
            true,
            format!(
                "{} streams, {} events, every hash chain intact",
                r.streams, r.events
            ),
        ),
        Ok(r) => v.push(
            "audit verify",
            false,
            format!(
                "{} broken streams, first: {:?}",
                r.broken.len(),
                r.broken.first()
            ),
        ),
        Err(err) => v.push("audit verify", false, format!("could not run: {err}")),
    }
    v
}

async fn allocations(store: &EventStore, v: &mut Verdicts) {
    match api::booking::verify::verify(store).await {
        Ok(r) if r.differences.is_empty() => v.push(
            "allocation table = booking events",
            true,
            format!("{} bookings, {} allocation rows", r.bookings, r.rows),
        ),
        Ok(r) => v.push(
            "allocation table = booking events",
            false,
            format!(
                "{} differences, first: {}",
                r.differences.len(),
                r.differences[0]
            ),
        ),
        Err(err) => v.push(
            "allocation table = booking events",
            false,
            format!("could not run: {err}"),
        ),
    }
}

/// No two booked appointments of one staff member overlap (in the read model the API lists from).
async fn overlaps(store: &EventStore, v: &mut Verdicts) {
    let found: Result<(i64, i64), sqlx::Error> = sqlx::query_as(
        "select (select count(*) from appointments where status = 'booked'), \
                (select count(*) from appointments a join appointments b \
                   on a.tenant_id = b.tenant_id and a.staff_id is not distinct from b.staff_id \
                  and a.booking_id < b.booking_id and a.status = 'booked' and b.status = 'booked' \
                  and tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at))",
    )
    .fetch_one(store.pool())
    .await;
    match found {
        Ok((booked, 0)) => v.push(
            "no overlapping appointments",
            true,
            format!("{booked} booked appointments"),
        ),
        Ok((booked, n)) => v.push(
            "no overlapping appointments",
            false,
            format!("{n} overlapping pairs among {booked} booked appointments"),
        ),
        Err(err) => v.push(
            "no overlapping appointments",
            false,
            format!("could not run: {err}"),
        ),
    }
}

/// Every booking a caller was told about is in the appointments and availability read models and in its
/// call's log.
async fn accepted_visible(store: &EventStore, ledger: &Ledger, v: &mut Verdicts) {
    let accepted = ledger
        .accepted
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let ids: Vec<Uuid> = accepted.iter().map(|a| a.appointment_id).collect();
    let calls: Vec<String> = accepted.iter().map(|a| a.call_id.clone()).collect();
    let rows: Result<Vec<(Uuid, Uuid, bool, bool)>, sqlx::Error> = sqlx::query_as(
        "select a.booking_id, a.tenant_id, a.status = 'booked', \
                exists (select 1 from availability_busy b where b.booking_id = a.booking_id) \
         from appointments a where a.booking_id = any($1)",
    )
    .bind(&ids)
    .fetch_all(store.pool())
    .await;
    let logged: Result<Vec<(String, Option<Uuid>)>, sqlx::Error> =
        sqlx::query_as("select call_id, appointment_id from call_log where call_id = any($1)")
            .bind(&calls)
            .fetch_all(store.pool())
            .await;
    let (rows, logged) = match (rows, logged) {
        (Ok(r), Ok(l)) => (r, l),
        (Err(err), _) | (_, Err(err)) => {
            v.push(
                "accepted bookings visible",
                false,
                format!("could not run: {err}"),
            );
            return;
        }
    };
    let rows: HashMap<Uuid, (Uuid, bool, bool)> = rows
        .into_iter()
        .map(|(id, t, b, busy)| (id, (t, b, busy)))
        .collect();
    let logged: HashMap<String, Option<Uuid>> = logged.into_iter().collect();
    let mut problems = Vec::new();
    for a in &accepted {
        match rows.get(&a.appointment_id) {
            None => problems.push(format!("{} not in appointments", a.appointment_id)),
            Some((tenant, booked, busy)) => {
                if *tenant != a.tenant_id || !booked || !busy {
                    problems.push(format!(
                        "{}: tenant ok {}, booked {booked}, in availability {busy}",
                        a.appointment_id,
                        *tenant == a.tenant_id
                    ));
                }
            }
        }
        if logged.get(&a.call_id) != Some(&Some(a.appointment_id)) {
            problems.push(format!(
                "call {} does not log appointment {}",
                a.call_id, a.appointment_id
            ));
        }
    }
    let name = "accepted bookings visible (appointments, availability, call log)";
    if problems.is_empty() {
        v.push(
            name,
            true,
            format!("{} accepted bookings, all visible", accepted.len()),
        );
    } else {
        v.push(
            name,
            false,
            format!("{} problems, first: {}", problems.len(), problems[0]),
        );
    }
}

/// Every call whose end-of-call report was accepted is in the call log as ended, with its tenant.
async fn calls_logged(store: &EventStore, ledger: &Ledger, v: &mut Verdicts) {
    let ended = ledger
        .ended_calls
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let ids: Vec<String> = ended.iter().map(|(_, c)| c.clone()).collect();
    let rows: Result<Vec<(String, Uuid, String)>, sqlx::Error> =
        sqlx::query_as("select call_id, tenant_id, status from call_log where call_id = any($1)")
            .bind(&ids)
            .fetch_all(store.pool())
            .await;
    let name = "ended calls in the call log";
    match rows {
        Ok(rows) => {
            let rows: HashMap<String, (Uuid, String)> =
                rows.into_iter().map(|(c, t, s)| (c, (t, s))).collect();
            let bad: Vec<&String> = ended
                .iter()
                .filter(|(t, c)| rows.get(c).is_none_or(|(rt, s)| rt != t || s != "ended"))
                .map(|(_, c)| c)
                .collect();
            if bad.is_empty() {
                v.push(
                    name,
                    true,
                    format!("{} calls, all ended with their business", ended.len()),
                );
            } else {
                v.push(
                    name,
                    false,
                    format!(
                        "{} of {} calls missing or not ended, first: {}",
                        bad.len(),
                        ended.len(),
                        bad[0]
                    ),
                );
            }
        }
        Err(err) => v.push(name, false, format!("could not run: {err}")),
    }
}

/// Billing reconcile for this month (and last month during the first two days, for calls near the edge).
async fn billing(store: &EventStore, v: &mut Verdicts) {
    let now = SystemClock.now();
    let mut periods = vec![Period::of(now)];
    if now.day() <= 2 {
        periods.push(Period::of(now - chrono::TimeDelta::days(3)));
    }
    for period in periods {
        match api::billing::ledger::reconcile(store, period, |_| {}).await {
            Ok(r) if r.differences.is_empty() => v.push(
                "billing reconcile",
                true,
                format!(
                    "{}: {} businesses, {} events replayed, 0 differences",
                    r.period, r.businesses, r.events_replayed
                ),
            ),
            Ok(r) => v.push(
                "billing reconcile",
                false,
                format!(
                    "{}: {} differences, first: {} {}",
                    r.period,
                    r.differences.len(),
                    r.differences[0].business,
                    r.differences[0].problem
                ),
            ),
            Err(err) => v.push("billing reconcile", false, format!("could not run: {err}")),
        }
    }
}
