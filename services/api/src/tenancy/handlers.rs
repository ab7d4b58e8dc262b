//! The tenancy and catalog endpoints, each documented for `/openapi.json`, and the mapping of domain rule
//! violations to HTTP answers.

pub mod auth;
pub mod businesses;
pub mod members;
pub mod numbers;
pub mod services;
pub mod staff;

use axum::http::StatusCode;
use domain::catalog::{NumberError, ServiceError, StaffError};
use domain::tenancy::{BusinessError, UserError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, AppState};

/// Every tenancy route, with its `OpenAPI` operation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::token))
        .routes(routes!(auth::me))
        .routes(routes!(businesses::list))
        .routes(routes!(businesses::get_one, businesses::patch))
        .routes(routes!(businesses::put_hours, businesses::get_hours))
        .routes(routes!(businesses::put_agent, businesses::get_agent))
        .routes(routes!(services::create, services::list))
        .routes(routes!(
            services::get_one,
            services::patch,
            services::retire
        ))
        .routes(routes!(staff::create, staff::list))
        .routes(routes!(staff::get_one, staff::patch, staff::remove))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::change, members::remove))
        .routes(routes!(numbers::add_to_pool))
        .routes(routes!(numbers::suspend))
        .routes(routes!(numbers::available))
        .routes(routes!(numbers::claim, numbers::release, numbers::current))
}

pub(crate) fn business_error(err: &BusinessError) -> ApiError {
    let code = match err {
        BusinessError::BadName => "invalid_name",
        BusinessError::BadBusinessType => "invalid_business_type",
        BusinessError::UnknownTimezone(_) => "unknown_timezone",
        BusinessError::BadLocale(_) => "invalid_locale",
        BusinessError::Currency(_) => "invalid_currency",
        BusinessError::Hours(_) => "invalid_hours",
        BusinessError::BadAgentField(..) => "invalid_agent",
        BusinessError::AlreadyMember => {
            return ApiError::new(StatusCode::CONFLICT, "already_member", err.to_string());
        }
        BusinessError::NotAMember => return ApiError::not_found("member"),
        BusinessError::OwnerOnly => {
            return ApiError::new(StatusCode::FORBIDDEN, "owner_only", err.to_string());
        }
        BusinessError::LastOwner => {
            return ApiError::new(StatusCode::CONFLICT, "last_owner", err.to_string());
        }
        BusinessError::NotFound => return ApiError::not_found("business"),
    };
    ApiError::validation(code, err.to_string())
}

pub(crate) fn service_error(err: &ServiceError) -> ApiError {
    let code = match err {
        ServiceError::NotFound => return ApiError::not_found("service"),
        ServiceError::Missing(_) => "missing_field",
        ServiceError::BadName => "invalid_name",
        ServiceError::OutOfRange { .. } => "out_of_range",
        ServiceError::Price(_) => "invalid_price",
    };
    ApiError::validation(code, err.to_string())
}

pub(crate) fn staff_error(err: &StaffError) -> ApiError {
    let code = match err {
        StaffError::NotFound => return ApiError::not_found("staff member"),
        StaffError::BadName => "invalid_name",
        StaffError::Hours(_) => "invalid_hours",
        StaffError::UnknownService(_) => "unknown_service",
    };
    ApiError::validation(code, err.to_string())
}

pub(crate) fn number_error(err: &NumberError) -> ApiError {
    match err {
        NumberError::NotE164(_) => ApiError::validation("invalid_number", err.to_string()),
        NumberError::MissingProviderId => ApiError::validation("missing_field", err.to_string()),
        NumberError::AlreadyInPool => {
            ApiError::new(StatusCode::CONFLICT, "number_exists", err.to_string())
        }
        NumberError::NotAvailable => {
            ApiError::new(StatusCode::CONFLICT, "number_unavailable", err.to_string())
        }
        NumberError::BusinessHasNumber => {
            ApiError::new(StatusCode::CONFLICT, "business_has_number", err.to_string())
        }
        NumberError::NotAssignedToBusiness | NumberError::UnknownNumber => {
            ApiError::not_found("phone number")
        }
    }
}

pub(crate) fn user_error(err: &UserError) -> ApiError {
    match err {
        UserError::BadEmail(_) => ApiError::validation("invalid_email", err.to_string()),
        UserError::WeakPassword => ApiError::validation("weak_password", err.to_string()),
        UserError::AlreadyRegistered => ApiError::new(
            StatusCode::CONFLICT,
            "email_taken",
            "this email is already registered",
        ),
        UserError::NotFound => ApiError::not_found("user"),
    }
}
