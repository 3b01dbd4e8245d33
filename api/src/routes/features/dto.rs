//! Features (meters) as clients see them.

use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::usage::Feature;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::common::list_type;

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
    #[schema(value_type = crate::schema::Aggregation)]
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
            id: f.id.into(),
            key: f.key,
            name: f.name,
            unit: f.unit,
            value_property: f.value_property,
            currency: f.currency.to_string(),
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
    #[schema(value_type = crate::schema::Aggregation)]
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
