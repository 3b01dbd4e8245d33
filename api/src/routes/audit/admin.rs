use actix_web::web::Data;
use actix_web::HttpRequest;
use actix_web::{get, HttpResponse};
use domain::audit::AuditFilter;

use super::dto::{AuditEventList, AuditEventView, ListAuditEvents};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, Query};
use crate::pagination::admin_page;
use crate::state::AppState;

/// The account's audit log, newest first.
#[utoipa::path(
    operation_id = "list_audit_events",
    tag = "Audit",
    security(("api_key" = [])),
    params(ListAuditEvents),
    responses(
        (status = 200, body = AuditEventList),
    ),
)]
#[get("/audit_events")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListAuditEvents>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = AuditFilter {
        customer_id: q.customer_id,
        action: q.action,
        from: q.from,
        to: q.to,
    };
    let svc = state.audit.clone();
    let events = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(AuditEventList::from(events.map(AuditEventView::from))))
}
