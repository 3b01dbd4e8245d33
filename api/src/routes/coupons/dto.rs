//! Coupon JSON shapes.

use chrono::{DateTime, Utc};
use domain::discount::{Coupon, CouponFilter, CouponValue, NewCoupon};
use domain::money::canonical;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::common::list_type;

/// Give `percent_off`, or `amount_off` with its `currency`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Launch week", "percent_off": "25", "duration": "repeating",
    "duration_in_periods": 3, "max_redemptions": 100, "plan_codes": ["pro-monthly"]}))]
pub struct CreateCoupon {
    /// As invoices show it, 1 to 100 characters.
    pub name: String,
    /// A decimal string above 0 and at most 100, with at most 2 places.
    #[schema(example = "25")]
    pub percent_off: Option<String>,
    /// A decimal string above 0, at the currency's minor unit: taken off each invoice in that
    /// currency.
    #[schema(example = "5.00")]
    pub amount_off: Option<String>,
    /// ISO 4217, with `amount_off` only.
    pub currency: Option<String>,
    /// `once` (the next invoice), `repeating` (`duration_in_periods` billing periods) or
    /// `forever`.
    #[schema(value_type = crate::schema::CouponDuration)]
    pub duration: Option<String>,
    /// With `repeating` only: 1 to 120.
    pub duration_in_periods: Option<u32>,
    /// How many subscriptions it may be applied to, at most (at least 1).
    pub max_redemptions: Option<i64>,
    /// No redemptions from this instant on (in the future).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub redeem_by: Option<DateTime<Utc>>,
    /// Only subscriptions to these plans (codes of the account's plans, at most 50); left
    /// out: every plan.
    #[serde(default)]
    pub plan_codes: Vec<String>,
}

impl From<CreateCoupon> for NewCoupon {
    fn from(b: CreateCoupon) -> Self {
        Self {
            name: b.name,
            percent_off: b.percent_off,
            amount_off: b.amount_off,
            currency: b.currency,
            duration: b.duration,
            duration_in_periods: b.duration_in_periods,
            max_redemptions: b.max_redemptions,
            redeem_by: b.redeem_by,
            plan_codes: b.plan_codes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponView {
    #[schema(example = "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[schema(example = "Launch week")]
    pub name: String,
    /// Set for a percentage coupon.
    #[schema(example = "25")]
    pub percent_off: Option<String>,
    /// Set, with `currency`, for an amount coupon.
    pub amount_off: Option<String>,
    pub currency: Option<String>,
    #[schema(value_type = crate::schema::CouponDuration)]
    pub duration: &'static str,
    pub duration_in_periods: Option<u32>,
    pub max_redemptions: Option<i64>,
    /// Subscriptions it was applied to.
    pub times_redeemed: i64,
    pub redeem_by: Option<DateTime<Utc>>,
    /// Empty: every plan.
    pub plan_codes: Vec<String>,
    /// Archived coupons take no new redemptions.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<Coupon> for CouponView {
    fn from(c: Coupon) -> Self {
        let (percent_off, amount_off, currency) = match &c.value {
            CouponValue::PercentOff(p) => (Some(canonical(p)), None, None),
            CouponValue::AmountOff { amount, currency } => (
                None,
                Some(currency.display(amount)),
                Some(currency.to_string()),
            ),
        };
        Self {
            id: c.id.into(),
            name: c.name,
            percent_off,
            amount_off,
            currency,
            duration: c.duration.as_str(),
            duration_in_periods: c.duration_in_periods,
            max_redemptions: c.max_redemptions,
            times_redeemed: c.times_redeemed,
            redeem_by: c.redeem_by,
            plan_codes: c.plan_codes,
            active: c.active,
            created_at: c.created_at,
            archived_at: c.archived_at,
        }
    }
}

list_type!(CouponList, CouponView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListCoupons {
    /// Only active (`true`) or only archived (`false`) coupons.
    pub active: Option<bool>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListCoupons {
    pub fn filter(&self) -> CouponFilter {
        CouponFilter {
            active: self.active,
        }
    }
}
