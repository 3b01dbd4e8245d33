use actix_web::web::{Data, Path};
use actix_web::{get, HttpResponse};
use domain::id::parse;

use super::dto::{event_row, ExportUsage, UsageQuery, UsageView, EVENTS_HEADER};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, Query};
use crate::routes::common::CsvDocument;
use crate::routes::paths;
use crate::state::AppState;

/// A customer's usage by feature over a window, from rollups: series and breakdown with cost.
#[utoipa::path(
    operation_id = "get_customer_usage",
    tag = "Usage",
    security(("api_key" = [])),
    params(paths::CustomerPath, UsageQuery),
    responses(
        (status = 200, body = UsageView),
        (status = 404, description = "`customer_not_found`."),
    ),
)]
#[get("/customers/{id}/usage")]
pub async fn customer_usage(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    Query(q): Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to, granularity) = q.resolve()?;
    let (svc, owner) = (state.usage.clone(), who.customer(&parse(&id)?));
    let report =
        blocking(move || svc.report(&owner, from, to, granularity, q.feature.as_deref())).await?;
    Ok(HttpResponse::Ok().json(UsageView::from(report)))
}

/// Export the raw usage events the filters match (the filters of `GET /v1/events`), every one,
/// as CSV (RFC 4180, streamed in constant memory; formula-safe).
#[utoipa::path(
    operation_id = "export_usage",
    tag = "Usage",
    security(("api_key" = [])),
    params(ExportUsage),
    responses(
        (status = 200, description = "The events, newest first, a header row first.", content_type = "text/csv", body = CsvDocument),
        (status = 422, description = "`validation_failed` (a start after the end, a malformed time)."),
    ),
)]
#[get("/usage/export")]
pub async fn export(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    Query(q): Query<ExportUsage>,
) -> Result<HttpResponse, ApiError> {
    let (filter, svc) = (q.filter()?, state.usage.clone());
    crate::export::stream("usage.csv", EVENTS_HEADER, move |cursor| {
        let page = svc.events(&who.tenant_id, &filter, &crate::export::page(cursor)?)?;
        Ok(crate::export::sheet(page, event_row))
    })
    .await
}
