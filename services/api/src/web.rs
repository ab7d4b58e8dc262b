//! The owner's dashboard in the browser: a small single-page app (HTML, CSS, vanilla JavaScript) embedded
//! in the binary and served at `/`. It has no server side of its own — every page is drawn from the REST
//! API under `/api/v1` and the live feed — so the browser sees exactly what any other API client sees.
//!
//! No Node toolchain and no CDN: the files under `services/api/web/` are the source and the build, included
//! with `include_str!`, so `cargo run` serves them and a machine without internet shows the whole app.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// One embedded file: its URL path, content type and bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Everything the app loads, in the order `index.html` loads the scripts.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/index.html"),
    },
    Asset {
        path: "/web/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/app.css"),
    },
    Asset {
        path: "/web/core.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/core.js"),
    },
    Asset {
        path: "/web/onboarding.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/onboarding.js"),
    },
    Asset {
        path: "/web/dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/dashboard.js"),
    },
    Asset {
        path: "/web/calendar.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/calendar.js"),
    },
    Asset {
        path: "/web/calls.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/calls.js"),
    },
    Asset {
        path: "/web/settings.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/settings.js"),
    },
    Asset {
        path: "/web/platform.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/platform.js"),
    },
];

/// Scripts only from this origin, no inline script or style, API calls only to this origin: an injected
/// `<script>` in a caller's name or a transcript would not run even if escaping were missed somewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `GET /` and `GET /web/*`: the embedded app.
pub fn routes() -> Router<AppState> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(asset.path, get(move || async move { serve(asset) }))
    })
}

fn serve(asset: &'static Asset) -> Response {
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The files change with the binary; `no-cache` makes the browser revalidate rather than run an old app
    // against a new API.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
