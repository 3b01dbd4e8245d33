use actix_web::web::{Data, Path};
use actix_web::{get, HttpResponse};
use domain::id::parse;

use super::dto::{UsageQuery, UsageView};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, Query};
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
