//! The routes the merchant's distributed software calls: no API key, the license key is the
//! credential. Each call is limited per client address and per key; a refused key is one
//! answer, 422 `license_invalid` with its reason, the same for a key that never existed.

use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::{post, HttpRequest, HttpResponse};

use super::dto::{
    ActivateLicense, DeactivateLicense, LicenseActivated, LicenseValidation, ValidateLicense,
};
use crate::error::{blocking, ApiError};
use crate::extract::{client_address, JsonBody};
use crate::state::AppState;

/// Limits a check of `key` from this client (the key's digest is the limiter's key: the key
/// itself is kept nowhere).
fn limited(state: &AppState, req: &HttpRequest, key: &str) -> Result<(), ApiError> {
    let digest = domain::license::digest(key).unwrap_or_default();
    state.limits.license(&client_address(req), &digest)
}

/// Check a license key (and, with `activation_id`, that this installation's activation is
/// live). Answers only about the key presented.
#[utoipa::path(
    operation_id = "validate_license",
    tag = "Licenses",
    request_body = ValidateLicense,
    responses(
        (status = 200, body = LicenseValidation),
        (status = 422, description = "`license_invalid` (its reason: unknown, disabled, expired or activation_unknown), or `validation_failed`."),
        (status = 429, description = "`rate_limited` (per client address and per key); see `Retry-After`."),
    ),
)]
#[post("/licenses/validate")]
pub async fn validate(
    state: Data<AppState>,
    req: HttpRequest,
    body: JsonBody<ValidateLicense>,
) -> Result<HttpResponse, ApiError> {
    let ask = body.value;
    limited(&state, &req, &ask.key)?;
    let svc = state.licenses.clone();
    let checked = blocking(move || svc.validate(&ask.key, ask.activation_id.as_deref())).await?;
    Ok(HttpResponse::Ok().json(LicenseValidation::from(checked)))
}

/// Register an installation of the key under a label, within the key's activation limit
/// (exact under concurrent activations). Keep the activation's id to validate and deactivate
/// with. Sends `license_key.activated`.
#[utoipa::path(
    operation_id = "activate_license",
    tag = "Licenses",
    request_body = ActivateLicense,
    responses(
        (status = 201, body = LicenseActivated),
        (status = 409, description = "`activation_limit_reached`: deactivate an installation first."),
        (status = 422, description = "`license_invalid` (reason unknown, disabled or expired), or `validation_failed` (a blank label or one over 200 characters)."),
        (status = 429, description = "`rate_limited` (per client address and per key); see `Retry-After`."),
    ),
)]
#[post("/licenses/activate")]
pub async fn activate(
    state: Data<AppState>,
    req: HttpRequest,
    body: JsonBody<ActivateLicense>,
) -> Result<HttpResponse, ApiError> {
    let ask = body.value;
    limited(&state, &req, &ask.key)?;
    let svc = state.licenses.clone();
    let done = blocking(move || svc.activate(&ask.key, &ask.label)).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(LicenseActivated::from(done)))
}

/// End an installation's activation, freeing it (allowed whatever the key's state). Sends
/// `license_key.deactivated`.
#[utoipa::path(
    operation_id = "deactivate_license",
    tag = "Licenses",
    request_body = DeactivateLicense,
    responses(
        (status = 204, description = "Deactivated."),
        (status = 422, description = "`license_invalid` (reason unknown, or activation_unknown for an activation of another key or one already deactivated)."),
        (status = 429, description = "`rate_limited` (per client address and per key); see `Retry-After`."),
    ),
)]
#[post("/licenses/deactivate")]
pub async fn deactivate(
    state: Data<AppState>,
    req: HttpRequest,
    body: JsonBody<DeactivateLicense>,
) -> Result<HttpResponse, ApiError> {
    let ask = body.value;
    limited(&state, &req, &ask.key)?;
    let svc = state.licenses.clone();
    blocking(move || svc.deactivate(&ask.key, &ask.activation_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
