//! Finance operations over the whole platform: reconcile the replay against the projection, and close a
//! month by issuing each business's invoice (`InvoiceIssued`, sealing the usage it covers).

use chrono::{DateTime, SubsecRound as _, Utc};
use domain::billing::{Invoice, Period, invoice};
use events::billing::{InvoiceEvent, billing_event_id, invoice_stream};
use events::{Actor, Metadata, NewEvent};
use serde::Serialize;
use store::{EventStore, ExpectedVersion, StoreError};
use uuid::Uuid;

use super::read::{ProjectedAccount, accounts};
use super::render::invoice_hash;
use super::replay::{Account, ReplayError, replay};

/// A business whose replayed invoice and projected invoice disagree, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub business_id: Uuid,
    pub business: String,
    pub problem: String,
}

/// What `billing reconcile` found.
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    pub period: String,
    pub businesses: usize,
    pub events_replayed: u64,
    pub differences: Vec<Difference>,
}

/// Why a finance operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("could not encode the invoice event: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("period {0} has not ended yet; it can be closed from {1}")]
    PeriodOpen(String, DateTime<Utc>),
}

/// Replays every business from the event store and compares its invoice for `period` with the one the
/// billing projection gives, and any issued invoice with the usage it sealed.
pub async fn reconcile(
    store: &EventStore,
    period: Period,
    progress: impl FnMut(u64),
) -> Result<ReconcileReport, LedgerError> {
    let replayed = replay(store, None, progress).await?;
    let projected = accounts(store.pool()).await?;
    let ids: std::collections::BTreeSet<Uuid> = replayed
        .accounts
        .keys()
        .chain(projected.keys())
        .copied()
        .collect();
    let mut differences = Vec::new();
    for id in &ids {
        let (from_events, from_projection) = (replayed.accounts.get(id), projected.get(id));
        let business = from_events
            .map(|a| a.slug.clone())
            .or_else(|| from_projection.map(|a| a.slug.clone()))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| id.to_string());
        let mut problem = |problem: String| {
            differences.push(Difference {
                business_id: *id,
                business: business.clone(),
                problem,
            });
        };
        match (from_events, from_projection) {
            (Some(events), Some(projection)) => {
                for p in compare(events, projection, period) {
                    problem(p);
                }
            }
            (Some(_), None) => {
                problem("in the event store but not in the billing projection".into());
            }
            (None, Some(_)) => {
                problem("in the billing projection but not in the event store".into());
            }
            (None, None) => {}
        }
    }
    Ok(ReconcileReport {
        period: period.to_string(),
        businesses: ids.len(),
        events_replayed: replayed.events,
        differences,
    })
}

fn compare(events: &Account, projection: &ProjectedAccount, period: Period) -> Vec<String> {
    let mut problems = Vec::new();
    let replayed = invoice(&events.history, period);
    let projected = invoice(&projection.history, period);
    if replayed != projected {
        problems.push(describe(&replayed, &projected));
    }
    let key = period.to_string();
    let issued = events.issued.get(&key);
    if issued != projection.issued.get(&key) {
        problems
            .push("the issued invoice differs between the event store and the projection".into());
    }
    if let Some(issued) = issued {
        let (count, hash) = events.usage_hash(period);
        if hash != issued.usage_hash {
            problems.push(format!(
                "usage changed after the invoice was issued: it sealed {} usage events, the store now holds {count}",
                issued.usage_events
            ));
        }
        if invoice_hash(&replayed) != issued.invoice_hash {
            problems.push("the invoice replayed now differs from the invoice issued".into());
        }
    }
    problems
}

fn describe(replayed: &Invoice, projected: &Invoice) -> String {
    let mut parts = Vec::new();
    if replayed.total_minor != projected.total_minor {
        parts.push(format!(
            "total {} (events) vs {} (projection)",
            replayed.total_minor, projected.total_minor
        ));
    }
    if replayed.usage != projected.usage {
        parts.push(format!(
            "usage {:?} (events) vs {:?} (projection)",
            replayed.usage, projected.usage
        ));
    }
    let lines = |i: &Invoice| {
        i.lines
            .iter()
            .map(|l| (l.kind, l.amount_minor))
            .collect::<Vec<_>>()
    };
    if lines(replayed) != lines(projected) {
        parts.push(format!(
            "lines {:?} (events) vs {:?} (projection)",
            lines(replayed),
            lines(projected)
        ));
    }
    if parts.is_empty() {
        parts.push("the invoices differ".into());
    }
    parts.join("; ")
}

/// What closing did for one business.
#[derive(Debug, Clone, Serialize)]
pub struct Closed {
    pub business_id: Uuid,
    pub business: String,
    pub total_minor: i64,
    /// False when the invoice had already been issued (closing is idempotent).
    pub issued_now: bool,
}

/// Issues every registered business's invoice for an ended `period` (`InvoiceIssued` on
/// `invoice-<business>-<period>`, once: the stream must not exist yet and the event id is derived).
pub async fn close_period(
    store: &EventStore,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<Closed>, LedgerError> {
    if now < period.end() {
        return Err(LedgerError::PeriodOpen(period.to_string(), period.end()));
    }
    // Postgres keeps microseconds: an instant with nanoseconds would read back from the projection as a
    // different instant than the event holds.
    let now = now.trunc_subsecs(6);
    let replayed = replay(store, None, |_| {}).await?;
    let key = period.to_string();
    let mut out = Vec::new();
    for (id, account) in &replayed.accounts {
        if account.history.registered_on.is_none() {
            continue;
        }
        let invoice = invoice(&account.history, period);
        let mut closed = Closed {
            business_id: *id,
            business: account.slug.clone(),
            total_minor: invoice.total_minor,
            issued_now: false,
        };
        if !account.issued.contains_key(&key) {
            let (usage_events, usage_hash) = account.usage_hash(period);
            let event = InvoiceEvent::InvoiceIssued {
                business_id: *id,
                period: key.clone(),
                currency: invoice.currency.to_owned(),
                total_minor: invoice.total_minor,
                usage_events,
                usage_hash,
                invoice_hash: invoice_hash(&invoice),
                occurred_at: now,
            };
            let metadata = Metadata {
                actor: Some(Actor::System {
                    component: "billing close".into(),
                }),
                ..Metadata::default()
            };
            let mut new = NewEvent::tagged(Some(*id), &event, metadata)?;
            new.event_id = billing_event_id(&format!("invoice:{id}:{key}"));
            match store
                .append(
                    &invoice_stream(*id, &key),
                    ExpectedVersion::NoStream,
                    vec![new],
                )
                .await
            {
                Ok(_) => closed.issued_now = true,
                Err(StoreError::Conflict { .. } | StoreError::DuplicateEventId(_)) => {}
                Err(err) => return Err(err.into()),
            }
        }
        out.push(closed);
    }
    Ok(out)
}
