use actix_web::web::Data;
use actix_web::{get, HttpResponse};

use super::dto::Branding;
use crate::error::{blocking, ApiError};
use crate::extract::{section, PortalVisitor};
use crate::state::AppState;
use domain::services::portal_sessions::Visitor;

/// The merchant's name, logo, colours and support contacts, for a portal frontend to render
/// (any session, whatever its sections, a guest's included).
#[utoipa::path(
    operation_id = "get_portal_branding",
    tag = "Portal: session",
    security(("session_token" = [])),
    responses((status = 200, body = Branding)),
)]
#[get("/branding")]
pub async fn branding(
    state: Data<AppState>,
    PortalVisitor(visitor, _): PortalVisitor<section::Any>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.accounts.clone();
    let tenant_id = match visitor {
        Visitor::Customer(s) => s.tenant_id,
        Visitor::Guest(g) => g.tenant_id,
    };
    let a = blocking(move || svc.get(&tenant_id)).await?;
    Ok(HttpResponse::Ok().json(Branding::from(a)))
}
