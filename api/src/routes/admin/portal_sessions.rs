use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, post, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::portal_session::{CustomerRef, NewSession};
use domain::services::portal_sessions::CreatedSession;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list_type;
use crate::error::{blocking, ApiError, Problem};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::session_dto::{ModeBody, PermissionsBody, SectionsBody, SessionView};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_customer_id": "acme-42", "return_url": "https://shop.test/account",
    "expires_in_seconds": 3600, "idle_timeout_seconds": 900,
    "sections": {"payments": {"enabled": false}},
    "permissions": {"profile_update": {"allowed_fields": ["email", "phone"]}}}))]
pub struct CreatePortalSession {
    /// The customer, by id…
    pub customer_id: Option<String>,
    /// …or by the merchant's external id (exactly one of the two).
    pub external_customer_id: Option<String>,
    /// Where the portal's "back" link leads.
    pub return_url: Option<String>,
    /// 60 to 86400, default 3600.
    pub expires_in_seconds: Option<i64>,
    /// Optional sliding idle window (≥ 60, ≤ expires_in_seconds).
    pub idle_timeout_seconds: Option<i64>,
    /// End the customer's other open sessions (default true). Ignored for admin previews.
    pub invalidate_existing: Option<bool>,
    /// Default `customer`.
    pub mode: Option<ModeBody>,
    pub sections: Option<SectionsBody>,
    pub permissions: Option<PermissionsBody>,
}

/// A new session. `token` is for the merchant's backend or frontend; `url` is for the
/// customer's browser and carries a single-use login code (10 minutes), never the token.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPortalSession {
    #[serde(flatten)]
    pub session: SessionView,
    #[schema(example = "v4.local.xxxxxxxx")]
    pub token: String,
    #[schema(
        example = "http://localhost:3000/portal?code=q8wJ2mXk9Pz4Lr7Tn1Vb6Yc3Hd5Fg0Se2aB4cD6eF8g"
    )]
    pub url: String,
}

impl From<CreatedSession> for CreatedPortalSession {
    fn from(c: CreatedSession) -> Self {
        Self {
            session: c.session.into(),
            token: c.token,
            url: c.url,
        }
    }
}

/// The Flexprice-compatible shortcut's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalLink {
    pub token: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

list_type!(SessionList, SessionView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListSessions {
    /// The customer whose open sessions to list.
    pub customer_id: String,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Create a portal session for one customer.
#[utoipa::path(
    operation_id = "create_portal_session",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreatePortalSession,
    responses(
        (status = 201, body = CreatedPortalSession),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found` (also for another account's customer)."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`customer_archived` or `idempotency_key_in_use`."),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
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
    let customer = match (b.customer_id, b.external_customer_id) {
        (Some(id), None) => CustomerRef::Id(id),
        (None, Some(ext)) => CustomerRef::ExternalId(ext),
        _ => {
            return Err(ApiError::validation(vec![FieldError::new(
                "customer_id",
                "give exactly one of customer_id and external_customer_id",
            )]))
        }
    };
    let defaults = NewSession::new(customer);
    let input = NewSession {
        return_url: b.return_url,
        expires_in_seconds: b.expires_in_seconds,
        idle_timeout_seconds: b.idle_timeout_seconds,
        invalidate_existing: b
            .invalidate_existing
            .unwrap_or(defaults.invalidate_existing),
        mode: b.mode.map(Into::into).unwrap_or(defaults.mode),
        sections: b.sections.map(Into::into).unwrap_or(defaults.sections),
        permissions: b
            .permissions
            .map(Into::into)
            .unwrap_or(defaults.permissions),
        ..defaults
    };
    let svc = state.portal.clone();
    let principal = who.clone();
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let created = svc.create(&principal, input)?;
        Ok((StatusCode::CREATED, CreatedPortalSession::from(created)))
    })
    .await
}

/// Flexprice-compatible shortcut: a session with default settings for a customer given by
/// external id (`token`, `url`, `expires_at`; one hour; older sessions end).
#[utoipa::path(
    operation_id = "create_portal_link_by_external_id",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(("external_id" = String, Path, example = "acme-42")),
    responses(
        (status = 200, body = PortalLink),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found`."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`customer_archived`."),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[get("/customers/portal/{external_id}")]
pub async fn shortcut(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    external_id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.limits.session_create(&who.key_id)?;
    let input = NewSession::new(CustomerRef::ExternalId(external_id.into_inner()));
    let svc = state.portal.clone();
    let created = blocking(move || svc.create(&who, input)).await?;
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
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
    let sessions = blocking(move || svc.list_open(&who.tenant_id, &q.customer_id, &page)).await?;
    Ok(HttpResponse::Ok().json(SessionList::from(sessions.map(SessionView::from))))
}

/// Revoke a session: its token and login code stop working at once. Idempotent.
#[utoipa::path(
    operation_id = "revoke_portal_session",
    tag = "Portal sessions",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "ps_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = SessionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`portal_session_not_found`."),
    ),
)]
#[delete("/portal_sessions/{id}")]
pub async fn revoke(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.portal.clone();
    let session = blocking(move || svc.revoke(&who, &id)).await?;
    Ok(HttpResponse::Ok().json(SessionView::from(session)))
}
