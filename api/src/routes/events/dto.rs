//! Usage events as clients send and read them.

use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::usage::{EventOutcome, IncomingEvent, UsageEvent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::list_type;

/// One usage event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event_id": "req-7f3a", "external_customer_id": "acme-42", "feature": "api_calls", "timestamp": "2026-11-21T10:00:00Z", "properties": {"route": "/search"}}))]
pub struct EventBody {
    /// The client's unique id for this event: a repeat is reported as `duplicate`.
    pub event_id: String,
    pub customer_id: Option<String>,
    pub external_customer_id: Option<String>,
    /// The feature key.
    pub feature: String,
    /// Default now; at most 5 minutes ahead, at most `PORTAL_EVENT_MAX_AGE_DAYS` old.
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

impl From<EventBody> for IncomingEvent {
    fn from(e: EventBody) -> Self {
        IncomingEvent {
            event_id: e.event_id,
            customer_id: e.customer_id,
            external_customer_id: e.external_customer_id,
            feature: e.feature,
            timestamp: e.timestamp,
            properties: e.properties,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// 1 to 1,000 events. Each is read on its own: a malformed one is rejected with its reason
    /// and never blocks the others.
    #[schema(value_type = Vec<EventBody>)]
    pub events: Vec<Box<serde_json::value::RawValue>>,
}

/// What happened to one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResult {
    pub event_id: String,
    /// `accepted`, `duplicate` or `rejected`.
    #[schema(value_type = crate::schema::EventResultStatus)]
    pub status: &'static str,
    /// Why it was rejected.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<EventResult>,
}

impl IngestResult {
    /// One result per event, in the order sent, with the counts.
    pub fn new(ids: Vec<String>, outcomes: Vec<EventOutcome>) -> Self {
        let mut r = IngestResult {
            accepted: 0,
            duplicates: 0,
            rejected: 0,
            results: Vec::with_capacity(ids.len()),
        };
        for (event_id, o) in ids.into_iter().zip(outcomes) {
            let (status, reason) = match o {
                EventOutcome::Accepted => {
                    r.accepted += 1;
                    ("accepted", None)
                }
                EventOutcome::Duplicate => {
                    r.duplicates += 1;
                    ("duplicate", None)
                }
                EventOutcome::Rejected(why) => {
                    r.rejected += 1;
                    ("rejected", Some(why))
                }
            };
            r.results.push(EventResult {
                event_id,
                status,
                reason,
            });
        }
        r
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub event_id: String,
    pub customer_id: String,
    pub feature: String,
    pub timestamp: DateTime<Utc>,
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// What the event counts for in its feature's aggregation.
    pub quantity: String,
    pub received_at: DateTime<Utc>,
}

impl From<UsageEvent> for EventView {
    fn from(e: UsageEvent) -> Self {
        Self {
            quantity: canonical(&e.quantity),
            id: e.id,
            event_id: e.event_id,
            customer_id: e.customer_id,
            feature: e.feature_key,
            timestamp: e.timestamp,
            properties: e.properties,
            received_at: e.received_at,
        }
    }
}

list_type!(EventList, EventView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListEvents {
    pub customer_id: Option<String>,
    /// Feature key.
    pub feature: Option<String>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
