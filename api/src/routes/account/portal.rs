use actix_web::web::Data;
use actix_web::{get, HttpResponse};

use super::dto::Branding;
use crate::error::{blocking, ApiError};
use crate::extract::PortalAuth;
use crate::state::AppState;

/// The merchant's name, logo, colours and support contacts, for a portal frontend to render
/// (any session, whatever its sections).
#[utoipa::path(
    operation_id = "get_portal_branding",
    tag = "Portal: session",
    security(("session_token" = [])),
    responses((status = 200, body = Branding)),
)]
#[get("/branding")]
pub async fn branding(
    state: Data<AppState>,
    PortalAuth(session): PortalAuth,
) -> Result<HttpResponse, ApiError> {
    let svc = state.accounts.clone();
    let a = blocking(move || svc.get(&session.tenant_id)).await?;
    Ok(HttpResponse::Ok().json(Branding::from(a)))
}
