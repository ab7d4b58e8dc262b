//! `GET /api/v1/plans`, `PUT /api/v1/businesses/{slug}/plan`, `GET …/usage?period=YYYY-MM` and
//! `GET …/invoices/{YYYY-MM}[?format=csv]`. Owners and admins see their business's usage and invoices,
//! platform `finance` users and auditors every business's; owners and platform admins choose the plan.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use domain::billing::{CURRENCY, PLANS, Period, PlanError, assign_plan, invoice};
use domain::catalog::format_minor;
use domain::tenancy::{Business, Permission, User, allows};
use events::catalog::PlatformRole;
use serde::Deserialize;
use serde_json::{Value, json};
use store::ExpectedVersion;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::read;
use super::render::{InvoiceDocument, status};
use crate::json::ApiJson;
use crate::tenancy::access::business_stream;
use crate::tenancy::auth::AuthUser;
use crate::tenancy::handlers::auth::user_stream;
use crate::tenancy::{encode, forbidden, metadata};
use crate::{ApiError, AppState};

/// The billing routes, with their `OpenAPI` operations.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(plans))
        .routes(routes!(put_plan))
        .routes(routes!(usage))
        .routes(routes!(invoice_document))
}

/// A business as billing access sees it.
struct Billed {
    business_id: Uuid,
    business: Business,
    version: i64,
}

/// Members with `permission`, or users holding one of the `platform` roles, may pass. Unknown businesses
/// and non-members without any platform role get the same 404; members without the permission, and platform
/// users without the needed role (an auditor choosing a plan), 403.
async fn billing_access(
    state: &AppState,
    user: &AuthUser,
    slug: &str,
    permission: Permission,
    platform: &[PlatformRole],
    what: &str,
) -> Result<Billed, ApiError> {
    let business_id = crate::tenancy::read::business_id_by_slug(state.store().pool(), slug)
        .await?
        .ok_or_else(|| ApiError::not_found("business"))?;
    let (business, version) = state
        .store()
        .load::<Business>(&business_stream(business_id))
        .await?;
    let billed = |business| {
        crate::tenancy::access::charge_request(state, business_id)?;
        Ok(Billed {
            business_id,
            business,
            version,
        })
    };
    let role = business.role_of(user.user_id);
    if role.is_some_and(|r| allows(r, permission)) {
        return billed(business);
    }
    let (profile, _) = state
        .store()
        .load::<User>(&user_stream(user.user_id))
        .await?;
    if platform.iter().any(|p| profile.platform_roles.contains(p)) {
        return billed(business);
    }
    if role.is_some() || !profile.platform_roles.is_empty() {
        return Err(forbidden(what));
    }
    Err(ApiError::not_found("business"))
}

fn parse_period(text: &str) -> Result<Period, ApiError> {
    Period::parse(text).map_err(|e| ApiError::validation("invalid_period", e.to_string()))
}

fn plan_error(err: &PlanError) -> ApiError {
    let code = match err {
        PlanError::UnknownPlan(_) => "unknown_plan",
        PlanError::ClosedPeriod(..) => "closed_period",
        PlanError::TooFarAhead(_) => "too_far_ahead",
        PlanError::NotFound => return ApiError::not_found("business"),
    };
    ApiError::validation(code, err.to_string())
}

#[utoipa::path(get, path = "/api/v1/plans", tag = "billing",
    responses((status = 200, description = "every plan with its prices (USD cents)")))]
async fn plans() -> Json<Value> {
    Json(json!({ "currency": CURRENCY, "plans": PLANS }))
}

/// `PUT /businesses/{slug}/plan`.
#[derive(Debug, Deserialize, ToSchema)]
struct PutPlan {
    /// `starter`, `growth` or `scale`.
    plan: String,
    /// The UTC day the plan applies from (default today); not in a closed month.
    effective_from: Option<NaiveDate>,
}

#[utoipa::path(put, path = "/api/v1/businesses/{slug}/plan", tag = "billing",
    params(("slug" = String, Path, description = "business slug")), request_body = PutPlan,
    responses((status = 200, description = "the plan history after the change"),
              (status = 403, description = "not the owner or a platform admin"),
              (status = 422, description = "unknown plan, closed month or too far ahead")))]
async fn put_plan(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<PutPlan>,
) -> Result<ApiJson<Value>, ApiError> {
    let billed = billing_access(
        &state,
        &user,
        &slug,
        Permission::ManagePlan,
        &[PlatformRole::PlatformAdmin],
        "choosing the plan (owners and platform admins)",
    )
    .await?;
    let now = state.store().clock().now();
    let events = assign_plan(
        &billed.business,
        &body.plan,
        body.effective_from,
        user.user_id,
        now,
    )
    .map_err(|e| plan_error(&e))?;
    if !events.is_empty() {
        let new = encode(Some(billed.business_id), &events, &metadata(user.user_id))?;
        state
            .store()
            .append(
                &business_stream(billed.business_id),
                ExpectedVersion::Exact(billed.version),
                new,
            )
            .await?;
    }
    let after = events
        .iter()
        .fold(billed.business, events::Aggregate::evolve);
    let history: Vec<Value> = after
        .plan_changes
        .iter()
        .map(|(from, plan)| json!({ "plan": plan, "effective_from": from }))
        .collect();
    Ok(ApiJson(json!({
        "plan": body.plan,
        "effective_from": body.effective_from.unwrap_or(now.date_naive()),
        "history": history,
    })))
}

/// `?period=YYYY-MM` (default: the running month, UTC).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeriodQuery {
    period: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/usage", tag = "billing",
    params(("slug" = String, Path, description = "business slug"), PeriodQuery),
    responses((status = 200, description = "usage, provider cost, revenue and margin of the period"),
              (status = 422, description = "bad period")))]
async fn usage(
    State(state): State<AppState>,
    user: AuthUser,
    Path(slug): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    let billed = billing_access(
        &state,
        &user,
        &slug,
        Permission::ViewBilling,
        &[PlatformRole::Finance, PlatformRole::Auditor],
        "reading usage (owners, admins, finance and auditors)",
    )
    .await?;
    let now = state.store().clock().now();
    let period = match query.period.as_deref() {
        Some(text) => parse_period(text)?,
        None => Period::of(now),
    };
    let account = read::account(state.store().pool(), billed.business_id)
        .await?
        .unwrap_or_default();
    let invoice = invoice(&account.history, period);
    let on = now
        .date_naive()
        .clamp(period.first_day(), period.last_day());
    let u = &invoice.usage;
    Ok(ApiJson(json!({
        "business": billed.business.slug,
        "period": invoice.period,
        "status": status(period, now),
        "currency": CURRENCY,
        "plan": account.history.plan_on(on).map(|p| p.code),
        "usage": u,
        "provider_cost_micros": u.provider_cost_micros,
        "revenue_minor": invoice.total_minor,
        "revenue": format_minor(invoice.total_minor, CURRENCY),
        "margin_micros": invoice.margin_micros,
    })))
}

/// `?format=json|csv` (default json).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FormatQuery {
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/businesses/{slug}/invoices/{period}", tag = "billing",
    params(("slug" = String, Path, description = "business slug"),
           ("period" = String, Path, description = "YYYY-MM"), FormatQuery),
    responses((status = 200, description = "the invoice: draft for the running month, final for closed months"),
              (status = 422, description = "bad period or format")))]
async fn invoice_document(
    State(state): State<AppState>,
    user: AuthUser,
    Path((slug, period)): Path<(String, String)>,
    Query(query): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let billed = billing_access(
        &state,
        &user,
        &slug,
        Permission::ViewBilling,
        &[PlatformRole::Finance, PlatformRole::Auditor],
        "reading invoices (owners, admins, finance and auditors)",
    )
    .await?;
    let period = parse_period(&period)?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::validation(
                "invalid_format",
                format!(
                    "format must be json or csv, got {:?}",
                    other.chars().take(20).collect::<String>()
                ),
            ));
        }
    };
    let now = state.store().clock().now();
    let account = read::account(state.store().pool(), billed.business_id)
        .await?
        .unwrap_or_default();
    let invoice = invoice(&account.history, period);
    let doc = InvoiceDocument::new(
        billed.business_id,
        &billed.business.slug,
        status(period, now),
        &invoice,
        account.issued.get(&period.to_string()),
    );
    if !csv {
        return Ok((StatusCode::OK, Json(doc)).into_response());
    }
    let body = doc.to_csv().map_err(|e| ApiError::internal(&e))?;
    let disposition = format!(
        "attachment; filename=\"invoice-{}-{period}.csv\"",
        billed.business.slug
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
