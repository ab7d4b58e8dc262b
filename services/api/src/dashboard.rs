//! The business dashboard: `GET /api/v1/businesses/{slug}/dashboard?from&to` (daily counters from the
//! `dashboard` read model, under the tenant's row-level security) and `GET /api/v1/businesses/{slug}/live`
//! (Server-Sent Events of the business's call and booking events as the relay publishes them, see
//! [`live`]). Any member of the business may read both.

pub mod live;
mod report;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The dashboard and live-feed routes, with their `OpenAPI` operations.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report::dashboard))
        .routes(routes!(live::live))
}
