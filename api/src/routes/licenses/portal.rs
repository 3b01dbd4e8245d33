use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use domain::actor::Actor;
use domain::id::parse;

use super::dto::{LicenseKeyView, PortalLicenseKeyList};
use crate::error::ApiError;
use crate::extract::{section, PortalAuth};
use crate::routes::paths;
use crate::state::AppState;

/// The customer's license keys (the keys themselves, to copy), newest first, with their
/// activations (section `licenses`).
#[utoipa::path(
    operation_id = "list_portal_license_keys",
    tag = "Portal: licenses",
    security(("session_token" = [])),
    responses(
        (status = 200, body = PortalLicenseKeyList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/license_keys")]
pub async fn list(
    state: Data<AppState>,
    portal: PortalAuth<section::Licenses>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.licenses.clone();
    let found = portal
        .run(move |session| svc.of_customer(&session.customer()))
        .await?;
    Ok(HttpResponse::Ok().json(PortalLicenseKeyList {
        data: found.into_iter().map(LicenseKeyView::from).collect(),
    }))
}

/// Deactivate one of a key's activations, freeing it for another installation, if the
/// session's `license_manage` permission allows it. Sends `license_key.deactivated`. Audited.
#[utoipa::path(
    operation_id = "deactivate_portal_license_activation",
    tag = "Portal: licenses",
    security(("session_token" = [])),
    params(paths::LicenseKeyPath, paths::KeyActivationPath),
    responses(
        (status = 204, description = "Deactivated."),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`license_key_not_found` (not one of the customer's keys) or `activation_not_found` (no live activation of the key by that id)."),
    ),
)]
#[post("/license_keys/{id}/activations/{activation_id}/deactivate")]
pub async fn deactivate(
    state: Data<AppState>,
    portal: PortalAuth<section::Licenses>,
    ids: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (svc, (key, activation)) = (state.licenses.clone(), ids.into_inner());
    portal
        .run(move |session| {
            let (key, activation) = (parse(&key)?, parse(&activation)?);
            svc.release_activation(
                &session.customer(),
                &key,
                &activation,
                Actor::Customer(session),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
