use actix_web::web::Data;
use actix_web::{get, HttpRequest, HttpResponse};
use domain::id;
use domain::page::Page;

use super::dto::{BillingRunList, BillingRunView, ListBillingRuns};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, Query};
use crate::pagination::admin_page;
use crate::state::AppState;

/// What billing did, newest first: each period boundary billed, each dunning retry, each
/// failure with its reason.
#[utoipa::path(
    operation_id = "list_billing_runs",
    tag = "Billing",
    security(("api_key" = [])),
    params(ListBillingRuns),
    responses((status = 200, body = BillingRunList)),
)]
#[get("/billing_runs")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListBillingRuns>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.billing.clone();
    // A filter, like every list filter: an unknown or malformed id matches nothing.
    let found = match id::filter(q.subscription_id.as_deref()) {
        Some(sub) => blocking(move || svc.runs(&who.tenant_id, sub.as_ref(), &page)).await?,
        None => Page::empty(),
    };
    Ok(HttpResponse::Ok().json(BillingRunList::from(found.map(BillingRunView::from))))
}
