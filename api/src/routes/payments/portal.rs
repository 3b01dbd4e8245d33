use actix_web::web::Data;
use actix_web::HttpRequest;
use actix_web::{get, HttpResponse};
use domain::portal_session::Section;
use domain::ports::PaymentFilter;

use crate::error::{blocking, ApiError, Problem};
use crate::extract::{PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::common::PageParams;
use crate::routes::payments::dto::{PaymentList, PaymentView};
use crate::state::AppState;

/// The customer's payment history, newest first (section `payments`).
#[utoipa::path(
    operation_id = "list_portal_payments",
    tag = "Portal: payments",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = PaymentList),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`."),
    ),
)]
#[get("/payments")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    PortalAuth(session): PortalAuth,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Payments)?;
    let page = portal_page(&state, &req, &session, q.limit, q.cursor.as_deref())?;
    let svc = state.payments.clone();
    let found =
        blocking(move || svc.list(&session.scope(), &PaymentFilter::default(), &page)).await?;
    Ok(HttpResponse::Ok().json(PaymentList::from(found.map(PaymentView::from))))
}
