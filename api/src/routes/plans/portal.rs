use actix_web::web::Data;
use actix_web::{get, HttpRequest, HttpResponse};
use domain::portal_session::Section;

use super::dto::{PlanList, PlanView};
use crate::error::{blocking, ApiError, Problem};
use crate::extract::{PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::common::PageParams;
use crate::state::AppState;

/// The plans the customer may choose from (section `subscriptions`): public, active plans in
/// the currencies of the customer's wallets, or in any currency while the customer has none.
#[utoipa::path(
    operation_id = "list_portal_plans",
    tag = "Portal: plans",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = PlanList),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`."),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[get("/plans")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    PortalAuth(session): PortalAuth,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Subscriptions)?;
    let page = portal_page(&state, &req, &session, q.limit, q.cursor.as_deref())?;
    let svc = state.plans.clone();
    let found = blocking(move || svc.catalogue(&session.customer(), &page)).await?;
    Ok(HttpResponse::Ok().json(PlanList::from(found.map(PlanView::from))))
}
