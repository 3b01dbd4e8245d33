//! Promotion code JSON shapes.

use chrono::{DateTime, Utc};
use domain::discount::{NewPromotionCode, PromotionCode, PromotionCodeFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::list_type;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"coupon_id": "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a", "code": "LAUNCH25",
    "max_redemptions": 50, "expires_at": "2027-01-31T23:59:59Z", "first_time_only": true}))]
pub struct CreatePromotionCode {
    /// An active coupon of the account.
    pub coupon_id: String,
    /// What the customer types: 1 to 50 letters, digits, `-` and `_`; unique in the account
    /// whatever its case, and matched whatever its case.
    #[schema(example = "LAUNCH25")]
    pub code: String,
    /// How many times it may be redeemed, at most (at least 1), besides the coupon's own limit.
    pub max_redemptions: Option<i64>,
    /// Not redeemable from this instant on (in the future).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Only this customer may redeem it.
    pub customer_id: Option<String>,
    /// Only customers who have not paid an invoice yet may redeem it (default false).
    #[serde(default)]
    pub first_time_only: bool,
}

impl From<CreatePromotionCode> for NewPromotionCode {
    fn from(b: CreatePromotionCode) -> Self {
        Self {
            coupon_id: b.coupon_id,
            code: b.code,
            max_redemptions: b.max_redemptions,
            expires_at: b.expires_at,
            customer_id: b.customer_id,
            first_time_only: b.first_time_only,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionCodeView {
    #[schema(example = "promo_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub coupon_id: String,
    #[schema(example = "LAUNCH25")]
    pub code: String,
    pub max_redemptions: Option<i64>,
    pub times_redeemed: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub customer_id: Option<String>,
    pub first_time_only: bool,
    /// A deactivated code cannot be redeemed.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<PromotionCode> for PromotionCodeView {
    fn from(p: PromotionCode) -> Self {
        Self {
            id: p.id.into(),
            coupon_id: p.coupon_id.into(),
            code: p.code,
            max_redemptions: p.max_redemptions,
            times_redeemed: p.times_redeemed,
            expires_at: p.expires_at,
            customer_id: p.customer_id.map(String::from),
            first_time_only: p.first_time_only,
            active: p.active,
            created_at: p.created_at,
        }
    }
}

list_type!(PromotionCodeList, PromotionCodeView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListPromotionCodes {
    pub coupon_id: Option<String>,
    /// The code, whatever its case.
    pub code: Option<String>,
    /// Only active (`true`) or only deactivated (`false`) codes.
    pub active: Option<bool>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListPromotionCodes {
    pub fn filter(&self) -> PromotionCodeFilter {
        PromotionCodeFilter {
            coupon_id: self.coupon_id.clone(),
            code: self.code.clone(),
            active: self.active,
        }
    }
}
