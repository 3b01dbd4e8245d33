use actix_web::web::{Data, Path};
use actix_web::{get, HttpResponse};
use domain::services::overview::OverviewParts;

use super::dto::OverviewView;
use crate::error::{blocking, ApiError};
use crate::extract::AdminKey;
use crate::state::AppState;

/// The customer dashboard: wallets, outstanding amounts, 7-day usage and cost, running
/// subscriptions.
#[utoipa::path(
    operation_id = "get_customer_overview",
    tag = "Customers",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = OverviewView),
        (status = 404, description = "`customer_not_found`."),
    ),
)]
#[get("/customers/{id}/overview")]
pub async fn customer_overview(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.overview.clone();
    let all = OverviewParts {
        wallets: true,
        outstanding: true,
        usage: true,
        subscriptions: true,
    };
    let o = blocking(move || svc.overview(&who.customer(&id), all)).await?;
    Ok(HttpResponse::Ok().json(OverviewView::from(o)))
}
