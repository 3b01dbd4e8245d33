use actix_web::web::Data;
use actix_web::{get, HttpResponse};

use super::dto::{EntitlementList, EntitlementView};
use crate::error::ApiError;
use crate::extract::{section, PortalAuth};
use crate::state::AppState;

/// What the customer's plans include, per feature, with this period's use (section
/// `subscriptions`).
#[utoipa::path(
    operation_id = "list_portal_entitlements",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    responses(
        (status = 200, body = EntitlementList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/entitlements")]
pub async fn list(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.entitlements.clone();
    let found = portal
        .run(move |session| svc.of(&session.customer()))
        .await?;
    let data = found.into_iter().map(EntitlementView::from).collect();
    Ok(HttpResponse::Ok().json(EntitlementList { data }))
}
