use actix_web::web::Data;
use actix_web::{get, HttpResponse};

use super::dto::{report_rows, UsageQuery, UsageView, REPORT_HEADER};
use crate::error::ApiError;
use crate::extract::{section, PortalAuth, Query};
use crate::routes::common::CsvDocument;
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
    portal: PortalAuth<section::Usage>,
    Query(q): Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let report = report(&state, portal, q).await?;
    Ok(HttpResponse::Ok().json(UsageView::from(report)))
}

/// The session's customer's usage report for the query (the JSON view's and the CSV's).
async fn report(
    state: &AppState,
    portal: PortalAuth<section::Usage>,
    q: UsageQuery,
) -> Result<domain::usage::UsageReport, ApiError> {
    let (from, to, granularity) = q.resolve()?;
    let svc = state.usage.clone();
    portal
        .run(move |session| {
            svc.report(
                &session.customer(),
                from,
                to,
                granularity,
                q.feature.as_deref(),
            )
        })
        .await
}

/// Download the customer's usage over a window as CSV: one row per feature and bucket (hour or
/// day), zeros included (section `usage`; the query of `GET /v1/portal/usage`).
#[utoipa::path(
    operation_id = "export_portal_usage",
    tag = "Portal: usage",
    security(("session_token" = [])),
    params(UsageQuery),
    responses(
        (status = 200, description = "The usage, a header row first.", content_type = "text/csv", body = CsvDocument),
        (status = 403, description = "`section_disabled`."),
        (status = 422, description = "`validation_failed` (a window, range or granularity that is not valid)."),
    ),
)]
#[get("/usage/export")]
pub async fn export(
    state: Data<AppState>,
    portal: PortalAuth<section::Usage>,
    Query(q): Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut rows = report_rows(&report(&state, portal, q).await?);
    // One page: a window holds at most 30 days of hourly buckets per feature.
    crate::export::stream("usage.csv", REPORT_HEADER, move |_| {
        Ok((std::mem::take(&mut rows), None))
    })
    .await
}
