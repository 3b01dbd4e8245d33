use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{CreateLicenseKey, LicenseKeyList, LicenseKeyView, ListLicenseKeys};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// Issue a license key to a customer by hand (keys of plans that issue them come with their
/// subscriptions). The answer carries the key. Sends `license_key.created`.
#[utoipa::path(
    operation_id = "create_license_key",
    tag = "License keys",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateLicenseKey,
    responses(
        (status = 201, body = LicenseKeyView),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`customer_archived`."),
        (status = 422, description = "`validation_failed` (an activation limit outside 1–100000, an expiry that is not in the future)."),
    ),
)]
#[post("/license_keys")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateLicenseKey>,
) -> Result<HttpResponse, ApiError> {
    let (svc, input, tenant) = (state.licenses.clone(), body.value, who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let key = svc.create(&tenant, input.into_new()?)?;
        Ok((
            StatusCode::CREATED,
            LicenseKeyView::from(svc.get(&tenant, &key.id)?),
        ))
    })
    .await
}

/// List the account's license keys, newest first, with their activations.
#[utoipa::path(
    operation_id = "list_license_keys",
    tag = "License keys",
    security(("api_key" = [])),
    params(ListLicenseKeys),
    responses(
        (status = 200, body = LicenseKeyList),
        (status = 422, description = "`validation_failed` (a malformed customer or subscription id)."),
    ),
)]
#[get("/license_keys")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListLicenseKeys>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.licenses.clone();
    let found = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(LicenseKeyList::from(found.map(LicenseKeyView::from))))
}

/// Get a license key with its activations.
#[utoipa::path(
    operation_id = "get_license_key",
    tag = "License keys",
    security(("api_key" = [])),
    params(paths::LicenseKeyPath),
    responses(
        (status = 200, body = LicenseKeyView),
        (status = 404, description = "`license_key_not_found`."),
    ),
)]
#[get("/license_keys/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.licenses.clone();
    let key = blocking(move || svc.get(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(LicenseKeyView::from(key)))
}

/// Disable a license key: validating or activating it answers `license_invalid` (reason
/// `disabled`) until it is enabled again; its activations stay. Sends `license_key.disabled`
/// (once). Disabling a disabled key changes nothing.
#[utoipa::path(
    operation_id = "disable_license_key",
    tag = "License keys",
    security(("api_key" = [])),
    params(paths::LicenseKeyPath),
    responses(
        (status = 200, body = LicenseKeyView),
        (status = 404, description = "`license_key_not_found`."),
    ),
)]
#[post("/license_keys/{id}/disable")]
pub async fn disable(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.licenses.clone();
    let key = blocking(move || svc.disable(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(LicenseKeyView::from(key)))
}

/// Enable a disabled license key again (an expired key stays expired).
#[utoipa::path(
    operation_id = "enable_license_key",
    tag = "License keys",
    security(("api_key" = [])),
    params(paths::LicenseKeyPath),
    responses(
        (status = 200, body = LicenseKeyView),
        (status = 404, description = "`license_key_not_found`."),
    ),
)]
#[post("/license_keys/{id}/enable")]
pub async fn enable(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.licenses.clone();
    let key = blocking(move || svc.enable(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(LicenseKeyView::from(key)))
}
