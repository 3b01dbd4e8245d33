use actix_web::web::Data;
use actix_web::{get, HttpRequest, HttpResponse};

use super::dto::{ActivityList, ActivityView, ListActivity};
use crate::error::ApiError;
use crate::extract::{section, PortalAuth, Query};
use crate::pagination::portal_page;
use crate::state::AppState;

/// What happened on the customer's account, newest first (section `activity`): payments and
/// failed payments, refunds, wallet top-ups, debits and expiries, invoices issued and voided,
/// and the changes the customer made here. Nothing of other customers, nothing admin-internal.
#[utoipa::path(
    operation_id = "list_portal_activity",
    tag = "Portal: activity",
    security(("session_token" = [])),
    params(ListActivity),
    responses(
        (status = 200, body = ActivityList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/activity")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::Activity>,
    Query(q): Query<ListActivity>,
) -> Result<HttpResponse, ApiError> {
    let filter = q.filter()?;
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let svc = state.activity.clone();
    let found = portal
        .run(move |session| svc.list(&session.customer(), &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ActivityList::from(found.map(ActivityView::from))))
}
