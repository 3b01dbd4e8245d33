use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use domain::id::{parse, CustomerId};

use super::dto::{CheckEntitlement, CheckResult, EntitlementList, EntitlementView, Wanted};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody};
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

/// May the customer use `quantity` more of a feature now? With `consume: true`, also record
/// the use, atomically: the limit is evaluated under the lock of the period's counter and the
/// event recorded in the same transaction, so racing consumers never overspend. Reads one
/// counter row per feature.
#[utoipa::path(
    operation_id = "check_entitlement",
    tag = "Subscriptions",
    security(("api_key" = [])),
    request_body = CheckEntitlement,
    responses(
        (status = 200, body = CheckResult),
        (status = 404, description = "`customer_not_found` or `feature_not_found`."),
        (status = 409, description = "`event_id_reused`: the consume's event_id was recorded with a different customer, feature, quantity or properties; nothing stored."),
        (status = 422, description = "`validation_failed`, naming the field."),
    ),
)]
#[post("/entitlements/check")]
pub async fn check(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    body: JsonBody<CheckEntitlement>,
) -> Result<HttpResponse, ApiError> {
    let (customer, feature, wanted) = body.value.wanted()?;
    let svc = state.entitlements.clone();
    let answer = blocking(move || {
        let customer: CustomerId = parse(&customer)?;
        let theirs = who.customer(&customer);
        match wanted {
            Wanted::Check(quantity) => svc
                .check(&theirs, &feature, &quantity)
                .map(CheckResult::from),
            Wanted::Consume(c) => svc.consume(&theirs, c).map(CheckResult::from),
        }
    })
    .await?;
    // A consume records its event as ingestion does: counted the same way.
    match answer.event_status {
        Some("accepted") => state.metrics.usage_events(1, 0, 0),
        Some("duplicate") => state.metrics.usage_events(0, 1, 0),
        _ => {}
    }
    Ok(HttpResponse::Ok().json(answer))
}
