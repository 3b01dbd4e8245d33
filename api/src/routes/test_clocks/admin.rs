use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{
    clock_name, clock_time, AdvanceTestClock, CreateTestClock, TestClockList, TestClockView,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::PageParams;
use crate::routes::paths;
use crate::state::AppState;

/// Create a test clock. Customers created with `"test_clock": "<id>"` live in its time: their
/// subscriptions start, renew and dun only when the clock is advanced.
#[utoipa::path(
    operation_id = "create_test_clock",
    tag = "Test clocks",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateTestClock,
    responses(
        (status = 201, body = TestClockView),
    ),
)]
#[post("/test_clocks")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateTestClock>,
) -> Result<HttpResponse, ApiError> {
    let frozen = clock_time("frozen_time", body.value.frozen_time)?;
    let name = clock_name(body.value.name.clone())?;
    let (svc, tenant) = (state.billing.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let c = svc.create_clock(&tenant, name, frozen)?;
        Ok((StatusCode::CREATED, TestClockView::from(c)))
    })
    .await
}

/// List test clocks, newest first.
#[utoipa::path(
    operation_id = "list_test_clocks",
    tag = "Test clocks",
    security(("api_key" = [])),
    params(PageParams),
    responses((status = 200, body = TestClockList)),
)]
#[get("/test_clocks")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.billing.clone();
    let found = blocking(move || svc.clocks(&who.tenant_id, &page)).await?;
    Ok(HttpResponse::Ok().json(TestClockList::from(found.map(TestClockView::from))))
}

/// Get a test clock.
#[utoipa::path(
    operation_id = "get_test_clock",
    tag = "Test clocks",
    security(("api_key" = [])),
    params(paths::TestClockPath),
    responses(
        (status = 200, body = TestClockView),
        (status = 404, description = "`test_clock_not_found`."),
    ),
)]
#[get("/test_clocks/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.billing.clone();
    let c = blocking(move || svc.clock(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(TestClockView::from(c)))
}

/// Start moving the clock forward to `to`. The answer comes at once with `status: advancing`;
/// the billing workers then run, in time order and each at its own time, every renewal, trial
/// end, cancellation and dunning step due up to `to` for the clock's customers (other
/// customers are never touched), moving `frozen_time` as they go, and the clock turns `ready`
/// at `to`: poll `GET /v1/test_clocks/{id}`. One advance goes at most two intervals of the
/// shortest running subscription on the clock (two years with none). What happened is in
/// `/v1/billing_runs`.
#[utoipa::path(
    operation_id = "advance_test_clock",
    tag = "Test clocks",
    security(("api_key" = [])),
    params(paths::TestClockPath),
    request_body = AdvanceTestClock,
    responses(
        (status = 200, body = TestClockView, description = "The clock, `advancing` to `to`."),
        (status = 404, description = "`test_clock_not_found`."),
        (status = 409, description = "`test_clock_advancing`: an earlier advance is still running."),
        (status = 422, description = "`validation_failed` (the new time is not later than the clock's, or past what one advance may cover)."),
    ),
)]
#[post("/test_clocks/{id}/advance")]
pub async fn advance(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<AdvanceTestClock>,
) -> Result<HttpResponse, ApiError> {
    let to = clock_time("to", body.value.to)?;
    let svc = state.billing.clone();
    let c = blocking(move || svc.advance(&who.tenant_id, &parse(&id)?, to)).await?;
    // This node starts on it now; every node's worker picks up a clock left behind.
    actix_web::rt::spawn(crate::server::advance_clocks(state.clone()));
    Ok(HttpResponse::Ok().json(TestClockView::from(c)))
}
