use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, post, HttpRequest, HttpResponse};
use domain::id::{parse, CustomerId};
use domain::page::Page;
use domain::portal_session::{CustomerRef, EndReason, NewSession};
use domain::services::api_keys::Principal;
use domain::FieldError;

use super::dto::{
    CreatePortalSession, CreatedPortalSession, ListSessions, PortalLink, PortalLinkSent,
    SendPortalLink, SessionList,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::routes::portal_sessions::dto::SessionView;
use crate::state::AppState;

/// Create a portal session for one customer, or with `guest: true` a guest session without a
/// customer (a pricing or checkout page): it reads only the public plans catalogue, the
/// branding and itself; every other portal route answers it 403 `guest_session`.
#[utoipa::path(
    operation_id = "create_portal_session",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreatePortalSession,
    responses(
        (status = 201, body = CreatedPortalSession),
        (status = 404, description = "`customer_not_found` (also for another account's customer)."),
        (status = 409, description = "`customer_archived`."),
    ),
)]
#[post("/portal_sessions")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreatePortalSession>,
) -> Result<HttpResponse, ApiError> {
    state.limits.session_create(&who.key_id)?;
    let b = body.value;
    if b.guest == Some(true) {
        return create_guest(state, who, req, body.raw, b).await;
    }
    let asked = b.into_asked()?;
    let (svc, accounts, metrics) = (
        state.portal.clone(),
        state.accounts.clone(),
        state.metrics.clone(),
    );
    let principal = who.clone();
    idempotency::run(&state, &who, &req, &body.raw, move || {
        // What the body leaves out comes from the account's defaults.
        let account = accounts.get(&principal.tenant_id)?;
        let created = svc.create(&principal, asked.clone().over(&account))?;
        metrics.session("created");
        Ok((StatusCode::CREATED, CreatedPortalSession::from(created)))
    })
    .await
}

/// A guest session: only `return_url` and `expires_in_seconds` apply.
async fn create_guest(
    state: Data<AppState>,
    who: Principal,
    req: HttpRequest,
    raw: actix_web::web::Bytes,
    b: CreatePortalSession,
) -> Result<HttpResponse, ApiError> {
    let misplaced: Vec<FieldError> = [
        ("customer_id", b.customer_id.is_some()),
        ("external_customer_id", b.external_customer_id.is_some()),
        ("idle_timeout_seconds", b.idle_timeout_seconds.is_some()),
        ("invalidate_existing", b.invalidate_existing.is_some()),
        ("mode", b.mode.is_some()),
        ("sections", b.sections.is_some()),
        ("permissions", b.permissions.is_some()),
    ]
    .into_iter()
    .filter(|(_, given)| *given)
    .map(|(field, _)| FieldError::new(field, "is not used with guest: true"))
    .collect();
    if !misplaced.is_empty() {
        return Err(ApiError::validation(misplaced));
    }
    let (svc, metrics) = (state.portal.clone(), state.metrics.clone());
    let principal = who.clone();
    idempotency::run(&state, &who, &req, &raw, move || {
        let created = svc.create_guest(&principal, b.return_url, b.expires_in_seconds)?;
        metrics.session("created");
        Ok((StatusCode::CREATED, CreatedPortalSession::from(created)))
    })
    .await
}

/// Flexprice-compatible shortcut: a session with the account's default sections and
/// permissions (`PATCH /v1/account`) for a customer given by
/// external id (`token`, `url`, `expires_at`; one hour; older sessions end).
#[utoipa::path(
    operation_id = "create_portal_link_by_external_id",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(paths::ExternalIdPath),
    responses(
        (status = 200, body = PortalLink),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`customer_archived`."),
    ),
)]
#[get("/customers/portal/{external_id}")]
pub async fn shortcut(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    external_id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.limits.session_create(&who.key_id)?;
    let customer = CustomerRef::ExternalId(external_id.into_inner());
    let (svc, accounts) = (state.portal.clone(), state.accounts.clone());
    let created = blocking(move || {
        let (sections, permissions) = accounts.get(&who.tenant_id)?.settings.session_defaults();
        let input = NewSession {
            sections,
            permissions,
            ..NewSession::new(customer)
        };
        svc.create(&who, input)
    })
    .await?;
    state.metrics.session("created");
    Ok(HttpResponse::Ok().json(PortalLink {
        token: created.token,
        url: created.url,
        expires_at: created.session.expires_at,
    }))
}

/// List a customer's open sessions, newest first.
#[utoipa::path(
    operation_id = "list_portal_sessions",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(ListSessions),
    responses(
        (status = 200, body = SessionList),
    ),
)]
#[get("/portal_sessions")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListSessions>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.portal.clone();
    // A malformed customer id matches nothing, as an unknown one.
    let sessions = match CustomerId::parse(&q.customer_id) {
        Some(customer) => blocking(move || svc.list_open(&who.tenant_id, &customer, &page)).await?,
        None => Page::empty(),
    };
    Ok(HttpResponse::Ok().json(SessionList::from(sessions.map(SessionView::from))))
}

/// Revoke a session: its token and login code stop working at once. Idempotent.
#[utoipa::path(
    operation_id = "revoke_portal_session",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(paths::PortalSessionPath),
    responses(
        (status = 200, body = SessionView),
        (status = 404, description = "`portal_session_not_found`."),
    ),
)]
#[delete("/portal_sessions/{id}")]
pub async fn revoke(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.portal.clone();
    // Guest sessions have their own ids (`gs_…`).
    let ended = blocking(move || match id.starts_with(domain::id::GUEST_SESSION) {
        true => svc
            .end_guest(&who.tenant_id, &parse(&id)?, EndReason::Revoked)
            .map(SessionView::from),
        false => svc.revoke(&who, &parse(&id)?).map(SessionView::from),
    })
    .await?;
    state.metrics.session("revoked");
    Ok(HttpResponse::Ok().json(ended))
}

/// E-mail the customer a link to their portal: creates a session (the account's default
/// sections and permissions for what the body leaves out) and sends its single-use URL to the
/// customer's address. The session and the message are written together; the URL is never in
/// the answer.
#[utoipa::path(
    operation_id = "send_portal_link",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(paths::CustomerPath, ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = SendPortalLink,
    responses(
        (status = 202, body = PortalLinkSent),
        (status = 404, description = "`customer_not_found` (also for another account's customer)."),
        (status = 409, description = "`customer_archived`, `customer_has_no_email`, or `email_disabled` (the account switched portal link e-mails off)."),
        (status = 422, description = "`validation_failed`, naming the field."),
    ),
)]
#[post("/customers/{id}/portal_link")]
pub async fn send_link(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<SendPortalLink>,
) -> Result<HttpResponse, ApiError> {
    state.limits.session_create(&who.key_id)?;
    let asked = body.value.into_asked(id.into_inner())?;
    let (svc, accounts, principal) = (state.portal.clone(), state.accounts.clone(), who.clone());
    let metrics = state.metrics.clone();
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let account = accounts.get(&principal.tenant_id)?;
        let (created, email) = svc.send_link(&principal, asked.clone().over(&account))?;
        metrics.session("created");
        Ok((StatusCode::ACCEPTED, PortalLinkSent::new(created, email)))
    })
    .await
}
