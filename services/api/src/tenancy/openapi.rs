//! `/openapi.json`: generated from the handlers' `#[utoipa::path]` annotations (routes and document are
//! built together by `utoipa-axum`, so a route cannot exist without its operation), for the tenancy,
//! booking, call log, webhook, dashboard, billing and audit routes, plus the ops endpoints.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "VoiceAppoint API", description = "Phone-booking backend for Vapi voice agents (DESIGN.md §9)."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Endpoints served outside the tenancy router, documented by hand.
const OPS: [(&str, &str); 4] = [
    ("/healthz", "liveness"),
    ("/readyz", "readiness: Postgres, NATS and projector lag"),
    ("/metrics", "Prometheus metrics"),
    ("/openapi.json", "this document"),
];

/// The `OpenAPI` document for `documented` (plus the ops endpoints) and the routes themselves.
pub fn split(documented: OpenApiRouter<AppState>) -> (Router<AppState>, Document) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(documented)
        .split_for_parts();
    for (path, summary) in OPS {
        doc.paths.add_path_operation(
            path,
            vec![HttpMethod::Get],
            OperationBuilder::new()
                .summary(Some(summary))
                .tag("ops")
                .response("200", ResponseBuilder::new().description(summary).build())
                .build(),
        );
    }
    (router, doc)
}

/// Every documented route (tenancy, booking, the Vapi webhook, the call log, the dashboard and live feed,
/// billing and the auditors' API) with `/openapi.json`
/// serving their document.
pub fn routes() -> Router<AppState> {
    let (router, doc) = split(
        super::handlers::routes()
            .merge(crate::booking::http::routes())
            .merge(crate::webhook::routes())
            .merge(crate::billing::routes())
            .merge(crate::dashboard::routes())
            .merge(crate::audit::routes()),
    );
    let doc = Arc::new(doc);
    router.route(
        "/openapi.json",
        get(move || {
            let doc = Arc::clone(&doc);
            async move { Json(doc.as_ref().clone()) }
        }),
    )
}
