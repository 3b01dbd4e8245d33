use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{CouponList, CouponView, CreateCoupon, ListCoupons};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// Create a coupon: a percentage, or an amount in one currency, off a subscription's invoices
/// for one, several or every billing period.
#[utoipa::path(
    operation_id = "create_coupon",
    tag = "Discounts",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateCoupon,
    responses(
        (status = 201, body = CouponView),
        (status = 422, description = "`validation_failed`, naming the field (both or neither of percent_off and amount_off, percent_off over 100, amount_off without its currency or past its minor unit, duration_in_periods without repeating, redeem_by in the past, plan_codes[i] that is no plan of the account)."),
    ),
)]
#[post("/coupons")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateCoupon>,
) -> Result<HttpResponse, ApiError> {
    let input = body.value.into();
    let (svc, tenant) = (state.discounts.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let coupon = svc.create_coupon(&tenant, input)?;
        Ok((StatusCode::CREATED, CouponView::from(coupon)))
    })
    .await
}

/// List the account's coupons, newest first.
#[utoipa::path(
    operation_id = "list_coupons",
    tag = "Discounts",
    security(("api_key" = [])),
    params(ListCoupons),
    responses((status = 200, body = CouponList)),
)]
#[get("/coupons")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListCoupons>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.discounts.clone();
    let found = blocking(move || svc.coupons(&who.tenant_id, &q.filter(), &page)).await?;
    Ok(HttpResponse::Ok().json(CouponList::from(found.map(CouponView::from))))
}

/// Get a coupon.
#[utoipa::path(
    operation_id = "get_coupon",
    tag = "Discounts",
    security(("api_key" = [])),
    params(paths::CouponPath),
    responses(
        (status = 200, body = CouponView),
        (status = 404, description = "`coupon_not_found`."),
    ),
)]
#[get("/coupons/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.discounts.clone();
    let coupon = blocking(move || svc.coupon(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(CouponView::from(coupon)))
}

/// Archive a coupon: no new redemptions of it or of its promotion codes; where it is applied
/// it keeps discounting for its duration. Idempotent.
#[utoipa::path(
    operation_id = "archive_coupon",
    tag = "Discounts",
    security(("api_key" = [])),
    params(paths::CouponPath),
    responses(
        (status = 200, body = CouponView),
        (status = 404, description = "`coupon_not_found`."),
    ),
)]
#[post("/coupons/{id}/archive")]
pub async fn archive(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.discounts.clone();
    let coupon = blocking(move || svc.archive_coupon(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(CouponView::from(coupon)))
}
