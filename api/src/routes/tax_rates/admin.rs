use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{CreateTaxRate, ListTaxRates, TaxRateList, TaxRateView};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// Create a tax rate. Its percentage never changes; invoices keep a copy of what they applied.
#[utoipa::path(
    operation_id = "create_tax_rate",
    tag = "Taxes",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateTaxRate,
    responses(
        (status = 201, body = TaxRateView),
        (status = 422, description = "`validation_failed` (a percentage below 0, above 100 or with more than 4 places; a blank name; a country that is not two letters)."),
    ),
)]
#[post("/tax_rates")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateTaxRate>,
) -> Result<HttpResponse, ApiError> {
    let input = body.value.into();
    let (svc, tenant) = (state.taxes.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let rate = svc.create(&tenant, input)?;
        Ok((StatusCode::CREATED, TaxRateView::from(rate)))
    })
    .await
}

/// List the account's tax rates, newest first.
#[utoipa::path(
    operation_id = "list_tax_rates",
    tag = "Taxes",
    security(("api_key" = [])),
    params(ListTaxRates),
    responses((status = 200, body = TaxRateList)),
)]
#[get("/tax_rates")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListTaxRates>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.taxes.clone();
    let found = blocking(move || svc.list(&who.tenant_id, &q.filter(), &page)).await?;
    Ok(HttpResponse::Ok().json(TaxRateList::from(found.map(TaxRateView::from))))
}

/// Get a tax rate.
#[utoipa::path(
    operation_id = "get_tax_rate",
    tag = "Taxes",
    security(("api_key" = [])),
    params(paths::TaxRatePath),
    responses(
        (status = 200, body = TaxRateView),
        (status = 404, description = "`tax_rate_not_found`."),
    ),
)]
#[get("/tax_rates/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.taxes.clone();
    let rate = blocking(move || svc.get(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(TaxRateView::from(rate)))
}

/// Archive a tax rate: it stays on the invoices that used it, and where it is already a
/// plan's, a customer's or the account's default it keeps applying (as Stripe's do); it cannot
/// be given anew. Idempotent.
#[utoipa::path(
    operation_id = "archive_tax_rate",
    tag = "Taxes",
    security(("api_key" = [])),
    params(paths::TaxRatePath),
    responses(
        (status = 200, body = TaxRateView),
        (status = 404, description = "`tax_rate_not_found`."),
    ),
)]
#[post("/tax_rates/{id}/archive")]
pub async fn archive(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.taxes.clone();
    let rate = blocking(move || svc.archive(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(TaxRateView::from(rate)))
}
