//! Webhook endpoints, events and deliveries as clients send and see them.

use chrono::{DateTime, Utc};
use domain::webhook::{
    DeliveryAttempt, EndpointPatch, EndpointStatus, EventType, NewEndpoint, WebhookDelivery,
    WebhookEndpoint, WebhookEvent,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::{list_type, present, Fields};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.acme.test/billing",
    "description": "ERP sync",
    "event_types": ["invoice.finalized", "payment.succeeded"]
}))]
pub struct CreateWebhookEndpoint {
    /// Where events are POSTed: `https` (plain `http` and private addresses only when the server
    /// allows insecure targets, for development).
    pub url: String,
    pub description: Option<String>,
    /// The event types to receive; left out or `null`: all of them.
    pub event_types: Option<Vec<String>>,
}

impl From<CreateWebhookEndpoint> for NewEndpoint {
    fn from(b: CreateWebhookEndpoint) -> Self {
        Self {
            url: b.url,
            description: b.description,
            event_types: b.event_types,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "disabled"}))]
pub struct UpdateWebhookEndpoint {
    pub url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `null`: all event types.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Option<Vec<String>>>,
    /// `enabled` or `disabled`. Disabling fails the pending deliveries; enabling starts afresh.
    #[schema(value_type = Option<crate::schema::EndpointStatus>)]
    pub status: Option<String>,
}

impl UpdateWebhookEndpoint {
    pub fn into_patch(self) -> Result<EndpointPatch, crate::error::ApiError> {
        let mut fields = Fields::default();
        let status = self
            .status
            .as_deref()
            .map(|s| fields.variant("status", Some(s), EndpointStatus::Enabled));
        fields.done(EndpointPatch {
            url: self.url,
            description: self.description,
            event_types: self.event_types,
            status,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointView {
    #[schema(example = "we_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// `null`: every event type.
    pub event_types: Option<Vec<String>>,
    /// `enabled` or `disabled`.
    #[schema(value_type = crate::schema::EndpointStatus)]
    pub status: String,
    /// Why it is disabled: `manual`, `gone` (it answered 410) or `failing` (every attempt failed
    /// for 5 days).
    #[schema(value_type = Option<crate::schema::DisabledReason>)]
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs (a second `v1,` signature).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed; null while deliveries succeed.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookEndpointView {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.into(),
            url: e.url,
            description: e.description,
            event_types: e
                .event_types
                .map(|t| t.iter().map(|t| t.as_str().to_owned()).collect()),
            status: e.status.as_str().to_owned(),
            disabled_reason: e.disabled_reason.map(|r| r.as_str().to_owned()),
            previous_secret_expires_at: e.previous_secret_expires_at,
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint with its signing secret: only in the answers to creating it and to rotating the
/// secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// `whsec_<base64>`: verify each delivery's `webhook-signature` with it (any Standard
    /// Webhooks library does). Shown only now.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<WebhookEndpoint> for WebhookEndpointWithSecret {
    fn from(e: WebhookEndpoint) -> Self {
        let secret = e.secret.clone();
        Self {
            endpoint: e.into(),
            secret,
        }
    }
}

list_type!(WebhookEndpointList, WebhookEndpointView);

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEventView {
    /// Also the `webhook-id` header of every delivery of this event.
    #[schema(example = "msg_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "invoice.finalized")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// The body every delivery sends.
    #[schema(value_type = WebhookPayload)]
    pub payload: serde_json::Value,
}

/// The JSON body of a delivery (Standard Webhooks' `{type, timestamp, data}`, with the id).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    /// The same as the `webhook-id` header.
    #[schema(example = "msg_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "invoice.paid")]
    pub event_type: String,
    /// When the change happened (in its transaction).
    pub timestamp: DateTime<Utc>,
    /// The object's id, its customer and the fields a receiver acts on, as they stood after the
    /// change (e.g. `invoice_id`, `customer_id`, `status`, `amount_due`). Fetch the object by id
    /// for the rest.
    pub data: std::collections::BTreeMap<String, serde_json::Value>,
}

impl From<WebhookEvent> for WebhookEventView {
    fn from(e: WebhookEvent) -> Self {
        Self {
            id: e.id.into(),
            event_type: e.event_type.as_str().to_owned(),
            created_at: e.created_at,
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

list_type!(WebhookEventList, WebhookEventView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListWebhookEvents {
    /// Only events of this type, e.g. `invoice.finalized`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListWebhookEvents {
    pub fn event_type(&self) -> Result<Option<EventType>, crate::error::ApiError> {
        let mut fields = Fields::default();
        let t = self.event_type.as_deref().map(|t| {
            fields.one_of(
                "type",
                Some(t),
                EventType::Ping,
                EventType::parse,
                "a known event type",
            )
        });
        fields.done(t)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttemptView {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status; null when no answer came.
    pub http_status: Option<i32>,
    pub duration_ms: i64,
    /// The first bytes (up to 1 KiB) of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// Why the attempt failed (timeout, refused address, redirect, status…).
    pub error: Option<String>,
}

impl From<DeliveryAttempt> for DeliveryAttemptView {
    fn from(a: DeliveryAttempt) -> Self {
        Self {
            attempt: a.number,
            attempted_at: a.attempted_at,
            http_status: a.http_status,
            duration_ms: a.duration_ms,
            response_excerpt: a.response_excerpt,
            error: a.error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    #[schema(example = "whd_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    #[schema(example = "invoice.finalized")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (the retry schedule is spent or the endpoint was
    /// disabled).
    #[schema(value_type = crate::schema::DeliveryStatus)]
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    pub log: Vec<DeliveryAttemptView>,
}

impl From<WebhookDelivery> for WebhookDeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id.into(),
            event_id: d.event_id.into(),
            endpoint_id: d.endpoint_id.into(),
            event_type: d.event_type.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            updated_at: d.updated_at,
            log: d.log.into_iter().map(Into::into).collect(),
        }
    }
}

list_type!(WebhookDeliveryList, WebhookDeliveryView);

/// The `ping` event sent by a test, and its delivery (due at once).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTest {
    pub event: WebhookEventView,
    pub delivery: WebhookDeliveryView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"since": "2026-12-01T00:00:00Z"}))]
pub struct ReplayWebhooks {
    /// Send again every event the endpoint subscribes to created since then (within the last
    /// 30 days; at most 10,000 events).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplayStarted {
    /// Deliveries created; the worker sends them within moments.
    pub deliveries: usize,
}
