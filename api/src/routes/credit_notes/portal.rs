use actix_web::web::{Data, Path};
use actix_web::{get, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{render_pdf, CreditNoteList, CreditNoteView, ListCreditNotes};
use crate::error::ApiError;
use crate::extract::{section, PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::invoices::dto::{pdf_http, PdfDocument};
use crate::routes::paths;
use crate::state::AppState;

/// The customer's credit notes, newest first (section `invoices`).
#[utoipa::path(
    operation_id = "list_portal_credit_notes",
    tag = "Portal: credit notes",
    security(("session_token" = [])),
    params(ListCreditNotes),
    responses(
        (status = 200, body = CreditNoteList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/credit_notes")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::Invoices>,
    Query(q): Query<ListCreditNotes>,
) -> Result<HttpResponse, ApiError> {
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let svc = state.credit_notes.clone();
    let found = portal
        .run(move |session| svc.list(&session.scope(), &q.filter(), &page))
        .await?;
    Ok(HttpResponse::Ok().json(CreditNoteList::from(found.map(CreditNoteView::from))))
}

/// One of the customer's credit notes; another customer's is a 404 (section `invoices`).
#[utoipa::path(
    operation_id = "get_portal_credit_note",
    tag = "Portal: credit notes",
    security(("session_token" = [])),
    params(paths::CreditNotePath),
    responses(
        (status = 200, body = CreditNoteView),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`credit_note_not_found`."),
    ),
)]
#[get("/credit_notes/{id}")]
pub async fn get(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.credit_notes.clone();
    let note = portal
        .run(move |session| svc.get(&session.scope(), &parse(&id)?))
        .await?;
    Ok(HttpResponse::Ok().json(CreditNoteView::from(note)))
}

/// One of the customer's credit notes as a PDF (section `invoices`).
#[utoipa::path(
    operation_id = "get_portal_credit_note_pdf",
    tag = "Portal: credit notes",
    security(("session_token" = [])),
    params(paths::CreditNotePath),
    responses(
        (status = 200, description = "The credit note PDF.", content_type = "application/pdf", body = PdfDocument),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`credit_note_not_found`."),
    ),
)]
#[get("/credit_notes/{id}/pdf")]
pub async fn pdf(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    portal
        .run(move |session| render_pdf(&st, st.credit_notes.get(&session.scope(), &parse(&id)?)?))
        .await
        .map(pdf_http)
}
