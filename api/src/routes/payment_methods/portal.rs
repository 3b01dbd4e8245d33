use actix_web::web::{Data, Path};
use actix_web::{delete, get, post, HttpRequest, HttpResponse};
use domain::id::parse;
use domain::payment_method::MethodFilter;
use domain::services::subscriptions::Actor;

use super::dto::{PaymentMethodList, PaymentMethodView, SetupLink};
use crate::error::ApiError;
use crate::extract::{section, PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::common::PageParams;
use crate::routes::paths;
use crate::state::AppState;

/// The customer's saved payment methods, newest first (section `payment_methods`). Detached
/// ones are not shown; expired cards show as `expired`.
#[utoipa::path(
    operation_id = "list_portal_payment_methods",
    tag = "Portal: payment methods",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = PaymentMethodList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/payment_methods")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::PaymentMethods>,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let svc = state.payment_methods.clone();
    let found = portal
        .run(move |session| svc.list(&session.customer(), &MethodFilter::default(), &page))
        .await?;
    Ok(HttpResponse::Ok().json(PaymentMethodList::from(found.map(PaymentMethodView::from))))
}

/// Make one of the customer's active methods the default, if the session's
/// `payment_method_manage` permission allows it. Audited.
#[utoipa::path(
    operation_id = "set_default_portal_payment_method",
    tag = "Portal: payment methods",
    security(("session_token" = [])),
    params(paths::PaymentMethodPath),
    responses(
        (status = 200, body = PaymentMethodView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`payment_method_not_found`."),
        (status = 409, description = "`payment_method_unusable` (expired or detached)."),
    ),
)]
#[post("/payment_methods/{id}/default")]
pub async fn make_default(
    state: Data<AppState>,
    portal: PortalAuth<section::PaymentMethods>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.payment_methods.clone();
    let m = portal
        .run(move |session| {
            svc.make_default(&session.customer(), &parse(&id)?, Actor::Customer(session))
        })
        .await?;
    Ok(HttpResponse::Ok().json(PaymentMethodView::from(m)))
}

/// Remove one of the customer's methods, if the session's `payment_method_manage` permission
/// allows it. Removing the default leaves none. Audited.
#[utoipa::path(
    operation_id = "delete_portal_payment_method",
    tag = "Portal: payment methods",
    security(("session_token" = [])),
    params(paths::PaymentMethodPath),
    responses(
        (status = 200, body = PaymentMethodView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`payment_method_not_found`."),
        (status = 409, description = "`payment_method_unusable` (already detached) or `payment_method_in_use` (the default method while the customer has auto-pay on)."),
    ),
)]
#[delete("/payment_methods/{id}")]
pub async fn delete(
    state: Data<AppState>,
    portal: PortalAuth<section::PaymentMethods>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.payment_methods.clone();
    let m = portal
        .run(move |session| svc.detach(&session.customer(), &parse(&id)?, Actor::Customer(session)))
        .await?;
    Ok(HttpResponse::Ok().json(PaymentMethodView::from(m)))
}

/// Hand the customer over to the merchant's page for adding a payment method (the account's
/// `payment_method_setup_url`), if the session's `payment_method_manage` permission allows it.
/// Card data is entered on the payment provider's page and never reaches this service; the
/// merchant's backend records the new method with the admin API.
#[utoipa::path(
    operation_id = "setup_portal_payment_method",
    tag = "Portal: payment methods",
    security(("session_token" = [])),
    responses(
        (status = 200, body = SetupLink),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 409, description = "`payment_method_setup_unavailable` (the account has no setup page)."),
    ),
)]
#[post("/payment_methods/setup")]
pub async fn setup(
    state: Data<AppState>,
    portal: PortalAuth<section::PaymentMethods>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.payment_methods.clone();
    let hand_off = portal.run(move |session| svc.setup(session)).await?;
    Ok(HttpResponse::Ok().json(SetupLink::from(hand_off)))
}
