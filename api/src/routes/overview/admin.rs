use actix_web::web::{Data, Path};
use actix_web::{get, HttpResponse};
use domain::id::parse;
use domain::services::overview::OverviewParts;

use super::dto::OverviewView;
use crate::error::{blocking, ApiError};
use crate::extract::AdminKey;
use crate::routes::paths;
use crate::state::AppState;

/// The customer dashboard: wallets, outstanding amounts, 7-day usage and cost, running
/// subscriptions.
#[utoipa::path(
    operation_id = "get_customer_overview",
    tag = "Customers",
    security(("api_key" = [])),
    params(paths::CustomerPath),
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
    let owner = who.customer(&parse(&id)?);
    let o = blocking(move || svc.overview(&owner, all)).await?;
    Ok(HttpResponse::Ok().json(OverviewView::from(o)))
}
