//! The billing read model, loaded back into the same `BillingHistory` the replay builds, so the API's
//! usage and invoices come from the one pure invoice function. Reads run under row-level security: one
//! tenant's context for the API, the platform context for `billing reconcile`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::billing::{BillingHistory, NumberHold, PlanChange, UsageTotals};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::replay::Issued;
use crate::tenancy::read::{platform_context, tenant_tx};

/// One business as the billing projection holds it.
#[derive(Debug, Clone, Default)]
pub struct ProjectedAccount {
    pub slug: String,
    pub history: BillingHistory,
    pub issued: BTreeMap<String, Issued>,
}

/// The projected account of `tenant` (`None` if the projection has not seen it).
pub async fn account(pool: &PgPool, tenant: Uuid) -> Result<Option<ProjectedAccount>, sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let mut all = load(&mut tx, Some(tenant)).await?;
    tx.commit().await?;
    Ok(all.remove(&tenant))
}

/// Every projected account (platform context).
pub async fn accounts(pool: &PgPool) -> Result<BTreeMap<Uuid, ProjectedAccount>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    platform_context(&mut tx).await?;
    let all = load(&mut tx, None).await?;
    tx.commit().await?;
    Ok(all)
}

async fn load(
    conn: &mut PgConnection,
    tenant: Option<Uuid>,
) -> Result<BTreeMap<Uuid, ProjectedAccount>, sqlx::Error> {
    let filter = "($1::uuid is null or tenant_id = $1)";
    let mut out: BTreeMap<Uuid, ProjectedAccount> = BTreeMap::new();
    for r in sqlx::query(&format!(
        "select tenant_id, slug, registered_on from billing_accounts where {filter}"
    ))
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?
    {
        let account = out.entry(r.try_get("tenant_id")?).or_default();
        account.slug = r.try_get("slug")?;
        account.history.registered_on = Some(r.try_get("registered_on")?);
    }
    for r in sqlx::query(&format!(
        "select tenant_id, effective_from, plan from billing_plan_changes where {filter} \
         order by tenant_id, stream_version"
    ))
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?
    {
        out.entry(r.try_get("tenant_id")?)
            .or_default()
            .history
            .plan_changes
            .push(PlanChange {
                effective_from: r.try_get("effective_from")?,
                plan: r.try_get("plan")?,
            });
    }
    for r in sqlx::query(&format!(
        "select tenant_id, number, held_from, held_to from billing_number_holds where {filter} \
         order by number, stream_version"
    ))
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?
    {
        out.entry(r.try_get("tenant_id")?)
            .or_default()
            .history
            .numbers
            .entry(r.try_get("number")?)
            .or_default()
            .push(NumberHold {
                from: r.try_get("held_from")?,
                to: r.try_get("held_to")?,
            });
    }
    for r in sqlx::query(&format!(
        "select tenant_id, day, kind, events, quantity, billable_units, provider_cost_micros \
         from billing_usage_daily where {filter}"
    ))
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?
    {
        let day: NaiveDate = r.try_get("day")?;
        let kind: String = r.try_get("kind")?;
        out.entry(r.try_get("tenant_id")?)
            .or_default()
            .history
            .add_daily(
                day,
                &kind,
                UsageTotals {
                    events: r.try_get("events")?,
                    quantity: r.try_get("quantity")?,
                    billable_units: r.try_get("billable_units")?,
                    provider_cost_micros: r.try_get("provider_cost_micros")?,
                },
            );
    }
    for r in sqlx::query(&format!(
        "select tenant_id, period, total_minor, usage_events, usage_hash, invoice_hash, issued_at \
         from billing_invoices where {filter}"
    ))
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?
    {
        out.entry(r.try_get("tenant_id")?)
            .or_default()
            .issued
            .insert(
                r.try_get("period")?,
                Issued {
                    total_minor: r.try_get("total_minor")?,
                    usage_events: u64::try_from(r.try_get::<i64, _>("usage_events")?).unwrap_or(0),
                    usage_hash: r.try_get("usage_hash")?,
                    invoice_hash: r.try_get("invoice_hash")?,
                    issued_at: r.try_get("issued_at")?,
                },
            );
    }
    Ok(out)
}
