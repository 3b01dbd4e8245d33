use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{ApiKeyList, ApiKeyView, CreateApiKey, CreatedApiKey};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::PageParams;
use crate::routes::paths;
use crate::state::AppState;

/// Create an API key for the caller's account.
#[utoipa::path(
    operation_id = "create_api_key",
    tag = "API keys",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateApiKey,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 401, description = "Missing or invalid API key."),
    ),
)]
#[post("/api_keys")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let (svc, tenant, name) = (
        state.api_keys.clone(),
        who.tenant_id.clone(),
        body.value.name,
    );
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let (key, plaintext) = svc.create(&tenant, &name)?;
        Ok((
            StatusCode::CREATED,
            CreatedApiKey {
                api_key: key.into(),
                key: plaintext,
            },
        ))
    })
    .await
}

/// List the account's API keys, newest first (prefixes only).
#[utoipa::path(
    operation_id = "list_api_keys",
    tag = "API keys",
    security(("api_key" = [])),
    params(PageParams),
    responses(
        (status = 200, body = ApiKeyList),
    ),
)]
#[get("/api_keys")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.api_keys.clone();
    let keys = blocking(move || svc.list(&who.tenant_id, &page)).await?;
    Ok(HttpResponse::Ok().json(ApiKeyList::from(keys.map(ApiKeyView::from))))
}

/// Revoke an API key. Requests with it fail from now on. Revoking a revoked key returns it
/// unchanged; the last active key cannot be revoked (409 `last_active_key`).
#[utoipa::path(
    operation_id = "revoke_api_key",
    tag = "API keys",
    security(("api_key" = [])),
    params(paths::ApiKeyPath),
    responses(
        (status = 200, body = ApiKeyView),
        (status = 404, description = "`api_key_not_found`."),
        (status = 409, description = "`last_active_key`."),
    ),
)]
#[delete("/api_keys/{id}")]
pub async fn revoke(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.api_keys.clone();
    let key = blocking(move || svc.revoke(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(ApiKeyView::from(key)))
}
