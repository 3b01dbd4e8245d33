use actix_web::web::Data;
use actix_web::HttpRequest;
use actix_web::{get, HttpResponse};
use chrono::{DateTime, Utc};
use domain::audit::{AuditEvent, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list_type;
use crate::error::{blocking, ApiError, Problem};
use crate::extract::{AdminKey, Query};
use crate::pagination::admin_page;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    #[schema(example = "aud_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// `portal_session.created`, `.exchanged`, `.revoked`, `.logged_out`, `.token_rejected`,
    /// `.preview_request`.
    #[schema(example = "portal_session.created")]
    pub action: String,
    /// `api_key:<key id>`, `session:<session id>` or `login_code`.
    #[schema(example = "api_key:key_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub actor: String,
    pub customer_id: Option<String>,
    pub session_id: Option<String>,
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            action: e.action,
            actor: e.actor,
            customer_id: e.customer_id,
            session_id: e.session_id,
            details: e.details,
        }
    }
}

list_type!(AuditEventList, AuditEventView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListAuditEvents {
    pub customer_id: Option<String>,
    /// e.g. `portal_session.preview_request`.
    pub action: Option<String>,
    /// At or after (RFC 3339).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The account's audit log, newest first.
#[utoipa::path(
    operation_id = "list_audit_events",
    tag = "Audit",
    security(("api_key" = [])),
    params(ListAuditEvents),
    responses(
        (status = 200, body = AuditEventList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/audit_events")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListAuditEvents>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = AuditFilter {
        customer_id: q.customer_id,
        action: q.action,
        from: q.from,
        to: q.to,
    };
    let svc = state.audit.clone();
    let events = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(AuditEventList::from(events.map(AuditEventView::from))))
}
