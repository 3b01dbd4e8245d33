//! Audit events and their list query.

use chrono::{DateTime, Utc};
use domain::audit::AuditEvent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::list_type;

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
