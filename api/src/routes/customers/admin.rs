use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, patch, post, HttpRequest, HttpResponse};
use domain::actor::Actor;
use domain::id::parse;

use super::dto::{
    csv_row, CreateCustomer, CustomerList, CustomerView, ExportCustomers, ListCustomers,
    UpdateCustomer, CSV_HEADER,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::CsvDocument;
use crate::routes::paths;
use crate::state::AppState;

/// Create a customer.
#[utoipa::path(
    operation_id = "create_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateCustomer,
    responses(
        (status = 201, body = CustomerView),
        (status = 404, description = "`test_clock_not_found`."),
        (status = 409, description = "`external_id_taken`."),
        (status = 413),
        (status = 415),
    ),
)]
#[post("/customers")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let input = body.value.into_new()?;
    let (svc, tenant) = (state.customers.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let c = svc.create(&tenant, input)?;
        Ok((StatusCode::CREATED, CustomerView::from(c)))
    })
    .await
}

/// List customers, newest first, with search and filters.
#[utoipa::path(
    operation_id = "list_customers",
    tag = "Customers",
    security(("api_key" = [])),
    params(ListCustomers),
    responses(
        (status = 200, body = CustomerList),
    ),
)]
#[get("/customers")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListCustomers>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = ListCustomers::filter(
        q.q,
        q.email,
        q.status.as_deref(),
        q.created_from,
        q.created_to,
    )?;
    let svc = state.customers.clone();
    let customers = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(CustomerList::from(customers.map(CustomerView::from))))
}

/// Export the customers the list's filters match, every one, as CSV (RFC 4180, streamed; text
/// cells that a spreadsheet would run as a formula begin with `'`).
#[utoipa::path(
    operation_id = "export_customers",
    tag = "Customers",
    security(("api_key" = [])),
    params(ExportCustomers),
    responses(
        (status = 200, description = "The customers, a header row first.", content_type = "text/csv", body = CsvDocument),
        (status = 422, description = "`validation_failed` (a malformed filter)."),
    ),
)]
#[get("/customers/export")]
pub async fn export(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    Query(q): Query<ExportCustomers>,
) -> Result<HttpResponse, ApiError> {
    let f = (
        q.q,
        q.email,
        q.status.as_deref(),
        q.created_from,
        q.created_to,
    );
    let (filter, svc) = (
        ListCustomers::filter(f.0, f.1, f.2, f.3, f.4)?,
        state.customers.clone(),
    );
    crate::export::stream("customers.csv", CSV_HEADER, move |cursor| {
        let page = svc.list(&who.tenant_id, &filter, &crate::export::page(cursor)?)?;
        Ok(crate::export::sheet(page, csv_row))
    })
    .await
}

/// Get a customer by id.
#[utoipa::path(
    operation_id = "get_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(paths::CustomerPath),
    responses(
        (status = 200, body = CustomerView),
        (status = 404, description = "`customer_not_found`."),
    ),
)]
#[get("/customers/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.customers.clone();
    let c = blocking(move || svc.get(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}

/// Get a customer by the merchant's external id.
#[utoipa::path(
    operation_id = "get_customer_by_external_id",
    tag = "Customers",
    security(("api_key" = [])),
    params(paths::ExternalIdPath),
    responses(
        (status = 200, body = CustomerView),
        (status = 404, description = "`customer_not_found`."),
    ),
)]
#[get("/customers/external/{external_id}")]
pub async fn get_by_external_id(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    external_id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.customers.clone();
    let c = blocking(move || svc.get_by_external_id(&who.tenant_id, &external_id)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}

/// Update a customer. Archived customers cannot be changed (409 `customer_archived`).
#[utoipa::path(
    operation_id = "update_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(paths::CustomerPath),
    request_body = UpdateCustomer,
    responses(
        (status = 200, body = CustomerView),
        (status = 400),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`external_id_taken` or `customer_archived`."),
    ),
)]
#[patch("/customers/{id}")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<UpdateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.value.into_patch()?;
    let svc = state.customers.clone();
    let c =
        blocking(move || svc.update(&Actor::Merchant, &who.tenant_id, &parse(&id)?, patch)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}

/// Archive a customer: kept with its history, read-only, hidden from default lists, and moving
/// no money (subscriptions, invoices, top-ups, debits and payments answer 409
/// `customer_archived`; refunds, settling a pending payment and closing a wallet stay
/// possible). A customer with a running subscription is refused: cancel it first. Archiving an
/// archived customer returns it unchanged.
#[utoipa::path(
    operation_id = "archive_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(paths::CustomerPath),
    responses(
        (status = 200, body = CustomerView),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`customer_has_subscriptions`: a subscription still runs; cancel it first."),
    ),
)]
#[post("/customers/{id}/archive")]
pub async fn archive(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.customers.clone();
    let c = blocking(move || svc.archive(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}
