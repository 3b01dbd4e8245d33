use actix_web::web::Data;
use actix_web::{get, HttpResponse};

use super::dto::{UsageQuery, UsageView};
use crate::error::{blocking, ApiError};
use crate::extract::{section, PortalAuth, Query};
use crate::state::AppState;

/// The customer's usage by feature: a graph series and a breakdown with cost (section `usage`).
#[utoipa::path(
    operation_id = "get_portal_usage",
    tag = "Portal: usage",
    security(("session_token" = [])),
    params(UsageQuery),
    responses(
        (status = 200, body = UsageView),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/usage")]
pub async fn usage(
    state: Data<AppState>,
    PortalAuth(session, _): PortalAuth<section::Usage>,
    Query(q): Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to, granularity) = q.resolve()?;
    let svc = state.usage.clone();
    let report = blocking(move || {
        svc.report(
            &session.customer(),
            from,
            to,
            granularity,
            q.feature.as_deref(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(UsageView::from(report)))
}
