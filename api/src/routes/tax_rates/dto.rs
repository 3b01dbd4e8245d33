//! Tax rate JSON shapes.

use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::tax::{NewTaxRate, TaxRate, TaxRateFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::list_type;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "VAT", "percentage": "19", "inclusive": false, "country": "DE",
    "description": "German VAT"}))]
pub struct CreateTaxRate {
    /// As printed on invoices ("VAT", "GST", "Sales tax"), 1 to 100 characters.
    pub name: String,
    /// A decimal string from 0 to 100 with at most 4 places.
    #[schema(example = "19")]
    pub percentage: String,
    /// Whether the prices it applies to already include it.
    pub inclusive: bool,
    /// ISO 3166-1 alpha-2, for the merchant's reference.
    #[schema(example = "DE")]
    pub country: Option<String>,
    /// At most 500 characters.
    pub description: Option<String>,
}

impl From<CreateTaxRate> for NewTaxRate {
    fn from(b: CreateTaxRate) -> Self {
        Self {
            name: b.name,
            percentage: b.percentage,
            inclusive: b.inclusive,
            country: b.country,
            description: b.description,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxRateView {
    #[schema(example = "txr_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[schema(example = "VAT")]
    pub name: String,
    #[schema(example = "19")]
    pub percentage: String,
    pub inclusive: bool,
    #[schema(example = "DE")]
    pub country: Option<String>,
    pub description: Option<String>,
    /// Archived rates stay on the invoices that used them and cannot be given anew.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<TaxRate> for TaxRateView {
    fn from(r: TaxRate) -> Self {
        Self {
            id: r.id.into(),
            percentage: canonical(&r.percentage),
            name: r.name,
            inclusive: r.inclusive,
            country: r.country,
            description: r.description,
            active: r.active,
            created_at: r.created_at,
            archived_at: r.archived_at,
        }
    }
}

list_type!(TaxRateList, TaxRateView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListTaxRates {
    /// Only active (`true`) or only archived (`false`) rates.
    pub active: Option<bool>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListTaxRates {
    pub fn filter(&self) -> TaxRateFilter {
        TaxRateFilter {
            active: self.active,
        }
    }
}
