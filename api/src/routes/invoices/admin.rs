use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, patch, post, HttpRequest, HttpResponse};
use domain::id::parse;
use domain::services::invoices::{InvoicePatch, NewInvoice};

use super::dto::{CreateInvoice, InvoiceList, ReviseInvoice, UpdateInvoice};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::CsvDocument;
use crate::routes::invoices::dto::{
    csv_export, lines, pdf_http, render_pdf, ExportInvoices, InvoiceView, ListInvoices, PdfDocument,
};
use crate::routes::paths;
use crate::state::AppState;
use domain::actor::Actor;

/// Create a draft invoice.
#[utoipa::path(
    operation_id = "create_invoice",
    tag = "Invoices",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateInvoice,
    responses(
        (status = 201, body = InvoiceView),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`customer_archived`."),
    ),
)]
#[post("/invoices")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateInvoice>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let input = NewInvoice {
        customer_id: b.customer_id,
        currency: b.currency,
        due_at: b.due_at,
        memo: b.memo,
        lines: lines(b.lines)?,
    };
    let (svc, tenant) = (state.invoices.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let i = svc.create(&tenant, input)?;
        Ok((StatusCode::CREATED, InvoiceView::from(i)))
    })
    .await
}

/// Search invoices, newest first.
#[utoipa::path(
    operation_id = "list_invoices",
    tag = "Invoices",
    security(("api_key" = [])),
    params(ListInvoices),
    responses(
        (status = 200, body = InvoiceList),
    ),
)]
#[get("/invoices")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListInvoices>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.invoices.clone();
    let found = blocking(move || svc.list(&who.scope(), &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(InvoiceList::from(found.map(InvoiceView::from))))
}

/// Export the invoices the list's filters match, every one, as CSV (RFC 4180, streamed; text
/// cells that a spreadsheet would run as a formula begin with `'`).
#[utoipa::path(
    operation_id = "export_invoices",
    tag = "Invoices",
    security(("api_key" = [])),
    params(ExportInvoices),
    responses(
        (status = 200, description = "The invoices, a header row first.", content_type = "text/csv", body = CsvDocument),
        (status = 422, description = "`validation_failed` (a malformed filter)."),
    ),
)]
#[get("/invoices/export")]
pub async fn export(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    Query(q): Query<ExportInvoices>,
) -> Result<HttpResponse, ApiError> {
    csv_export(state.invoices.clone(), who.scope(), q.filter()?).await
}

/// Get an invoice.
#[utoipa::path(
    operation_id = "get_invoice",
    tag = "Invoices",
    security(("api_key" = [])),
    params(paths::InvoicePath),
    responses(
        (status = 200, body = InvoiceView),
        (status = 404, description = "`invoice_not_found`."),
    ),
)]
#[get("/invoices/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let view = blocking(move || {
        let (scope, id) = (who.scope(), parse(&id)?);
        let (invoice, notes) = st.invoices.get_with_credit_notes(&scope, &id)?;
        Ok(InvoiceView::from(invoice).with_credit_notes(notes))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Edit a draft (finalized invoices are immutable: 409 `invoice_not_draft`).
#[utoipa::path(
    operation_id = "update_invoice",
    tag = "Invoices",
    security(("api_key" = [])),
    params(paths::InvoicePath),
    request_body = UpdateInvoice,
    responses(
        (status = 200, body = InvoiceView),
        (status = 404, description = "`invoice_not_found`."),
        (status = 409, description = "`invoice_not_draft`."),
    ),
)]
#[patch("/invoices/{id}")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<UpdateInvoice>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let patch = InvoicePatch {
        due_at: b.due_at,
        memo: b.memo,
        lines: b.lines.map(lines).transpose()?,
    };
    let svc = state.invoices.clone();
    let i = blocking(move || svc.update(&who.tenant_id, &parse(&id)?, patch)).await?;
    Ok(HttpResponse::Ok().json(InvoiceView::from(i)))
}

/// Delete a draft.
#[utoipa::path(
    operation_id = "delete_draft_invoice",
    tag = "Invoices",
    security(("api_key" = [])),
    params(paths::InvoicePath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`invoice_not_found`."),
        (status = 409, description = "`invoice_not_draft`."),
    ),
)]
#[delete("/invoices/{id}")]
pub async fn delete(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.invoices.clone();
    blocking(move || svc.delete(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Finalize a draft: assigns the next `INV-YYYYMM-NNNNN` number, freezes the totals, sets
/// `issued_at`.
#[utoipa::path(
    operation_id = "finalize_invoice",
    tag = "Invoices",
    security(("api_key" = [])),
    params(paths::InvoicePath),
    responses(
        (status = 200, body = InvoiceView),
        (status = 404, description = "`invoice_not_found`."),
        (status = 409, description = "`invoice_not_draft`, or `customer_archived`."),
        (status = 422, description = "`invoice_empty`."),
    ),
)]
#[post("/invoices/{id}/finalize")]
pub async fn finalize(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.invoices.clone();
    let i = blocking(move || svc.finalize(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(InvoiceView::from(i)))
}

/// Void a finalized invoice. Invoices with payments must be refunded first, and one with
/// credit notes cannot be voided while they stand.
#[utoipa::path(
    operation_id = "void_invoice",
    tag = "Invoices",
    security(("api_key" = [])),
    params(paths::InvoicePath),
    responses(
        (status = 200, body = InvoiceView),
        (status = 404, description = "`invoice_not_found`."),
        (status = 409, description = "`invoice_not_finalized`, `invoice_has_payments`, or `invoice_has_credit_notes` (void them, or credit the rest)."),
    ),
)]
#[post("/invoices/{id}/void")]
pub async fn void(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.invoices.clone();
    let i = blocking(move || svc.void(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(InvoiceView::from(i)))
}

/// Correct the billing details (legal name, tax ids, email, address) of an issued invoice,
/// once, as Paddle's "revise" does: the amounts never change, the PDF says "Revised" with the
/// date, and the customer's activity shows it.
#[utoipa::path(
    operation_id = "revise_invoice",
    tag = "Invoices",
    security(("api_key" = [])),
    params(paths::InvoicePath),
    request_body = ReviseInvoice,
    responses(
        (status = 200, body = InvoiceView),
        (status = 404, description = "`invoice_not_found`."),
        (status = 409, description = "`invoice_not_finalized` (a draft is edited instead; a void invoice is not revised) or `invoice_already_revised`."),
        (status = 422, description = "`validation_failed`, naming the field (billing.tax_ids[i].value for a number its scheme refuses)."),
    ),
)]
#[post("/invoices/{id}/revise")]
pub async fn revise(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<ReviseInvoice>,
) -> Result<HttpResponse, ApiError> {
    let billing = body.value.billing.into();
    let svc = state.invoices.clone();
    let i =
        blocking(move || svc.revise(&Actor::Merchant, &who.scope(), &parse(&id)?, billing)).await?;
    Ok(HttpResponse::Ok().json(InvoiceView::from(i)))
}

/// The invoice as a PDF. Drafts render with a DRAFT watermark.
#[utoipa::path(
    operation_id = "get_invoice_pdf",
    tag = "Invoices",
    security(("api_key" = [])),
    params(paths::InvoicePath),
    responses(
        (status = 200, description = "The invoice PDF.", content_type = "application/pdf", body = PdfDocument),
        (status = 404, description = "`invoice_not_found`."),
    ),
)]
#[get("/invoices/{id}/pdf")]
pub async fn pdf(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    Ok(pdf_http(
        blocking(move || render_pdf(&st, st.invoices.get(&who.scope(), &parse(&id)?)?)).await?,
    ))
}
