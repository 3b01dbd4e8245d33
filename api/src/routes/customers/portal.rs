use actix_web::web::Data;
use actix_web::{get, patch, HttpResponse};
use domain::actor::Actor;
use domain::customer::CustomerPatch;
use domain::id::parse;

use super::dto::{billing_patch, ProfilePatch, ProfileView};
use crate::error::ApiError;
use crate::extract::{section, JsonBody, PortalAuth};
use crate::state::AppState;

/// The session's customer profile (section `profile`).
#[utoipa::path(
    operation_id = "get_portal_customer",
    tag = "Portal: profile",
    security(("session_token" = [])),
    responses(
        (status = 200, body = ProfileView),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/customer")]
pub async fn get(
    state: Data<AppState>,
    portal: PortalAuth<section::Profile>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.customers.clone();
    let c = portal
        .run(move |session| svc.get(&session.tenant_id, &parse(&session.customer_id)?))
        .await?;
    Ok(HttpResponse::Ok().json(ProfileView::from(c)))
}

/// Update the profile, limited to the fields the session allows.
#[utoipa::path(
    operation_id = "update_portal_customer",
    tag = "Portal: profile",
    security(("session_token" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, body = ProfileView),
        (status = 403, description = "`section_disabled`, `read_only_session` (admin preview) or `field_not_allowed` (names the field)."),
    ),
)]
#[patch("/customer")]
pub async fn update(
    state: Data<AppState>,
    portal: PortalAuth<section::Profile>,
    body: JsonBody<ProfilePatch>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let patch = CustomerPatch {
        name: b.name,
        email: b.email,
        phone: b.phone,
        address: b.address.map(|a| a.map(Into::into)),
        billing: billing_patch(b.billing),
        auto_pay: b.auto_pay,
        timezone: b.timezone,
        locale: b.locale,
        ..Default::default()
    };
    let svc = state.customers.clone();
    let c = portal
        .run(move |session| {
            let (tenant, id) = (session.tenant_id.clone(), session.customer_id.clone());
            svc.update(&Actor::Customer(session), &tenant, &id, patch)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ProfileView::from(c)))
}
