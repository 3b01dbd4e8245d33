use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, patch, post, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::ports::EventFilter;
use domain::services::usage::{FeaturePatch, NewFeature};
use domain::usage::{Aggregation, EventOutcome, Feature, IncomingEvent, UsageEvent};
use domain::ErrorCode;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list_type;
use crate::error::{blocking, ApiError, Problem};
use crate::extract::{nul_in_value, AdminKey, BatchBody, JsonBody, Query, NUL};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::usage_dto::{UsageQuery, UsageView};
use crate::routes::wallet_dto::decimal;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureView {
    #[schema(example = "feat_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    /// The event name that feeds this meter.
    #[schema(example = "api_calls")]
    pub key: String,
    #[schema(example = "API calls")]
    pub name: String,
    #[schema(example = "calls")]
    pub unit: String,
    /// `count`, `sum` or `max`.
    #[schema(example = "count")]
    pub aggregation: &'static str,
    /// For sum and max: the numeric event property aggregated.
    pub value_property: Option<String>,
    /// Price of one unit, exact.
    #[schema(example = "0.0002")]
    pub unit_price: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Feature> for FeatureView {
    fn from(f: Feature) -> Self {
        Self {
            aggregation: f.aggregation.as_str(),
            unit_price: canonical(&f.unit_price),
            id: f.id,
            key: f.key,
            name: f.name,
            unit: f.unit,
            value_property: f.value_property,
            currency: f.currency,
            archived: f.archived,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

list_type!(FeatureList, FeatureView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "storage_gb", "name": "Storage", "unit": "GB", "aggregation": "max", "value_property": "gb", "unit_price": "0.10", "currency": "USD"}))]
pub struct CreateFeature {
    pub key: String,
    pub name: String,
    pub unit: String,
    /// `count`, `sum` or `max`.
    pub aggregation: String,
    /// Required for sum and max.
    pub value_property: Option<String>,
    /// Decimal string ≥ 0.
    pub unit_price: String,
    pub currency: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFeature {
    pub name: Option<String>,
    pub unit: Option<String>,
    pub unit_price: Option<String>,
    /// Archived features take no new events (they are rejected) but keep their history.
    pub archived: Option<bool>,
}

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
    pub events: Vec<serde_json::Value>,
}

/// What happened to one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResult {
    pub event_id: String,
    /// `accepted`, `duplicate` or `rejected`.
    #[schema(example = "accepted")]
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

fn results(ids: Vec<String>, outcomes: Vec<EventOutcome>) -> IngestResult {
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

/// Create a feature (meter).
#[utoipa::path(
    operation_id = "create_feature",
    tag = "Usage",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateFeature,
    responses(
        (status = 201, body = FeatureView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`feature_key_taken` or `idempotency_key_in_use`."),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/features")]
pub async fn create_feature(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateFeature>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let aggregation = Aggregation::parse(&b.aggregation).ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            "aggregation",
            "must be count, sum or max",
        )])
    })?;
    let input = NewFeature {
        unit_price: decimal("unit_price", &b.unit_price)?,
        key: b.key,
        name: b.name,
        unit: b.unit,
        aggregation,
        value_property: b.value_property,
        currency: b.currency,
    };
    let (svc, tenant) = (state.usage.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let f = svc.create_feature(&tenant, input)?;
        Ok((StatusCode::CREATED, FeatureView::from(f)))
    })
    .await
}

/// List features, newest first.
#[utoipa::path(
    operation_id = "list_features",
    tag = "Usage",
    security(("api_key" = [])),
    params(super::PageParams),
    responses(
        (status = 200, body = FeatureList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/features")]
pub async fn list_features(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<super::PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.usage.clone();
    let found = blocking(move || svc.list_features(&who.tenant_id, &page)).await?;
    Ok(HttpResponse::Ok().json(FeatureList::from(found.map(FeatureView::from))))
}

/// Get a feature.
#[utoipa::path(
    operation_id = "get_feature",
    tag = "Usage",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "feat_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = FeatureView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`feature_not_found`."),
    ),
)]
#[get("/features/{id}")]
pub async fn get_feature(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.usage.clone();
    let f = blocking(move || svc.get_feature(&who.tenant_id, &id)).await?;
    Ok(HttpResponse::Ok().json(FeatureView::from(f)))
}

/// Rename, reprice or archive a feature (its key and aggregation are fixed).
#[utoipa::path(
    operation_id = "update_feature",
    tag = "Usage",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "feat_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    request_body = UpdateFeature,
    responses(
        (status = 200, body = FeatureView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`feature_not_found`."),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/features/{id}")]
pub async fn update_feature(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<UpdateFeature>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let patch = FeaturePatch {
        unit_price: b
            .unit_price
            .as_deref()
            .map(|p| decimal("unit_price", p))
            .transpose()?,
        name: b.name,
        unit: b.unit,
        archived: b.archived,
    };
    let svc = state.usage.clone();
    let f = blocking(move || svc.update_feature(&who.tenant_id, &id, patch)).await?;
    Ok(HttpResponse::Ok().json(FeatureView::from(f)))
}

/// An event as read from a request: well-formed, or (its event_id if any, why not).
type ReadEvent = Result<EventBody, (String, String)>;

async fn ingest(
    state: &AppState,
    tenant: String,
    events: Vec<ReadEvent>,
) -> Result<IngestResult, ApiError> {
    if events.is_empty() || events.len() > domain::usage::MAX_BATCH {
        return Err(ApiError::validation(vec![FieldError::new(
            "events",
            "must hold 1 to 1000 events",
        )]));
    }
    let mut ids = Vec::with_capacity(events.len());
    let mut outcomes: Vec<Option<EventOutcome>> = vec![None; events.len()];
    let (mut good, mut good_at) = (Vec::new(), Vec::new());
    for (i, e) in events.into_iter().enumerate() {
        match e {
            Ok(body) => {
                ids.push(body.event_id.clone());
                good_at.push(i);
                good.push(IncomingEvent::from(body));
            }
            Err((id, why)) => {
                ids.push(id);
                outcomes[i] = Some(EventOutcome::Rejected(why));
            }
        }
    }
    if !good.is_empty() {
        let svc = state.usage.clone();
        let got = blocking(move || svc.ingest(&tenant, good)).await?;
        for (i, o) in good_at.into_iter().zip(got) {
            outcomes[i] = Some(o);
        }
    }
    Ok(results(
        ids,
        outcomes
            .into_iter()
            .map(|o| o.expect("every event has an outcome"))
            .collect(),
    ))
}

/// Send one usage event. Answers after the event is committed; a repeated `event_id` is
/// reported as `duplicate` and not counted again. A rejected event → 422 with the reason.
#[utoipa::path(
    operation_id = "ingest_event",
    tag = "Usage",
    security(("api_key" = [])),
    request_body = EventBody,
    responses(
        (status = 200, body = IngestResult, description = "`accepted` or `duplicate`."),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`event_rejected` (unknown feature or customer, bad timestamp, missing value) or `validation_failed`."),
    ),
)]
#[post("/events")]
pub async fn send_event(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    body: JsonBody<EventBody>,
) -> Result<HttpResponse, ApiError> {
    let r = ingest(&state, who.tenant_id, vec![Ok(body.value)]).await?;
    if let Some(reason) = r.results[0].reason.clone() {
        return Err(ApiError::new(ErrorCode::EventRejected, reason));
    }
    Ok(HttpResponse::Ok().json(r))
}

/// Send 1 to 1,000 events. Valid events are stored even when others are rejected; each gets its
/// own result. Answers after the accepted events are committed.
#[utoipa::path(
    operation_id = "ingest_event_batch",
    tag = "Usage",
    security(("api_key" = [])),
    request_body = EventBatch,
    responses(
        (status = 200, body = IngestResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "No events, or more than 1,000."),
    ),
)]
#[post("/events/batch")]
pub async fn send_batch(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    BatchBody(batch): BatchBody<EventBatch>,
) -> Result<HttpResponse, ApiError> {
    let events = batch
        .events
        .into_iter()
        .map(|v| {
            let id = v
                .get("event_id")
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .replace('\0', "");
            if let Some(field) = nul_in_value(&v) {
                return Err((id, format!("malformed event: {field} {NUL}")));
            }
            serde_json::from_value::<EventBody>(v)
                .map_err(|e| (id, format!("malformed event: {e}")))
        })
        .collect();
    Ok(HttpResponse::Ok().json(ingest(&state, who.tenant_id, events).await?))
}

/// Raw events, newest first.
#[utoipa::path(
    operation_id = "list_events",
    tag = "Usage",
    security(("api_key" = [])),
    params(ListEvents),
    responses(
        (status = 200, body = EventList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/events")]
pub async fn list_events(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListEvents>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = EventFilter {
        customer_id: q.customer_id,
        feature: q.feature,
        from: q.from,
        to: q.to,
    };
    let svc = state.usage.clone();
    let found = blocking(move || svc.events(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(EventList::from(found.map(EventView::from))))
}

/// A customer's usage by feature over a window, from rollups: series and breakdown with cost.
#[utoipa::path(
    operation_id = "get_customer_usage",
    tag = "Usage",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a"), UsageQuery),
    responses(
        (status = 200, body = UsageView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found`."),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/customers/{id}/usage")]
pub async fn customer_usage(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    Query(q): Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to, granularity) = q.resolve()?;
    let svc = state.usage.clone();
    let report = blocking(move || {
        svc.report(
            &who.tenant_id,
            &id,
            from,
            to,
            granularity,
            q.feature.as_deref(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(UsageView::from(report)))
}

/// The customer dashboard: wallets, outstanding amounts, 7-day usage and cost.
#[utoipa::path(
    operation_id = "get_customer_overview",
    tag = "Customers",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = crate::routes::overview_dto::OverviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found`."),
    ),
)]
#[get("/customers/{id}/overview")]
pub async fn customer_overview(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.overview.clone();
    let all = domain::services::overview::OverviewParts {
        wallets: true,
        outstanding: true,
        usage: true,
    };
    let o = blocking(move || svc.overview(&who.tenant_id, &id, all)).await?;
    Ok(HttpResponse::Ok().json(crate::routes::overview_dto::OverviewView::from(o)))
}
