use actix_web::web::{Data, Path};
use actix_web::HttpRequest;
use actix_web::{get, post, HttpResponse};
use domain::id::parse;

use super::dto::{InvoiceSummary, OutstandingView, ReviseInvoice};
use crate::error::ApiError;
use crate::extract::{section, JsonBody, PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::common::CsvDocument;
use crate::routes::invoices::dto::InvoiceList;
use crate::routes::invoices::dto::{
    csv_export, pdf_http, render_pdf, ExportInvoices, InvoiceView, ListInvoices, PdfDocument,
};
use crate::routes::paths;
use crate::state::AppState;
use domain::actor::Actor;

/// The customer's invoices (drafts are never shown), newest first (section `invoices`).
#[utoipa::path(
    operation_id = "list_portal_invoices",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    params(ListInvoices),
    responses(
        (status = 200, body = InvoiceList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/invoices")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::Invoices>,
    Query(q): Query<ListInvoices>,
) -> Result<HttpResponse, ApiError> {
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.invoices.clone();
    let found = portal
        .run(move |session| svc.list(&session.scope(), &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(InvoiceList::from(found.map(InvoiceView::from))))
}

/// Download the customer's invoices the filters match (drafts never), every one, as CSV
/// (section `invoices`; RFC 4180, streamed, formula-safe).
#[utoipa::path(
    operation_id = "export_portal_invoices",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    params(ExportInvoices),
    responses(
        (status = 200, description = "The invoices, a header row first.", content_type = "text/csv", body = CsvDocument),
        (status = 403, description = "`section_disabled`."),
        (status = 422, description = "`validation_failed` (a malformed filter)."),
    ),
)]
#[get("/invoices/export")]
pub async fn export(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
    Query(q): Query<ExportInvoices>,
) -> Result<HttpResponse, ApiError> {
    let filter = q.filter()?;
    let scope = portal.session().await?.scope();
    csv_export(state.invoices.clone(), scope, filter).await
}

/// Outstanding and overdue amounts per currency.
#[utoipa::path(
    operation_id = "get_portal_invoice_summary",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    responses(
        (status = 200, body = InvoiceSummary),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/invoices/summary")]
pub async fn summary(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.invoices.clone();
    let rows = portal
        .run(move |session| svc.outstanding(&session.customer()))
        .await?;
    let data = rows.into_iter().map(OutstandingView::from).collect();
    Ok(HttpResponse::Ok().json(InvoiceSummary { data }))
}

/// One of the customer's invoices; a draft or another customer's invoice is a 404.
#[utoipa::path(
    operation_id = "get_portal_invoice",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    params(paths::InvoicePath),
    responses(
        (status = 200, body = InvoiceView),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`invoice_not_found`."),
    ),
)]
#[get("/invoices/{id}")]
pub async fn get(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let view = portal
        .run(move |session| {
            let (scope, id) = (session.scope(), parse(&id)?);
            let (invoice, notes) = st.invoices.get_with_credit_notes(&scope, &id)?;
            Ok(InvoiceView::from(invoice).with_credit_notes(notes))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Correct the billing details of one of the customer's issued invoices, once (section
/// `invoices`; the session's `profile_update` must allow `billing`). The amounts never change;
/// the PDF says "Revised" with the date; audited and in the activity history.
#[utoipa::path(
    operation_id = "revise_portal_invoice",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    params(paths::InvoicePath),
    request_body = ReviseInvoice,
    responses(
        (status = 200, body = InvoiceView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed` (the session may not change billing details)."),
        (status = 404, description = "`invoice_not_found` (another customer's too)."),
        (status = 409, description = "`invoice_not_finalized` or `invoice_already_revised`."),
        (status = 422, description = "`validation_failed`, naming the field."),
    ),
)]
#[post("/invoices/{id}/revise")]
pub async fn revise(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
    id: Path<String>,
    body: JsonBody<ReviseInvoice>,
) -> Result<HttpResponse, ApiError> {
    let billing = body.value.billing.into();
    let svc = state.invoices.clone();
    let i = portal
        .run(move |session| {
            svc.revise(
                &Actor::Customer(session),
                &session.scope(),
                &parse(&id)?,
                billing,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(InvoiceView::from(i)))
}

/// One of the customer's invoices as a PDF (section `invoices`).
#[utoipa::path(
    operation_id = "get_portal_invoice_pdf",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    params(paths::InvoicePath),
    responses(
        (status = 200, description = "The invoice PDF.", content_type = "application/pdf", body = PdfDocument),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`invoice_not_found`."),
    ),
)]
#[get("/invoices/{id}/pdf")]
pub async fn pdf(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    portal
        .run(move |session| {
            let i = st.invoices.get(&session.scope(), &parse(&id)?)?;
            render_pdf(&st, i)
        })
        .await
        .map(pdf_http)
}
