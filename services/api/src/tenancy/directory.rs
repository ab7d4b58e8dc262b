//! The number → business directory the Vapi webhook routes every call through, in memory.
//!
//! Lookups are a hash-map read under a read lock (well under a microsecond). The map is reloaded every
//! [`REFRESH`] from the write-side claims (with the catalog's provider ids and business details) and
//! updated at once when this process assigns or releases a number, so a claim is routable immediately on
//! the instance that made it and within one refresh everywhere else.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often the directory is reloaded from the read model.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The business a phone number routes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusinessRef {
    pub business_id: Uuid,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    /// E.164.
    pub number: String,
    pub provider_phone_number_id: String,
}

/// Number (E.164) and provider phone-number id → business.
#[derive(Debug, Default)]
pub struct NumberDirectory {
    by_key: RwLock<HashMap<String, BusinessRef>>,
}

impl NumberDirectory {
    /// The business for a Vapi `phoneNumberId` or an E.164 number.
    pub fn get(&self, key: &str) -> Option<BusinessRef> {
        self.by_key.read().ok()?.get(key.trim()).cloned()
    }

    /// Adds or replaces one entry (after this process assigned a number).
    pub fn insert(&self, entry: BusinessRef) {
        if let Ok(mut map) = self.by_key.write() {
            add(&mut map, entry);
        }
    }

    /// Drops a number (after this process released or suspended it).
    pub fn remove_number(&self, number: &str) {
        if let Ok(mut map) = self.by_key.write() {
            map.retain(|_, entry| entry.number != number);
        }
    }

    /// Replaces the whole map with the assigned numbers of the read model.
    pub async fn reload(&self, pool: &PgPool) -> Result<usize, sqlx::Error> {
        let rows = assigned(pool, None).await?;
        let mut map = HashMap::with_capacity(rows.len() * 2);
        let count = rows.len();
        for entry in rows {
            add(&mut map, entry);
        }
        if let Ok(mut current) = self.by_key.write() {
            *current = map;
        }
        Ok(count)
    }

    /// Looks one key (number or provider id) up in the read model and remembers it when assigned: a miss
    /// costs one indexed query, not a reload, so a stream of calls to unknown numbers stays cheap.
    pub async fn fetch(
        &self,
        pool: &PgPool,
        key: &str,
    ) -> Result<Option<BusinessRef>, sqlx::Error> {
        let found = assigned(pool, Some(key.trim())).await?.into_iter().next();
        if let Some(entry) = &found {
            self.insert(entry.clone());
        }
        Ok(found)
    }

    /// Reloads every [`REFRESH`] until `shutdown`.
    pub async fn keep_fresh(&self, pool: PgPool, shutdown: CancellationToken) {
        loop {
            if let Err(err) = self.reload(&pool).await {
                tracing::warn!(error = %err, "number directory reload failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(REFRESH) => {}
            }
        }
    }
}

/// Keys `entry` by its number and, when the catalog knows it yet, its provider id.
fn add(map: &mut HashMap<String, BusinessRef>, entry: BusinessRef) {
    if !entry.provider_phone_number_id.is_empty() {
        map.insert(entry.provider_phone_number_id.clone(), entry.clone());
    }
    map.insert(entry.number.clone(), entry);
}

/// Assigned numbers with their business: all of them, or the one whose number or provider id is `key`.
async fn assigned(pool: &PgPool, key: Option<&str>) -> Result<Vec<BusinessRef>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    super::read::platform_context(&mut tx).await?;
    // Which number is whose comes from `number_claims`, the write-side table a claim inserts and a release
    // or suspension deletes in the same transaction as its event: a reload never drops a claim the
    // catalog projector has not applied yet (nor keeps a released number). The provider id and the
    // business's details come from the catalog read model.
    let rows: Vec<(String, Option<String>, Uuid, String, String, String)> = sqlx::query_as(
        "select c.number, p.provider_phone_number_id, b.tenant_id, b.slug, b.name, b.timezone \
         from number_claims c \
         join catalog_businesses b on b.tenant_id = c.business_id \
         left join catalog_phone_numbers p on p.number = c.number \
         where $1::text is null or c.number = $1 or p.provider_phone_number_id = $1",
    )
    .bind(key)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(
            |(number, provider_phone_number_id, business_id, slug, name, timezone)| BusinessRef {
                business_id,
                slug,
                name,
                timezone,
                number,
                provider_phone_number_id: provider_phone_number_id.unwrap_or_default(),
            },
        )
        .collect())
}
