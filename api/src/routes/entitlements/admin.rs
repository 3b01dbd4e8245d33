use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use domain::id::{parse, CustomerId};
use domain::FieldError;

use super::dto::{CheckEntitlement, CheckResult, EntitlementList, EntitlementView};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody};
use crate::routes::common::decimal;
use crate::routes::paths;
use crate::state::AppState;

/// What the customer's running subscriptions grant, per feature, with this period's use.
#[utoipa::path(
    operation_id = "get_customer_entitlements",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::CustomerPath),
    responses(
        (status = 200, body = EntitlementList),
        (status = 404, description = "`customer_not_found`."),
    ),
)]
#[get("/customers/{id}/entitlements")]
pub async fn list(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.entitlements.clone();
    let found = blocking(move || {
        let customer: CustomerId = parse(&id)?;
        svc.of(&who.customer(&customer))
    })
    .await?;
    let data = found.into_iter().map(EntitlementView::from).collect();
    Ok(HttpResponse::Ok().json(EntitlementList { data }))
}

/// May the customer use `quantity` more of a feature now? For gating features in a hot path:
/// one read of the customer's subscriptions, their plans and this period's hourly rollups.
#[utoipa::path(
    operation_id = "check_entitlement",
    tag = "Subscriptions",
    security(("api_key" = [])),
    request_body = CheckEntitlement,
    responses(
        (status = 200, body = CheckResult),
        (status = 404, description = "`customer_not_found`."),
    ),
)]
#[post("/entitlements/check")]
pub async fn check(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    body: JsonBody<CheckEntitlement>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let quantity = match b.quantity.as_deref() {
        Some(q) => decimal("quantity", q)?,
        None => bigdecimal::BigDecimal::from(1),
    };
    if quantity < 0 {
        return Err(ApiError::validation(vec![FieldError::new(
            "quantity",
            "must not be negative",
        )]));
    }
    let svc = state.entitlements.clone();
    let answer = blocking(move || {
        let customer: CustomerId = parse(&b.customer_id)?;
        svc.check(&who.customer(&customer), &b.feature, &quantity)
    })
    .await?;
    Ok(HttpResponse::Ok().json(CheckResult::from(answer)))
}
