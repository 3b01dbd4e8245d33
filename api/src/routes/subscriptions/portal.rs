use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;
use domain::portal_session::Section;
use domain::ports::SubscriptionFilter;
use domain::services::subscriptions::Actor;

use super::dto::{CancelSubscription, SubscriptionList, SubscriptionView};
use crate::error::{blocking, ApiError, Problem};
use crate::extract::{JsonBody, PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::common::PageParams;
use crate::state::AppState;

/// The customer's subscriptions, newest first (section `subscriptions`).
#[utoipa::path(
    operation_id = "list_portal_subscriptions",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = SubscriptionList),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`."),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[get("/subscriptions")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    PortalAuth(session): PortalAuth,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Subscriptions)?;
    let page = portal_page(&state, &req, &session, q.limit, q.cursor.as_deref())?;
    let svc = state.subscriptions.clone();
    let found =
        blocking(move || svc.list(&session.scope(), &SubscriptionFilter::default(), &page)).await?;
    Ok(HttpResponse::Ok().json(SubscriptionList::from(found.map(SubscriptionView::from))))
}

/// One of the customer's subscriptions; another customer's is a 404.
#[utoipa::path(
    operation_id = "get_portal_subscription",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(("id" = String, Path, example = "sub_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`."),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`subscription_not_found`."),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[get("/subscriptions/{id}")]
pub async fn get(
    state: Data<AppState>,
    PortalAuth(session): PortalAuth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Subscriptions)?;
    let svc = state.subscriptions.clone();
    let s = blocking(move || svc.get(&session.scope(), &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Cancel one of the customer's subscriptions, if the session's `subscription_cancel`
/// permission allows it: at period end, or `immediately` when its mode is `immediately`.
/// Audited.
#[utoipa::path(
    operation_id = "cancel_portal_subscription",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(("id" = String, Path, example = "sub_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    request_body = CancelSubscription,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`subscription_not_found`."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`subscription_ended`."),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[post("/subscriptions/{id}/cancel")]
pub async fn cancel(
    state: Data<AppState>,
    PortalAuth(session): PortalAuth,
    id: Path<String>,
    body: JsonBody<CancelSubscription>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Subscriptions)?;
    let at = body.value.at()?;
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.cancel(
            &session.scope(),
            &parse(&id)?,
            at,
            Actor::Customer(&session),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Take back a cancellation at period end (permission `subscription_cancel`). Audited.
#[utoipa::path(
    operation_id = "uncancel_portal_subscription",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(("id" = String, Path, example = "sub_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`subscription_not_found`."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`subscription_ended`."),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[post("/subscriptions/{id}/uncancel")]
pub async fn uncancel(
    state: Data<AppState>,
    PortalAuth(session): PortalAuth,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Subscriptions)?;
    let svc = state.subscriptions.clone();
    let s =
        blocking(move || svc.uncancel(&session.scope(), &parse(&id)?, Actor::Customer(&session)))
            .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}
