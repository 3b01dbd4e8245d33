use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{render_pdf, CreateCreditNote, CreditNoteList, CreditNoteView, ListCreditNotes};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::invoices::dto::{pdf_http, PdfDocument};
use crate::routes::paths;
use crate::state::AppState;

/// Credit a finalized invoice: some of its lines or an amount of it, tax reversed in
/// proportion; the credit lowers what is due (`refund_to: none`), credits the customer's wallet
/// or refunds the payments, in the same transaction. The invoice's credit notes never sum to
/// more than its total. Sends `credit_note.created`.
#[utoipa::path(
    operation_id = "create_credit_note",
    tag = "Credit notes",
    security(("api_key" = [])),
    params(paths::InvoicePath, ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateCreditNote,
    responses(
        (status = 201, body = CreditNoteView),
        (status = 404, description = "`invoice_not_found`."),
        (status = 409, description = "`invoice_not_finalized` (a draft or a voided invoice)."),
        (status = 422, description = "`validation_failed`, naming the field: lines[i].invoice_line_id (not a line of this invoice), lines[i].amount or amount (more than is left to credit, or more decimals than the currency), refund_to (more than is due or paid, or no wallet in the currency), reason, memo."),
    ),
)]
#[post("/invoices/{id}/credit_notes")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<CreateCreditNote>,
) -> Result<HttpResponse, ApiError> {
    let input = body.value.into_domain()?;
    let (svc, tenant) = (state.credit_notes.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let note = svc.create(&tenant, &parse(&id)?, input.clone())?;
        Ok((StatusCode::CREATED, CreditNoteView::from(note)))
    })
    .await
}

/// List credit notes, newest first.
#[utoipa::path(
    operation_id = "list_credit_notes",
    tag = "Credit notes",
    security(("api_key" = [])),
    params(ListCreditNotes),
    responses((status = 200, body = CreditNoteList)),
)]
#[get("/credit_notes")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListCreditNotes>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.credit_notes.clone();
    let found = blocking(move || svc.list(&who.scope(), &q.filter(), &page)).await?;
    Ok(HttpResponse::Ok().json(CreditNoteList::from(found.map(CreditNoteView::from))))
}

/// Get a credit note.
#[utoipa::path(
    operation_id = "get_credit_note",
    tag = "Credit notes",
    security(("api_key" = [])),
    params(paths::CreditNotePath),
    responses(
        (status = 200, body = CreditNoteView),
        (status = 404, description = "`credit_note_not_found`."),
    ),
)]
#[get("/credit_notes/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.credit_notes.clone();
    let note = blocking(move || svc.get(&who.scope(), &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(CreditNoteView::from(note)))
}

/// Void a credit note that refunded nothing (`refund_to: none`): what it credited is due again.
/// Sends `credit_note.voided`.
#[utoipa::path(
    operation_id = "void_credit_note",
    tag = "Credit notes",
    security(("api_key" = [])),
    params(paths::CreditNotePath),
    responses(
        (status = 200, body = CreditNoteView),
        (status = 404, description = "`credit_note_not_found`."),
        (status = 409, description = "`credit_note_not_voidable` (already void, or it refunded to a wallet or a payment)."),
    ),
)]
#[post("/credit_notes/{id}/void")]
pub async fn void(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.credit_notes.clone();
    let note = blocking(move || svc.void(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(CreditNoteView::from(note)))
}

/// The credit note as a PDF.
#[utoipa::path(
    operation_id = "get_credit_note_pdf",
    tag = "Credit notes",
    security(("api_key" = [])),
    params(paths::CreditNotePath),
    responses(
        (status = 200, description = "The credit note PDF.", content_type = "application/pdf", body = PdfDocument),
        (status = 404, description = "`credit_note_not_found`."),
    ),
)]
#[get("/credit_notes/{id}/pdf")]
pub async fn pdf(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    Ok(pdf_http(
        blocking(move || render_pdf(&st, st.credit_notes.get(&who.scope(), &parse(&id)?)?)).await?,
    ))
}
