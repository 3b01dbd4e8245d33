use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, post, HttpRequest, HttpResponse};
use domain::actor::Actor;
use domain::id::parse;
use domain::scope::CustomerScope;

use super::dto::{AlertList, AlertView, CreateAlert};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody};
use crate::idempotency;
use crate::routes::paths;
use crate::state::AppState;

/// A customer's alerts (set by them in the portal or by the merchant), oldest first.
#[utoipa::path(
    operation_id = "list_customer_alerts",
    tag = "Alerts",
    security(("api_key" = [])),
    params(paths::CustomerPath),
    responses(
        (status = 200, body = AlertList),
        (status = 404, description = "`customer_not_found`."),
    ),
)]
#[get("/customers/{id}/alerts")]
pub async fn list(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.alerts.clone();
    let found =
        blocking(move || svc.of_known_customer(&CustomerScope::new(&who.tenant_id, &parse(&id)?)))
            .await?;
    Ok(HttpResponse::Ok().json(AlertList::from(found)))
}

/// Set an alert for a customer, as they could in the portal.
#[utoipa::path(
    operation_id = "create_customer_alert",
    tag = "Alerts",
    security(("api_key" = [])),
    params(paths::CustomerPath, ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateAlert,
    responses(
        (status = 201, body = AlertView),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`alert_limit_reached`: the customer has 25 alerts."),
        (status = 422, description = "`validation_failed` (a threshold that is not greater than 0, a feature the account does not have, a field the type does not take)."),
    ),
)]
#[post("/customers/{id}/alerts")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<CreateAlert>,
) -> Result<HttpResponse, ApiError> {
    let (svc, customer, input) = (
        state.alerts.clone(),
        CustomerScope::new(&who.tenant_id, &parse(&id)?),
        body.value,
    );
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let alert = svc.create(&customer, input.into_new()?, Actor::Merchant)?;
        Ok((StatusCode::CREATED, AlertView::from(alert)))
    })
    .await
}

/// Remove a customer's alert.
#[utoipa::path(
    operation_id = "delete_customer_alert",
    tag = "Alerts",
    security(("api_key" = [])),
    params(paths::CustomerPath, paths::CustomerAlertPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "`customer_not_found` (a malformed customer id) or `alert_not_found` (the customer has no such alert)."),
    ),
)]
#[delete("/customers/{id}/alerts/{alert_id}")]
pub async fn remove(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    ids: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (svc, (customer, alert)) = (state.alerts.clone(), ids.into_inner());
    blocking(move || {
        let owner = CustomerScope::new(&who.tenant_id, &parse(&customer)?);
        svc.delete(&owner, &parse(&alert)?, Actor::Merchant)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
