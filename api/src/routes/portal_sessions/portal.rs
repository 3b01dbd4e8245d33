use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::{delete, get, post, HttpRequest, HttpResponse};

use super::dto::{AskLoginLink, ExchangeCode, ExchangedToken, LoginLinkAsked};
use crate::error::{blocking, ApiError};
use crate::extract::{client_address, section, JsonBody, PortalVisitor};
use crate::routes::portal_sessions::dto::SessionView;
use crate::state::AppState;
use domain::portal_session::EndReason;
use domain::services::portal_sessions::Visitor;

/// Self sign-in: a customer asks for a sign-in link by e-mail. If the account allows it
/// (`self_sign_in`) and has active customers with this e-mail, each gets a message with a
/// single-use link (valid an hour) to a new session with the account's default sections and
/// permissions. The answer is 202 whatever the address, and comes before any lookup, so neither
/// it nor its timing tells whether the e-mail is a customer's.
#[utoipa::path(
    operation_id = "ask_portal_login_link",
    tag = "Portal: session",
    request_body = AskLoginLink,
    responses(
        (status = 202, body = LoginLinkAsked),
        (status = 422, description = "`validation_failed`: a malformed account id or e-mail."),
        (status = 429, description = "`rate_limited` (per client address and per e-mail); see `Retry-After`."),
    ),
)]
#[post("/login_links")]
pub async fn ask_login_link(
    state: Data<AppState>,
    req: HttpRequest,
    body: JsonBody<AskLoginLink>,
) -> Result<HttpResponse, ApiError> {
    let ask = body.value;
    ask.check()?;
    state.limits.login_link(&client_address(&req), &ask.email)?;
    let svc = state.portal.clone();
    actix_web::rt::spawn(async move {
        let sent = blocking(move || svc.send_login_links(&ask.account_id, &ask.email)).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e.detail, "self sign-in failed");
        }
    });
    Ok(HttpResponse::Accepted().json(LoginLinkAsked {
        message: "If a customer of this account has this e-mail, a sign-in link is on its way.",
    }))
}

/// Exchange the single-use login code from a session's `url` for the session token. A code
/// works once, for 10 minutes; of simultaneous exchanges exactly one succeeds.
#[utoipa::path(
    operation_id = "exchange_portal_login_code",
    tag = "Portal: session",
    request_body = ExchangeCode,
    responses(
        (status = 200, body = ExchangedToken),
        (status = 401, description = "`invalid_login_code` (unknown, used or expired), or the session has ended (`session_revoked`, `session_expired`)."),
        // Login-code exchanges are limited per address; the route carries no credential, so
        // the limit is not implied by its shape.
        (status = 429, description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[post("/session/exchange")]
pub async fn exchange(
    state: Data<AppState>,
    req: HttpRequest,
    body: JsonBody<ExchangeCode>,
) -> Result<HttpResponse, ApiError> {
    state.limits.exchange(&client_address(&req))?;
    let svc = state.portal.clone();
    let code = body.value.code;
    let (visitor, token) = blocking(move || svc.exchange(&code)).await?;
    state.metrics.session("exchanged");
    let session = SessionView::from(visitor);
    Ok(HttpResponse::Ok().json(ExchangedToken {
        token,
        expires_at: session.expires_at,
        session,
    }))
}

/// The current session: customer, mode, expiry, idle expiry, sections, permissions, return URL
/// (a guest session too: no customer, mode `guest`).
#[utoipa::path(
    operation_id = "get_portal_session",
    tag = "Portal: session",
    security(("session_token" = [])),
    responses(
        (status = 200, body = SessionView),
        (status = 401, description = "`invalid_token`, `session_expired` or `session_revoked`."),
    ),
)]
#[get("/session")]
pub async fn current(PortalVisitor(visitor, _): PortalVisitor<section::Any>) -> HttpResponse {
    HttpResponse::Ok().json(SessionView::from(visitor))
}

/// Log out: the session ends and its token stops working. Under an admin preview this ends the
/// preview only (audited with its mode); the customer's own sessions are untouched.
#[utoipa::path(
    operation_id = "end_portal_session",
    tag = "Portal: session",
    security(("session_token" = [])),
    responses(
        (status = 204, description = "Logged out."),
    ),
)]
#[delete("/session")]
pub async fn logout(
    state: Data<AppState>,
    PortalVisitor(visitor, _): PortalVisitor<section::Any>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.portal.clone();
    blocking(move || match visitor {
        Visitor::Customer(session) => svc.logout(&session),
        Visitor::Guest(g) => svc
            .end_guest(&g.tenant_id, &g.id, EndReason::LoggedOut)
            .map(|_| ()),
    })
    .await?;
    state.metrics.session("revoked");
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}
