use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, post, HttpResponse};
use domain::actor::Actor;
use domain::id::parse;

use super::dto::{AlertList, AlertView, CreateAlert};
use crate::error::ApiError;
use crate::extract::{section, JsonBody, PortalAuth};
use crate::routes::paths;
use crate::state::AppState;

/// The customer's alerts, oldest first (section `usage`).
#[utoipa::path(
    operation_id = "list_portal_alerts",
    tag = "Portal: alerts",
    security(("session_token" = [])),
    responses(
        (status = 200, body = AlertList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/alerts")]
pub async fn list(
    state: Data<AppState>,
    portal: PortalAuth<section::Usage>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.alerts.clone();
    let found = portal
        .run(move |session| svc.of_customer(&session.customer()))
        .await?;
    Ok(HttpResponse::Ok().json(AlertList::from(found)))
}

/// Set an alert on the customer's usage of a feature, spend or credit balance, if the
/// session's `alerts_manage` permission allows it. It fires once per crossing per period, as
/// webhook `alert.triggered` and an e-mail to the customer. Audited.
#[utoipa::path(
    operation_id = "create_portal_alert",
    tag = "Portal: alerts",
    security(("session_token" = [])),
    request_body = CreateAlert,
    responses(
        (status = 201, body = AlertView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 409, description = "`alert_limit_reached`: the customer has 25 alerts."),
        (status = 422, description = "`validation_failed` (a threshold that is not greater than 0, a feature the account does not have, a field the type does not take)."),
    ),
)]
#[post("/alerts")]
pub async fn create(
    state: Data<AppState>,
    portal: PortalAuth<section::Usage>,
    body: JsonBody<CreateAlert>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.alerts.clone();
    let alert = portal
        .run(move |session| {
            svc.create(
                &session.customer(),
                body.value.into_new()?,
                Actor::Customer(session),
            )
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(AlertView::from(alert)))
}

/// Remove one of the customer's alerts, if the session's `alerts_manage` permission allows
/// it. Audited.
#[utoipa::path(
    operation_id = "delete_portal_alert",
    tag = "Portal: alerts",
    security(("session_token" = [])),
    params(paths::AlertPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`alert_not_found`."),
    ),
)]
#[delete("/alerts/{id}")]
pub async fn remove(
    state: Data<AppState>,
    portal: PortalAuth<section::Usage>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.alerts.clone();
    portal
        .run(move |session| svc.delete(&session.customer(), &parse(&id)?, Actor::Customer(session)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
