use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;

use super::dto::{EmailList, EmailView, ListEmails};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, Query};
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// List the messages sent or to be sent to the account's customers, newest first: to whom,
/// what, and how sending went (never the body).
#[utoipa::path(
    operation_id = "list_emails",
    tag = "E-mails",
    security(("api_key" = [])),
    params(ListEmails),
    responses(
        (status = 200, body = EmailList),
        (status = 422, description = "`validation_failed` (a malformed customer id, status or kind)."),
    ),
)]
#[get("/emails")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListEmails>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.emails.clone();
    let found = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(EmailList::from(found.map(EmailView::from))))
}

/// Get a message.
#[utoipa::path(
    operation_id = "get_email",
    tag = "E-mails",
    security(("api_key" = [])),
    params(paths::EmailPath),
    responses(
        (status = 200, body = EmailView),
        (status = 404, description = "`email_not_found`."),
    ),
)]
#[get("/emails/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.emails.clone();
    let email = blocking(move || svc.get(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(EmailView::from(email)))
}

/// Send a failed or unsent message again, with a fresh retry schedule. It keeps its
/// `Message-ID`, so a mail client shows a copy that did arrive as the same message.
#[utoipa::path(
    operation_id = "retry_email",
    tag = "E-mails",
    security(("api_key" = [])),
    params(paths::EmailPath),
    responses(
        (status = 200, body = EmailView),
        (status = 404, description = "`email_not_found`."),
        (status = 409, description = "`email_not_retryable`: the message is queued or sent, or this server has no SMTP server."),
    ),
)]
#[post("/emails/{id}/retry")]
pub async fn retry(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.emails.clone();
    let email = blocking(move || svc.retry(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(EmailView::from(email)))
}
