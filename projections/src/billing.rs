//! `billing`: what invoices are computed from — registrations, plan changes, phone-number holdings, usage
//! summed per UTC day and kind, and issued invoices. The API computes usage and invoices from these tables
//! with the same pure function (`domain::billing::invoice`) that the finance replay uses on raw events, so
//! `voiceappoint billing reconcile` can compare the two.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::billing::billable_units;
use events::StreamKind;
use events::billing::InvoiceEvent;
use events::call::UsageEvent;
use events::catalog::{BusinessEvent, NumberEvent};
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use store::StoredEvent;
use uuid::Uuid;

use crate::Projector;

/// Builds the `billing_*` tables.
pub struct Billing;

impl Projector for Billing {
    fn name(&self) -> &'static str {
        "billing"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "billing_accounts",
            "billing_plan_changes",
            "billing_number_holds",
            "billing_usage_daily",
            "billing_invoices",
        ]
    }

    fn kinds(&self) -> Option<&'static [StreamKind]> {
        Some(&[
            StreamKind::Business,
            StreamKind::Number,
            StreamKind::Usage,
            StreamKind::Invoice,
        ])
    }

    fn apply_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a StoredEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        apply_events(conn, events).boxed()
    }
}

/// Applies events in order; usage only adds to daily sums that nothing here reads back, so a batch's usage
/// is summed in memory and written with one statement at its end.
async fn apply_events(conn: &mut PgConnection, events: &[&StoredEvent]) -> Result<(), sqlx::Error> {
    let mut usage = UsageSums::default();
    for &event in events {
        match event.event_type.as_str() {
            "BusinessRegistered" | "PlanAssigned" => {
                if let Some(business) = decode::<BusinessEvent>(event) {
                    business_event(conn, event, &business).await?;
                }
            }
            "NumberAssigned" | "NumberReleased" | "NumberSuspended" => {
                if let Some(number) = decode::<NumberEvent>(event) {
                    number_event(conn, event, &number).await?;
                }
            }
            "UsageRecorded" => {
                if let Some(recorded) = decode::<UsageEvent>(event) {
                    usage.add(&recorded);
                }
            }
            "InvoiceIssued" => {
                if let Some(invoice) = decode::<InvoiceEvent>(event) {
                    invoice_event(conn, &invoice).await?;
                }
            }
            _ => {}
        }
    }
    usage.flush(conn).await
}

/// What a batch's usage adds to `billing_usage_daily`, per business, UTC day and kind.
#[derive(Debug, Default)]
struct UsageSums(BTreeMap<(Uuid, NaiveDate, String), UsageSum>);

/// Events, quantity, billable units and provider cost, summed.
#[derive(Debug, Default, Clone, Copy)]
struct UsageSum {
    events: i64,
    quantity: i64,
    billable_units: i64,
    provider_cost_micros: i64,
}

impl UsageSums {
    fn add(&mut self, event: &UsageEvent) {
        let UsageEvent::UsageRecorded {
            business_id,
            kind,
            quantity,
            provider_cost_micros,
            usage_at,
            ..
        } = event;
        let sum = self
            .0
            .entry((*business_id, usage_at.date_naive(), kind.clone()))
            .or_default();
        sum.events += 1;
        sum.quantity += quantity;
        sum.billable_units += billable_units(kind, *quantity);
        sum.provider_cost_micros += provider_cost_micros;
    }

    async fn flush(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut keys = (Vec::new(), Vec::new(), Vec::new());
        let mut sums: [Vec<i64>; 4] = Default::default();
        for ((tenant, day, kind), sum) in self.0 {
            keys.0.push(tenant);
            keys.1.push(day);
            keys.2.push(kind);
            let values = [
                sum.events,
                sum.quantity,
                sum.billable_units,
                sum.provider_cost_micros,
            ];
            for (column, value) in sums.iter_mut().zip(values) {
                column.push(value);
            }
        }
        let [events, quantity, units, cost] = sums;
        sqlx::query(
            "insert into billing_usage_daily as u \
               (tenant_id, day, kind, events, quantity, billable_units, provider_cost_micros) \
             select * from unnest($1::uuid[], $2::date[], $3::text[], $4::bigint[], $5::bigint[], \
               $6::bigint[], $7::bigint[]) \
             on conflict (tenant_id, day, kind) do update set \
               events = u.events + excluded.events, \
               quantity = u.quantity + excluded.quantity, \
               billable_units = u.billable_units + excluded.billable_units, \
               provider_cost_micros = u.provider_cost_micros + excluded.provider_cost_micros",
        )
        .bind(keys.0)
        .bind(keys.1)
        .bind(keys.2)
        .bind(events)
        .bind(quantity)
        .bind(units)
        .bind(cost)
        .execute(conn)
        .await
        .map(drop)
    }
}

/// The event as `E`, or `None` (logged) when it does not decode: one bad event must not stop billing.
fn decode<E: serde::de::DeserializeOwned>(event: &StoredEvent) -> Option<E> {
    match events::aggregate::decode_tagged(&event.event_type, &event.data) {
        Ok(decoded) => Some(decoded),
        Err(err) => {
            tracing::warn!(event_id = %event.event_id, event_type = %event.event_type, %err, "undecodable billing event skipped");
            None
        }
    }
}

async fn business_event(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: &BusinessEvent,
) -> Result<(), sqlx::Error> {
    match event {
        BusinessEvent::BusinessRegistered {
            business_id,
            slug,
            occurred_at,
            ..
        } => {
            sqlx::query(
                "insert into billing_accounts (tenant_id, slug, registered_on) values ($1, $2, $3) \
                 on conflict (tenant_id) do nothing",
            )
            .bind(business_id)
            .bind(slug)
            .bind(occurred_at.date_naive())
            .execute(conn)
            .await?;
        }
        BusinessEvent::PlanAssigned {
            business_id,
            plan,
            effective_from,
            ..
        } => {
            sqlx::query(
                "insert into billing_plan_changes (tenant_id, stream_version, effective_from, plan) \
                 values ($1, $2, $3, $4)",
            )
            .bind(business_id)
            .bind(stored.stream_version)
            .bind(effective_from)
            .bind(plan)
            .execute(conn)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

async fn number_event(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: &NumberEvent,
) -> Result<(), sqlx::Error> {
    let (number, business_id, at, assigned) = match event {
        NumberEvent::NumberAssigned {
            number,
            business_id,
            occurred_at,
        } => (number, *business_id, occurred_at, true),
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
        } => (number, *business_id, occurred_at, false),
        _ => return Ok(()),
    };
    let query = if assigned {
        "insert into billing_number_holds (tenant_id, number, stream_version, held_from) \
         values ($1, $2, $3, $4)"
    } else {
        // Closes the open holding (the same rule as `BillingHistory::number_released`).
        "update billing_number_holds set held_to = greatest($4, held_from) \
         where tenant_id = $1 and number = $2 and held_to is null and $3 > stream_version"
    };
    sqlx::query(query)
        .bind(business_id)
        .bind(number)
        .bind(stored.stream_version)
        .bind(at.date_naive())
        .execute(conn)
        .await?;
    Ok(())
}

async fn invoice_event(conn: &mut PgConnection, event: &InvoiceEvent) -> Result<(), sqlx::Error> {
    let InvoiceEvent::InvoiceIssued {
        business_id,
        period,
        currency,
        total_minor,
        usage_events,
        usage_hash,
        invoice_hash,
        occurred_at,
    } = event;
    sqlx::query(
        "insert into billing_invoices (tenant_id, period, currency, total_minor, usage_events, usage_hash, \
           invoice_hash, issued_at) values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (tenant_id, period) do nothing",
    )
    .bind(business_id)
    .bind(period)
    .bind(currency)
    .bind(total_minor)
    .bind(i64::try_from(*usage_events).unwrap_or(i64::MAX))
    .bind(usage_hash)
    .bind(invoice_hash)
    .bind(occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}
