use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{CreatePromotionCode, ListPromotionCodes, PromotionCodeList, PromotionCodeView};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// Create a promotion code for a coupon: what a customer types, with its own limits.
#[utoipa::path(
    operation_id = "create_promotion_code",
    tag = "Discounts",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreatePromotionCode,
    responses(
        (status = 201, body = PromotionCodeView),
        (status = 409, description = "`promotion_code_taken` (the account has the code, in some case)."),
        (status = 422, description = "`validation_failed`, naming the field (coupon_id unknown or archived, code malformed, customer_id unknown, max_redemptions below 1, expires_at in the past)."),
    ),
)]
#[post("/promotion_codes")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreatePromotionCode>,
) -> Result<HttpResponse, ApiError> {
    let input = body.value.into();
    let (svc, tenant) = (state.discounts.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let code = svc.create_promotion_code(&tenant, input)?;
        Ok((StatusCode::CREATED, PromotionCodeView::from(code)))
    })
    .await
}

/// List the account's promotion codes, newest first.
#[utoipa::path(
    operation_id = "list_promotion_codes",
    tag = "Discounts",
    security(("api_key" = [])),
    params(ListPromotionCodes),
    responses((status = 200, body = PromotionCodeList)),
)]
#[get("/promotion_codes")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListPromotionCodes>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.discounts.clone();
    let found = blocking(move || svc.promotion_codes(&who.tenant_id, &q.filter(), &page)).await?;
    Ok(HttpResponse::Ok().json(PromotionCodeList::from(found.map(PromotionCodeView::from))))
}

/// Get a promotion code.
#[utoipa::path(
    operation_id = "get_promotion_code",
    tag = "Discounts",
    security(("api_key" = [])),
    params(paths::PromotionCodePath),
    responses(
        (status = 200, body = PromotionCodeView),
        (status = 404, description = "`promotion_code_not_found`."),
    ),
)]
#[get("/promotion_codes/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.discounts.clone();
    let code = blocking(move || svc.promotion_code(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(PromotionCodeView::from(code)))
}

/// Deactivate a promotion code: it can no longer be redeemed. Idempotent.
#[utoipa::path(
    operation_id = "deactivate_promotion_code",
    tag = "Discounts",
    security(("api_key" = [])),
    params(paths::PromotionCodePath),
    responses(
        (status = 200, body = PromotionCodeView),
        (status = 404, description = "`promotion_code_not_found`."),
    ),
)]
#[post("/promotion_codes/{id}/deactivate")]
pub async fn deactivate(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.discounts.clone();
    let code =
        blocking(move || svc.deactivate_promotion_code(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(PromotionCodeView::from(code)))
}
