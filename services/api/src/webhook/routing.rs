//! Which business a webhook message is for: the number's Vapi id, else the dialled number, else a
//! metadata hint that must name a real business. Never another tenant's data.

use uuid::Uuid;
use vapi::Message;

use crate::AppState;
use crate::tenancy::directory::BusinessRef;

/// Resolves the business of a message, or `None` when nothing identifies a known, routable business.
pub async fn business_for(
    state: &AppState,
    message: &Message,
) -> Result<Option<BusinessRef>, sqlx::Error> {
    for key in [message.phone_number_id(), message.dialled_number()]
        .into_iter()
        .flatten()
    {
        if let Some(found) = state.business_for_number(key) {
            return Ok(Some(found));
        }
    }
    // A number assigned moments ago on another instance: look once in the read model.
    if let Some(key) = message.phone_number_id().or(message.dialled_number())
        && let Some(found) = state.resolve_number(key).await?
    {
        return Ok(Some(found));
    }
    let Some(hint) = message.tenant_hint().and_then(|h| h.parse::<Uuid>().ok()) else {
        return Ok(None);
    };
    Ok(crate::tenancy::read::business(state.store().pool(), hint)
        .await?
        .map(|b| BusinessRef {
            business_id: b.id,
            slug: b.slug,
            name: b.name,
            timezone: b.timezone,
            number: b.phone_number.unwrap_or_default(),
            provider_phone_number_id: String::new(),
        }))
}
