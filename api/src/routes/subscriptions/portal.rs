use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;
use domain::services::subscriptions::{Actor, UnusedFee};
use domain::subscription::SubscriptionFilter;
use domain::ErrorCode;

use super::dto::{
    CancelSubscription, ChangePlan, PlanChangePreview, SubscriptionList, SubscriptionView,
    UpcomingInvoice,
};
use crate::error::ApiError;
use crate::extract::{section, JsonBody, PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::common::PageParams;
use crate::routes::paths;
use crate::state::AppState;

/// The customer's subscriptions, newest first (section `subscriptions`).
#[utoipa::path(
    operation_id = "list_portal_subscriptions",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = SubscriptionList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/subscriptions")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::Subscriptions>,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let svc = state.subscriptions.clone();
    let found = portal
        .run(move |session| {
            svc.list(&session.scope(), &SubscriptionFilter::default(), &page)
                .and_then(|p| svc.named_page(p))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionList::from(found.map(SubscriptionView::from))))
}

/// One of the customer's subscriptions; another customer's is a 404.
#[utoipa::path(
    operation_id = "get_portal_subscription",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`subscription_not_found`."),
    ),
)]
#[get("/subscriptions/{id}")]
pub async fn get(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = portal
        .run(move |session| {
            svc.get(&session.scope(), &parse(&id)?)
                .and_then(|s| svc.named_one(s))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Cancel one of the customer's subscriptions, if the session's `subscription_cancel`
/// permission allows it: at period end, or `immediately` when its mode is `immediately`.
/// Audited.
#[utoipa::path(
    operation_id = "cancel_portal_subscription",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    request_body = CancelSubscription,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[post("/subscriptions/{id}/cancel")]
pub async fn cancel(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
    body: JsonBody<CancelSubscription>,
) -> Result<HttpResponse, ApiError> {
    let how = body.value.choices()?;
    if how.unused != UnusedFee::None {
        // Refunds of unused time are the merchant's call, made with the admin API.
        return Err(ApiError::new(
            ErrorCode::ActionNotAllowed,
            "A portal cancellation cannot credit the unused fee.",
        ));
    }
    let svc = state.subscriptions.clone();
    let s = portal
        .run(move |session| {
            svc.cancel(
                &session.scope(),
                &parse(&id)?,
                how,
                Actor::Customer(session),
            )
            .and_then(|s| svc.named_one(s))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Take back a cancellation at period end (permission `subscription_cancel`). Audited.
#[utoipa::path(
    operation_id = "uncancel_portal_subscription",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[post("/subscriptions/{id}/uncancel")]
pub async fn uncancel(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = portal
        .run(move |session| {
            svc.uncancel(&session.scope(), &parse(&id)?, Actor::Customer(session))
                .and_then(|s| svc.named_one(s))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Change the plan of one of the customer's subscriptions to a public plan, if the session's
/// `plan_change` permission allows it (upgrades at once, downgrades at the period's end, as for
/// the admin route). Audited.
#[utoipa::path(
    operation_id = "change_portal_subscription_plan",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    request_body = ChangePlan,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`subscription_not_found` or `plan_not_found` (private plans included)."),
        (status = 409, description = "`subscription_ended`, `plan_archived` or `plan_contact_sales` (a \"Contact us\" plan: the merchant sells it)."),
        (status = 422, description = "`currency_mismatch`."),
    ),
)]
#[post("/subscriptions/{id}/change")]
pub async fn change(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
    body: JsonBody<ChangePlan>,
) -> Result<HttpResponse, ApiError> {
    let wanted = body.value.change()?;
    let svc = state.subscriptions.clone();
    let s = portal
        .run(move |session| {
            svc.change_plan(
                &session.scope(),
                &parse(&id)?,
                wanted,
                Actor::Customer(session),
            )
            .and_then(|s| svc.named_one(s))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// What changing to a public plan would do now, without doing it.
#[utoipa::path(
    operation_id = "preview_portal_subscription_plan_change",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    request_body = ChangePlan,
    responses(
        (status = 200, body = PlanChangePreview),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`subscription_not_found` or `plan_not_found`."),
        (status = 409, description = "`subscription_ended`, `plan_archived` or `plan_contact_sales` (a \"Contact us\" plan: the merchant sells it)."),
        (status = 422, description = "`currency_mismatch`."),
    ),
)]
#[post("/subscriptions/{id}/change/preview")]
pub async fn change_preview(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
    body: JsonBody<ChangePlan>,
) -> Result<HttpResponse, ApiError> {
    let wanted = body.value.change()?;
    let svc = state.subscriptions.clone();
    let p = portal
        .run(move |session| {
            svc.preview_change(
                &session.scope(),
                &parse(&id)?,
                &wanted,
                Actor::Customer(session),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlanChangePreview::from(p)))
}

/// The estimated next charge: the upcoming invoice as it stands now.
#[utoipa::path(
    operation_id = "get_portal_subscription_upcoming_invoice",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = UpcomingInvoice),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[get("/subscriptions/{id}/upcoming_invoice")]
pub async fn upcoming_invoice(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.billing.clone();
    let u = portal
        .run(move |session| svc.upcoming(&session.scope(), &parse(&id)?))
        .await?;
    Ok(HttpResponse::Ok().json(UpcomingInvoice::from(u)))
}
