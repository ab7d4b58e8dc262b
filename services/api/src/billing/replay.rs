//! The finance replay: every business's billing history folded straight from the event store — never from
//! the billing projection — so an invoice can be recomputed from the immutable record alone, and compared
//! with the projection (`voiceappoint billing reconcile`).
//!
//! `UsageRecorded` dominates (one per call and per booking), so its payload is read through a borrowed
//! mirror of the event ([`UsageRow`]); the rare plan and number events decode into their real enums.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::billing::{BillingHistory, Period};
use events::billing::InvoiceEvent;
use events::catalog::{BusinessEvent, NumberEvent};
use futures::TryStreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use store::{EventStore, ScannedEvent, StoreError};
use uuid::Uuid;

/// The event types a replay reads.
pub const REPLAY_TYPES: [&str; 7] = [
    "BusinessRegistered",
    "PlanAssigned",
    "NumberAssigned",
    "NumberReleased",
    "NumberSuspended",
    "UsageRecorded",
    "InvoiceIssued",
];

/// `UsageRecorded`'s payload, borrowed from the row's text (`events::call::UsageEvent`; a test keeps the two
/// in step).
#[derive(Deserialize)]
struct UsageRow<'a> {
    business_id: Uuid,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    quantity: i64,
    provider_cost_micros: i64,
    usage_at: DateTime<Utc>,
}

/// An issued invoice as the event store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub total_minor: i64,
    pub usage_events: u64,
    pub usage_hash: String,
    pub invoice_hash: String,
    pub issued_at: DateTime<Utc>,
}

/// One business as the replay sees it.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub slug: String,
    pub history: BillingHistory,
    /// Every usage event's (UTC day, id), for the usage hash of a period.
    usage_ids: Vec<(NaiveDate, Uuid)>,
    /// Issued invoices by period.
    pub issued: BTreeMap<String, Issued>,
}

impl Account {
    /// The number of usage events in `period` and the SHA-256 (hex) of their sorted ids: what an issued
    /// invoice seals.
    pub fn usage_hash(&self, period: Period) -> (u64, String) {
        let mut ids: Vec<Uuid> = self
            .usage_ids
            .iter()
            .filter(|(day, _)| period.contains_day(*day))
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        let mut hasher = Sha256::new();
        for id in &ids {
            hasher.update(id.as_bytes());
        }
        (ids.len() as u64, hex::encode(hasher.finalize()))
    }
}

/// Every account the replay met, by business id.
#[derive(Debug, Default)]
pub struct Replay {
    pub accounts: BTreeMap<Uuid, Account>,
    /// Events read.
    pub events: u64,
}

impl Replay {
    /// Folds one event in. Events must come in an order that keeps each stream's order.
    pub fn apply(&mut self, event: &ScannedEvent) -> Result<(), serde_json::Error> {
        self.events += 1;
        if event.event_type == "UsageRecorded" {
            let row: UsageRow<'_> = serde_json::from_str(&event.data)?;
            let account = self.accounts.entry(row.business_id).or_default();
            account.history.usage(
                row.usage_at,
                &row.kind,
                row.quantity,
                row.provider_cost_micros,
            );
            account
                .usage_ids
                .push((row.usage_at.date_naive(), event.event_id));
            return Ok(());
        }
        let data: serde_json::Value = serde_json::from_str(&event.data)?;
        match event.event_type.as_str() {
            "BusinessRegistered" | "PlanAssigned" => {
                self.business(&events::aggregate::decode_tagged(&event.event_type, &data)?);
            }
            "InvoiceIssued" => {
                let InvoiceEvent::InvoiceIssued {
                    business_id,
                    period,
                    total_minor,
                    usage_events,
                    usage_hash,
                    invoice_hash,
                    occurred_at,
                    ..
                } = events::aggregate::decode_tagged(&event.event_type, &data)?;
                self.accounts.entry(business_id).or_default().issued.insert(
                    period,
                    Issued {
                        total_minor,
                        usage_events,
                        usage_hash,
                        invoice_hash,
                        issued_at: occurred_at,
                    },
                );
            }
            _ => self.number(&events::aggregate::decode_tagged(&event.event_type, &data)?),
        }
        Ok(())
    }

    fn business(&mut self, event: &BusinessEvent) {
        match event {
            BusinessEvent::BusinessRegistered {
                business_id,
                slug,
                occurred_at,
                ..
            } => {
                let account = self.accounts.entry(*business_id).or_default();
                account.slug.clone_from(slug);
                account.history.registered(*occurred_at);
            }
            BusinessEvent::PlanAssigned {
                business_id,
                plan,
                effective_from,
                ..
            } => self
                .accounts
                .entry(*business_id)
                .or_default()
                .history
                .plan_assigned(*effective_from, plan),
            _ => {}
        }
    }

    fn number(&mut self, event: &NumberEvent) {
        match event {
            NumberEvent::NumberAssigned {
                number,
                business_id,
                occurred_at,
            } => self
                .accounts
                .entry(*business_id)
                .or_default()
                .history
                .number_assigned(number, *occurred_at),
            NumberEvent::NumberReleased {
                number,
                business_id,
                occurred_at,
            }
            | NumberEvent::NumberSuspended {
                number,
                business_id: Some(business_id),
                occurred_at,
                ..
            } => self
                .accounts
                .entry(*business_id)
                .or_default()
                .history
                .number_released(number, *occurred_at),
            _ => {}
        }
    }
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event {event_id} ({event_type}) could not be decoded: {source}")]
    Decode {
        event_id: Uuid,
        event_type: String,
        source: serde_json::Error,
    },
}

/// The business registered with `slug`, found in the event store itself (`BusinessRegistered`), so the
/// finance replay needs nothing but the events.
pub async fn business_by_slug(store: &EventStore, slug: &str) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar(
        "select tenant_id from events where event_type = 'BusinessRegistered' and data->>'slug' = $1 \
         order by global_position limit 1",
    )
    .bind(slug)
    .fetch_optional(store.pool())
    .await?
    .flatten())
}

/// Replays every billing event (of `tenant`, or of every business), calling `progress` with the running
/// count every 10,000 events.
pub async fn replay(
    store: &EventStore,
    tenant: Option<Uuid>,
    mut progress: impl FnMut(u64),
) -> Result<Replay, ReplayError> {
    let mut replay = Replay::default();
    let mut events = store.scan_types(&REPLAY_TYPES, tenant);
    while let Some(event) = events.try_next().await? {
        replay.apply(&event).map_err(|source| ReplayError::Decode {
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            source,
        })?;
        if replay.events % 10_000 == 0 {
            progress(replay.events);
        }
    }
    progress(replay.events);
    Ok(replay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_borrowed_usage_row_reads_what_the_usage_event_writes() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let event = events::call::UsageEvent::UsageRecorded {
            business_id: Uuid::from_u128(7),
            call_id: Some("c-1".into()),
            kind: "voice_\"seconds".into(),
            quantity: 95,
            provider_cost_micros: 123_400,
            usage_at: at,
            occurred_at: at,
        };
        let (_, data) = events::aggregate::encode_tagged(&event).unwrap();
        let text = data.to_string();
        let row: UsageRow<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!(row.business_id, Uuid::from_u128(7));
        assert_eq!(row.kind, "voice_\"seconds");
        assert_eq!((row.quantity, row.provider_cost_micros), (95, 123_400));
        assert_eq!(row.usage_at, at);
    }
}
