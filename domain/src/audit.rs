//! Audit trail of security-relevant actions: portal sessions created, exchanged, revoked,
//! logged out, rejected tokens, and every request made under an admin preview.

use chrono::{DateTime, Utc};

use crate::id;

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: String,
    pub tenant_id: crate::id::TenantId,
    pub occurred_at: DateTime<Utc>,
    /// e.g. `portal_session.created`.
    pub action: String,
    /// `api_key:<key id>`, `session:<session id>` or `login_code`.
    pub actor: String,
    pub customer_id: Option<String>,
    pub session_id: Option<String>,
    /// Free-form facts (route, reason…), never secrets.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl AuditEvent {
    pub fn new(tenant_id: &crate::id::TenantId, action: &str, actor: String) -> Self {
        Self {
            id: id::new_id(id::AUDIT_EVENT),
            tenant_id: tenant_id.clone(),
            occurred_at: crate::clock::now(),
            action: action.to_owned(),
            actor,
            customer_id: None,
            session_id: None,
            details: serde_json::Map::new(),
        }
    }

    /// What a portal session did: attributed to the session and its customer.
    pub fn by_session(session: &crate::portal_session::PortalSession, action: &str) -> Self {
        Self::new(
            &session.tenant_id,
            action,
            format!("session:{}", session.id),
        )
        .session(&session.customer_id, &session.id)
    }

    pub fn session(mut self, customer_id: &str, session_id: &str) -> Self {
        self.customer_id = Some(customer_id.to_owned());
        self.session_id = Some(session_id.to_owned());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub customer_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub mod actions {
    pub const SUBSCRIPTION_CANCELED: &str = "subscription.canceled";
    pub const SUBSCRIPTION_UNCANCELED: &str = "subscription.uncanceled";
    pub const SUBSCRIPTION_PAUSED: &str = "subscription.paused";
    pub const SUBSCRIPTION_RESUMED: &str = "subscription.resumed";
    pub const SUBSCRIPTION_PLAN_CHANGED: &str = "subscription.plan_changed";
    pub const SUBSCRIPTION_DISCOUNT_APPLIED: &str = "subscription.discount_applied";
    pub const SUBSCRIPTION_DISCOUNT_REMOVED: &str = "subscription.discount_removed";
    pub const SUBSCRIPTION_RETENTION_ACCEPTED: &str = "subscription.retention_offer_accepted";
    pub const INVOICE_PAID: &str = "invoice.paid";
    pub const INVOICE_REVISED: &str = "invoice.revised";
    pub const INVOICE_PAYMENT_REQUESTED: &str = "invoice.payment_requested";
    pub const PROFILE_UPDATED: &str = "customer.profile_updated";
    pub const PAYMENT_METHOD_DEFAULT_SET: &str = "payment_method.default_set";
    pub const PAYMENT_METHOD_DETACHED: &str = "payment_method.detached";
    pub const ALERT_CREATED: &str = "alert.created";
    pub const ALERT_DELETED: &str = "alert.deleted";
    pub const LICENSE_DEACTIVATED: &str = "license_key.activation_deactivated";
    pub const SESSION_CREATED: &str = "portal_session.created";
    pub const SESSION_EXCHANGED: &str = "portal_session.exchanged";
    pub const SESSION_REVOKED: &str = "portal_session.revoked";
    pub const SESSION_LOGGED_OUT: &str = "portal_session.logged_out";
    pub const TOKEN_REJECTED: &str = "portal_session.token_rejected";
    pub const PREVIEW_REQUEST: &str = "portal_session.preview_request";
}
