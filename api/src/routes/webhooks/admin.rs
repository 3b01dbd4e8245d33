use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, patch, post, HttpRequest, HttpResponse};
use domain::id::parse;
use domain::FieldError;

use super::dto::{
    CreateWebhookEndpoint, ListWebhookEvents, ReplayStarted, ReplayWebhooks, UpdateWebhookEndpoint,
    WebhookDeliveryList, WebhookDeliveryView, WebhookEndpointList, WebhookEndpointView,
    WebhookEndpointWithSecret, WebhookEventList, WebhookEventView, WebhookTest,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::PageParams;
use crate::routes::paths;
use crate::state::AppState;

/// Register an endpoint. The answer holds its signing secret, shown only this once. Every event
/// the endpoint subscribes to is POSTed to it, signed per Standard Webhooks (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`), retried on failure for about 38 hours.
#[utoipa::path(
    operation_id = "create_webhook_endpoint",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateWebhookEndpoint,
    responses(
        (status = 201, body = WebhookEndpointWithSecret),
        (status = 422, description = "`validation_failed` (URL not https or pointing at a private address, unknown event type)."),
    ),
)]
#[post("/webhook_endpoints")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateWebhookEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let (svc, tenant) = (state.webhooks.clone(), who.tenant_id.clone());
    let input = body.value.into();
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let e = svc.create(&tenant, input)?;
        Ok((StatusCode::CREATED, WebhookEndpointWithSecret::from(e)))
    })
    .await
}

/// List endpoints, newest first.
#[utoipa::path(
    operation_id = "list_webhook_endpoints",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(PageParams),
    responses((status = 200, body = WebhookEndpointList)),
)]
#[get("/webhook_endpoints")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.webhooks.clone();
    let found = blocking(move || svc.list(&who.tenant_id, &page)).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointList::from(
        found.map(WebhookEndpointView::from),
    )))
}

/// Get an endpoint (without its secret).
#[utoipa::path(
    operation_id = "get_webhook_endpoint",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEndpointPath),
    responses(
        (status = 200, body = WebhookEndpointView),
        (status = 404, description = "`webhook_endpoint_not_found`."),
    ),
)]
#[get("/webhook_endpoints/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.webhooks.clone();
    let e = blocking(move || svc.get(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointView::from(e)))
}

/// Change an endpoint's URL, description, event types or status.
#[utoipa::path(
    operation_id = "update_webhook_endpoint",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEndpointPath),
    request_body = UpdateWebhookEndpoint,
    responses(
        (status = 200, body = WebhookEndpointView),
        (status = 404, description = "`webhook_endpoint_not_found`."),
    ),
)]
#[patch("/webhook_endpoints/{id}")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<UpdateWebhookEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.value.into_patch()?;
    let svc = state.webhooks.clone();
    let e = blocking(move || svc.update(&who.tenant_id, &parse(&id)?, patch)).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointView::from(e)))
}

/// Delete an endpoint with its delivery log. Events already recorded stay in the catalogue.
#[utoipa::path(
    operation_id = "delete_webhook_endpoint",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEndpointPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`webhook_endpoint_not_found`."),
    ),
)]
#[delete("/webhook_endpoints/{id}")]
pub async fn delete(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.webhooks.clone();
    blocking(move || svc.delete(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret. The answer holds the new one, shown only this once; for 24 hours
/// deliveries carry a signature with each (`v1,<new> v1,<old>`), so the receiver can switch
/// without dropping any.
#[utoipa::path(
    operation_id = "rotate_webhook_endpoint_secret",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEndpointPath),
    responses(
        (status = 200, body = WebhookEndpointWithSecret),
        (status = 404, description = "`webhook_endpoint_not_found`."),
    ),
)]
#[post("/webhook_endpoints/{id}/rotate_secret")]
pub async fn rotate_secret(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.webhooks.clone();
    let e = blocking(move || svc.rotate_secret(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointWithSecret::from(e)))
}

/// Send a `ping` event to this endpoint only, enabled or not. Follow it in the delivery log.
#[utoipa::path(
    operation_id = "test_webhook_endpoint",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEndpointPath),
    responses(
        (status = 202, body = WebhookTest),
        (status = 404, description = "`webhook_endpoint_not_found`."),
    ),
)]
#[post("/webhook_endpoints/{id}/test")]
pub async fn test(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.webhooks.clone();
    let (ping, delivery) = blocking(move || svc.test(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Accepted().json(WebhookTest {
        event: ping.into(),
        delivery: delivery.into(),
    }))
}

/// The endpoint's deliveries, newest first, each with every attempt: status, HTTP status,
/// duration, the first bytes of the answer, and when the next attempt is due.
#[utoipa::path(
    operation_id = "list_webhook_deliveries",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEndpointPath, PageParams),
    responses(
        (status = 200, body = WebhookDeliveryList),
        (status = 404, description = "`webhook_endpoint_not_found`."),
    ),
)]
#[get("/webhook_endpoints/{id}/deliveries")]
pub async fn deliveries(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    id: Path<String>,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.webhooks.clone();
    let found = blocking(move || svc.deliveries(&who.tenant_id, &parse(&id)?, &page)).await?;
    Ok(HttpResponse::Ok().json(WebhookDeliveryList::from(
        found.map(WebhookDeliveryView::from),
    )))
}

/// Send the endpoint every event it subscribes to created since `since` again, as new
/// deliveries with the events' own `webhook-id`s (receivers that deduplicate skip what they
/// already have).
#[utoipa::path(
    operation_id = "replay_webhook_events",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEndpointPath),
    request_body = ReplayWebhooks,
    responses(
        (status = 202, body = ReplayStarted),
        (status = 404, description = "`webhook_endpoint_not_found`."),
        (status = 409, description = "`webhook_endpoint_disabled`."),
        (status = 422, description = "`validation_failed` (since missing or not within the last 30 days)."),
    ),
)]
#[post("/webhook_endpoints/{id}/replay")]
pub async fn replay(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<ReplayWebhooks>,
) -> Result<HttpResponse, ApiError> {
    let since = body
        .value
        .since
        .ok_or_else(|| ApiError::validation(vec![FieldError::new("since", "is required")]))?;
    let svc = state.webhooks.clone();
    let n = blocking(move || svc.replay(&who.tenant_id, &parse(&id)?, since)).await?;
    Ok(HttpResponse::Accepted().json(ReplayStarted { deliveries: n }))
}

/// Attempt a delivery again now, whatever its state (one attempt outside the schedule).
#[utoipa::path(
    operation_id = "retry_webhook_delivery",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookDeliveryPath),
    responses(
        (status = 202, body = WebhookDeliveryView),
        (status = 404, description = "`webhook_delivery_not_found`."),
        (status = 409, description = "`webhook_endpoint_disabled`."),
    ),
)]
#[post("/webhook_deliveries/{id}/retry")]
pub async fn retry(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.webhooks.clone();
    let d = blocking(move || svc.retry(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Accepted().json(WebhookDeliveryView::from(d)))
}

/// The events sent to webhooks (the catalogue), newest first.
#[utoipa::path(
    operation_id = "list_webhook_events",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(ListWebhookEvents),
    responses(
        (status = 200, body = WebhookEventList),
        (status = 422, description = "`validation_failed` (an unknown event type)."),
    ),
)]
#[get("/webhook_events")]
pub async fn events(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListWebhookEvents>,
) -> Result<HttpResponse, ApiError> {
    let event_type = q.event_type()?;
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.webhooks.clone();
    let found = blocking(move || svc.events(&who.tenant_id, event_type, &page)).await?;
    Ok(HttpResponse::Ok().json(WebhookEventList::from(found.map(WebhookEventView::from))))
}

/// Get an event with its payload.
#[utoipa::path(
    operation_id = "get_webhook_event",
    tag = "Webhooks",
    security(("api_key" = [])),
    params(paths::WebhookEventPath),
    responses(
        (status = 200, body = WebhookEventView),
        (status = 404, description = "`webhook_event_not_found`."),
    ),
)]
#[get("/webhook_events/{id}")]
pub async fn event(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.webhooks.clone();
    let e = blocking(move || svc.event(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(WebhookEventView::from(e)))
}
