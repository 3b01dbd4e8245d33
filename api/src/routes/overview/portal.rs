use actix_web::web::Data;
use actix_web::{get, HttpResponse};
use domain::services::overview::OverviewParts;

use super::dto::OverviewView;
use crate::error::ApiError;
use crate::extract::{section, PortalAuth};
use crate::state::AppState;

/// The dashboard in one call (section `overview`): wallets (section `credits`), outstanding and
/// overdue amounts (section `invoices`), the last 7 days of usage with cost (section `usage`),
/// running subscriptions with their next billing date (section `subscriptions`); parts whose
/// section is off are null.
#[utoipa::path(
    operation_id = "get_portal_overview",
    tag = "Portal: overview",
    security(("session_token" = [])),
    responses(
        (status = 200, body = OverviewView),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/overview")]
pub async fn overview(
    state: Data<AppState>,
    portal: PortalAuth<section::Overview>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.overview.clone();
    let o = portal
        .run(move |session| {
            let parts = OverviewParts {
                wallets: session.sections.credits,
                outstanding: session.sections.invoices,
                usage: session.sections.usage,
                subscriptions: session.sections.subscriptions,
            };
            svc.overview(&session.customer(), parts)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OverviewView::from(o)))
}
