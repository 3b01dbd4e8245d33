use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, patch, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{CreatePlan, ListPlans, PlanList, PlanView, UpdatePlan};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// Create a plan. Its prices, currency, interval, charges and entitlements are fixed from now
/// on: existing subscribers never see them change. Sell new prices as a new plan.
#[utoipa::path(
    operation_id = "create_plan",
    tag = "Plans",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreatePlan,
    responses(
        (status = 201, body = PlanView),
        (status = 409, description = "`plan_code_taken`."),
        (status = 422, description = "`validation_failed` (with each field: unknown feature, tiers out of order, negative price, interval 0, …)."),
    ),
)]
#[post("/plans")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreatePlan>,
) -> Result<HttpResponse, ApiError> {
    let input = body.value.into_new()?;
    let (svc, tenant) = (state.plans.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let plan = svc.create(&tenant, input)?;
        Ok((StatusCode::CREATED, PlanView::from(plan)))
    })
    .await
}

/// List plans, newest first.
#[utoipa::path(
    operation_id = "list_plans",
    tag = "Plans",
    security(("api_key" = [])),
    params(ListPlans),
    responses((status = 200, body = PlanList)),
)]
#[get("/plans")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListPlans>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.plans.clone();
    let found = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(PlanList::from(found.map(PlanView::from))))
}

/// Get a plan.
#[utoipa::path(
    operation_id = "get_plan",
    tag = "Plans",
    security(("api_key" = [])),
    params(paths::PlanPath),
    responses(
        (status = 200, body = PlanView),
        (status = 404, description = "`plan_not_found`."),
    ),
)]
#[get("/plans/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.plans.clone();
    let plan = blocking(move || svc.get(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(PlanView::from(plan)))
}

/// Rename, describe, show or hide a plan, or change its trial for new subscriptions. What it
/// charges cannot change (unknown fields such as `amount` are refused).
#[utoipa::path(
    operation_id = "update_plan",
    tag = "Plans",
    security(("api_key" = [])),
    params(paths::PlanPath),
    request_body = UpdatePlan,
    responses(
        (status = 200, body = PlanView),
        (status = 404, description = "`plan_not_found`."),
    ),
)]
#[patch("/plans/{id}")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<UpdatePlan>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.value.into_patch()?;
    let svc = state.plans.clone();
    let plan = blocking(move || svc.update(&who.tenant_id, &parse(&id)?, patch)).await?;
    Ok(HttpResponse::Ok().json(PlanView::from(plan)))
}

/// Archive a plan: it leaves the catalogue and takes no new subscriptions. Archiving again
/// changes nothing.
#[utoipa::path(
    operation_id = "archive_plan",
    tag = "Plans",
    security(("api_key" = [])),
    params(paths::PlanPath),
    responses(
        (status = 200, body = PlanView),
        (status = 404, description = "`plan_not_found`."),
    ),
)]
#[post("/plans/{id}/archive")]
pub async fn archive(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.plans.clone();
    let plan = blocking(move || svc.archive(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(PlanView::from(plan)))
}
