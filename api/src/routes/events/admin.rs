use actix_web::web::Data;
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::usage::EventFilter;
use domain::usage::IncomingEvent;
use domain::ErrorCode;

use super::dto::{EventBatch, EventBody, EventList, EventView, IngestResult, ListEvents};
use crate::error::{blocking, ApiError};
use crate::extract::{nul_in_value, AdminKey, BatchBody, JsonBody, Query, NUL};
use crate::pagination::admin_page;
use crate::state::AppState;

/// Ingests events read from a request: each with its event_id (for the answer) and either
/// the event or why it could not be read. The batch rules live in `UsageService::ingest`.
async fn ingest(
    state: &AppState,
    tenant: domain::id::TenantId,
    events: Vec<(String, Result<IncomingEvent, String>)>,
) -> Result<IngestResult, ApiError> {
    let (ids, events): (Vec<String>, Vec<_>) = events.into_iter().unzip();
    let svc = state.usage.clone();
    let outcomes = blocking(move || svc.ingest(&tenant, events)).await?;
    let result = IngestResult::new(ids, outcomes);
    let r = &result;
    state
        .metrics
        .usage_events(r.accepted, r.duplicates, r.rejected);
    Ok(result)
}

/// Send one usage event. Answers after the event is committed; a repeated `event_id` is
/// reported as `duplicate` and not counted again. A rejected event → 422 with the reason.
#[utoipa::path(
    operation_id = "ingest_event",
    tag = "Usage",
    security(("api_key" = [])),
    request_body = EventBody,
    responses(
        (status = 200, body = IngestResult, description = "`accepted` or `duplicate`."),
        (status = 422, description = "`event_rejected` (unknown feature or customer, bad timestamp, missing value)."),
    ),
)]
#[post("/events")]
pub async fn send_event(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    body: JsonBody<EventBody>,
) -> Result<HttpResponse, ApiError> {
    let e = body.value;
    let r = ingest(
        &state,
        who.tenant_id,
        vec![(e.event_id.clone(), Ok(e.into()))],
    )
    .await?;
    if let Some(reason) = r.results[0].reason.clone() {
        return Err(ApiError::new(ErrorCode::EventRejected, reason));
    }
    Ok(HttpResponse::Ok().json(r))
}

/// Send 1 to 1,000 events. Valid events are stored even when others are rejected; each gets its
/// own result. Answers after the accepted events are committed.
#[utoipa::path(
    operation_id = "ingest_event_batch",
    tag = "Usage",
    security(("api_key" = [])),
    request_body = EventBatch,
    responses(
        (status = 200, body = IngestResult),
        (status = 413),
        (status = 422, description = "No events, or more than 1,000."),
    ),
)]
#[post("/events/batch")]
pub async fn send_batch(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    BatchBody(batch): BatchBody<EventBatch>,
) -> Result<HttpResponse, ApiError> {
    let events = batch
        .events
        .iter()
        .map(|raw| read_event(raw.get()))
        .collect();
    Ok(HttpResponse::Ok().json(ingest(&state, who.tenant_id, events).await?))
}

/// One event of a batch from its JSON text: its event_id (for the answer) and the event, or why
/// it could not be read. A well-formed event is read straight into its type; anything else
/// (and any text that may hold a NUL) is read as a JSON value first, to name what is wrong.
fn read_event(text: &str) -> (String, Result<IncomingEvent, String>) {
    // Without the escape there is no NUL (raw control characters are not valid JSON).
    if !text.contains("\\u0000") {
        if let Ok(e) = serde_json::from_str::<EventBody>(text) {
            return (e.event_id.clone(), Ok(e.into()));
        }
    }
    // The batch's parser checked the syntax, not the range of numbers (`1e400`).
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (String::new(), Err(format!("malformed event: {e}"))),
    };
    let id = v
        .get("event_id")
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .replace('\0', "");
    let read = match nul_in_value(&v) {
        Some(field) => Err(format!("malformed event: {field} {NUL}")),
        None => serde_json::from_value::<EventBody>(v)
            .map(IncomingEvent::from)
            .map_err(|e| format!("malformed event: {e}")),
    };
    (id, read)
}

/// Raw events, newest first.
#[utoipa::path(
    operation_id = "list_events",
    tag = "Usage",
    security(("api_key" = [])),
    params(ListEvents),
    responses(
        (status = 200, body = EventList),
    ),
)]
#[get("/events")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListEvents>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = EventFilter {
        customer_id: q.customer_id,
        feature: q.feature,
        from: q.from,
        to: q.to,
    };
    let svc = state.usage.clone();
    let found = blocking(move || svc.events(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(EventList::from(found.map(EventView::from))))
}
