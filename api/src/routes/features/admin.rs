use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, patch, post, HttpRequest, HttpResponse};
use domain::id::parse;
use domain::services::usage::{FeaturePatch, NewFeature};
use domain::usage::Aggregation;
use domain::FieldError;

use super::dto::{CreateFeature, FeatureList, FeatureView, UpdateFeature};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::{decimal, PageParams};
use crate::routes::paths;
use crate::state::AppState;

/// Create a feature (meter).
#[utoipa::path(
    operation_id = "create_feature",
    tag = "Usage",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateFeature,
    responses(
        (status = 201, body = FeatureView),
        (status = 409, description = "`feature_key_taken`."),
    ),
)]
#[post("/features")]
pub async fn create(
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
    params(PageParams),
    responses(
        (status = 200, body = FeatureList),
    ),
)]
#[get("/features")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<PageParams>,
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
    params(paths::FeaturePath),
    responses(
        (status = 200, body = FeatureView),
        (status = 404, description = "`feature_not_found`."),
    ),
)]
#[get("/features/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.usage.clone();
    let f = blocking(move || svc.get_feature(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(FeatureView::from(f)))
}

/// Rename, reprice or archive a feature (its key and aggregation are fixed).
#[utoipa::path(
    operation_id = "update_feature",
    tag = "Usage",
    security(("api_key" = [])),
    params(paths::FeaturePath),
    request_body = UpdateFeature,
    responses(
        (status = 200, body = FeatureView),
        (status = 404, description = "`feature_not_found`."),
    ),
)]
#[patch("/features/{id}")]
pub async fn update(
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
    let f = blocking(move || svc.update_feature(&who.tenant_id, &parse(&id)?, patch)).await?;
    Ok(HttpResponse::Ok().json(FeatureView::from(f)))
}
