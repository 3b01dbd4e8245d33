//! Plans as clients send and see them. Prices are exact decimal strings; the fixed fee shows in
//! the currency's minor units.

use crate::routes::licenses::dto::LicenseKeysBody;
use chrono::{DateTime, Utc};
use domain::money::canonical;
use domain::plan::PlanFilter;
use domain::plan::{
    Charge, Entitlement, Interval, PastDueAction, Plan, PlanStatus, Tier, Visibility,
};
use domain::services::plans::{NewPlan, PlanPatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{list_type, present, Fields};

/// One step of a graduated price.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    /// The last unit this price applies to (counted from the first unit used in the period);
    /// null on the last tier: every unit beyond.
    #[schema(example = "10000")]
    pub up_to: Option<String>,
    #[schema(example = "0.002")]
    pub unit_price: String,
}

/// A metered charge for one feature, billed in arrears each period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeBody {
    /// The feature key.
    #[schema(example = "api_calls")]
    pub feature: String,
    /// Price per unit beyond the included quantity. Give this or `tiers`.
    #[schema(example = "0.002")]
    pub unit_price: Option<String>,
    /// Units free each period (default 0).
    #[schema(example = "1000")]
    pub included_quantity: Option<String>,
    /// Graduated prices, rising `up_to`, the last one open-ended. Give these or `unit_price`.
    #[serde(default)]
    pub tiers: Vec<TierBody>,
    /// Tax rates of this charge's lines, before the plan's `tax_rate_ids` (active rates of the
    /// account, at most 5; empty or left out: the plan's).
    #[schema(example = json!([]))]
    pub tax_rate_ids: Option<Vec<String>>,
}

/// Access to a feature, with a limit per billing period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementBody {
    #[schema(example = "api_calls")]
    pub feature: String,
    /// Units per billing period; null: no limit.
    #[schema(example = "50000")]
    pub limit: Option<String>,
    /// A soft limit is only reported when exceeded; a hard one refuses (default false).
    #[serde(default)]
    pub soft: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "pro-monthly", "name": "Pro", "currency": "USD", "interval": "month",
    "amount": "49.00", "trial_days": 14,
    "charges": [{"feature": "api_calls", "included_quantity": "10000", "tiers": [{"up_to": "100000", "unit_price": "0.002"}, {"up_to": null, "unit_price": "0.001"}]}],
    "entitlements": [{"feature": "api_calls", "limit": "200000", "soft": true}]}))]
pub struct CreatePlan {
    /// Unique in the account: 1 to 64 lower-case letters, digits and `_ - .`.
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    /// ISO 4217; every price of the plan is in it.
    pub currency: String,
    /// `day`, `week`, `month` or `year`.
    #[schema(value_type = crate::schema::Interval)]
    pub interval: String,
    /// Intervals per billing period (default 1); the period is at most ten years.
    pub interval_count: Option<u32>,
    /// The fixed fee, charged in advance each period (default 0).
    pub amount: Option<String>,
    /// Days of trial for new subscriptions (default 0, at most 730).
    pub trial_days: Option<u32>,
    #[serde(default)]
    pub charges: Vec<ChargeBody>,
    #[serde(default)]
    pub entitlements: Vec<EntitlementBody>,
    /// `public` (in the portal's catalogue, the default) or `private`.
    #[schema(value_type = Option<crate::schema::Visibility>)]
    pub visibility: Option<String>,
    /// After the last failed dunning retry: `cancel` (the default) or `leave_unpaid` (the
    /// subscription stays past due until its invoices are paid).
    #[schema(value_type = Option<crate::schema::PastDueAction>)]
    pub past_due_action: Option<String>,
    /// Tax rates of everything billing charges for the plan (active rates of the account, at
    /// most 5); before the customer's and the account's defaults. Fixed once the plan exists.
    #[schema(example = json!(["txr_01jd3x6v9f5m2q8r7t4w0y1z3a"]))]
    pub tax_rate_ids: Option<Vec<String>>,
    /// Seats: the fixed fee is charged per unit of a subscription's `quantity`, which must stay
    /// within these limits (default: from 1, no maximum). Fixed once the plan exists.
    pub quantity: Option<QuantityLimitsBody>,
    /// `self_serve` (the default: customers change to it in the portal) or `contact_sales`
    /// (the portal shows a "Contact us" link to `contact_url` instead and refuses a change to
    /// it with 409 `plan_contact_sales`; the merchant's API can still subscribe a customer).
    #[schema(value_type = Option<crate::schema::Purchase>)]
    pub purchase: Option<String>,
    /// Where "Contact us" leads: an https URL, required with `contact_sales`.
    #[schema(example = "https://example.com/contact-sales")]
    pub contact_url: Option<String>,
    /// License keys: each subscription started on the plan gets exactly one.
    pub license_keys: Option<LicenseKeysBody>,
}

/// How many seats a subscription to the plan may have.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantityLimitsBody {
    /// At least 1 (the default).
    #[schema(minimum = 1, maximum = 1000000)]
    pub min: Option<u32>,
    /// `null`: no maximum (but 1,000,000).
    #[schema(minimum = 1, maximum = 1000000)]
    pub max: Option<u32>,
}

/// How a plan is presented and offered. Its prices, currency, interval, charges and
/// entitlements never change: sell new prices as a new plan and archive this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlan {
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `public` or `private`.
    #[schema(value_type = Option<crate::schema::Visibility>)]
    pub visibility: Option<String>,
    /// For subscriptions started from now on.
    pub trial_days: Option<u32>,
    /// `cancel` or `leave_unpaid`; applies to every subscription's dunning from now on.
    #[schema(value_type = Option<crate::schema::PastDueAction>)]
    pub past_due_action: Option<String>,
    /// `self_serve` or `contact_sales`; given together with `contact_url` (required with
    /// `contact_sales`, left out with `self_serve`).
    #[schema(value_type = Option<crate::schema::Purchase>)]
    pub purchase: Option<String>,
    #[schema(example = "https://example.com/contact-sales")]
    pub contact_url: Option<String>,
    /// License keys for subscriptions started from now on (existing keys keep their terms);
    /// `null` stops issuing them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<LicenseKeysBody>)]
    pub license_keys: Option<Option<LicenseKeysBody>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    #[schema(example = "plan_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[schema(example = "pro-monthly")]
    pub code: String,
    #[schema(example = "Pro")]
    pub name: String,
    pub description: Option<String>,
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(value_type = crate::schema::Interval)]
    pub interval: &'static str,
    pub interval_count: u32,
    /// The fixed fee per period, in the currency's minor units.
    #[schema(example = "49.00")]
    pub amount: String,
    pub trial_days: u32,
    pub charges: Vec<ChargeBody>,
    pub entitlements: Vec<EntitlementBody>,
    #[schema(value_type = crate::schema::Visibility)]
    pub visibility: &'static str,
    #[schema(value_type = crate::schema::PlanStatus)]
    pub status: &'static str,
    /// After the last failed dunning retry: `cancel` or `leave_unpaid`.
    #[schema(value_type = crate::schema::PastDueAction)]
    pub past_due_action: &'static str,
    /// The tax rates of what billing charges for the plan.
    pub tax_rate_ids: Vec<String>,
    /// The seats a subscription may have (the fee is per seat).
    pub quantity: QuantityLimitsBody,
    /// `self_serve`, or `contact_sales`: the portal shows "Contact us" (`contact_url`) instead
    /// of offering it.
    #[schema(value_type = crate::schema::Purchase)]
    pub purchase: &'static str,
    pub contact_url: Option<String>,
    /// Whether subscriptions to it get a license key, and its terms; null: none.
    pub license_keys: Option<LicenseKeysBody>,
    /// In the portal: the fee with the customer's active discount (a discount of one of their
    /// subscriptions that applies to this plan); null otherwise.
    pub discount: Option<PlanDiscountView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A plan's fee with a customer's discount taken off.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDiscountView {
    #[schema(example = "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub coupon_id: String,
    #[schema(example = "Launch 20%")]
    pub name: String,
    /// The fee per seat and period after the discount, before tax.
    #[schema(example = "39.20")]
    pub amount: String,
}

impl PlanView {
    /// The plan as a customer with `discounts` (their subscriptions') sees it: the first one
    /// that applies to it taken off its fee.
    pub fn for_customer(p: Plan, discounts: &[domain::discount::AppliedDiscount]) -> Self {
        let discount = discounts.iter().find_map(|d| {
            let amount = d.discounted(&p, &p.amount)?;
            Some(PlanDiscountView {
                coupon_id: d.coupon_id.to_string(),
                name: d.name.clone(),
                amount: p.currency.display(&amount),
            })
        });
        Self {
            discount,
            ..Self::from(p)
        }
    }
}

impl From<Plan> for PlanView {
    fn from(p: Plan) -> Self {
        Self {
            id: p.id.into(),
            amount: p.currency.display(&p.amount),
            currency: p.currency.to_string(),
            code: p.code,
            name: p.name,
            description: p.description,
            interval: p.interval.as_str(),
            interval_count: p.interval_count,
            trial_days: p.trial_days,
            charges: p
                .charges
                .into_iter()
                .map(|c| ChargeBody {
                    feature: c.feature,
                    unit_price: c.unit_price.as_ref().map(canonical),
                    included_quantity: Some(canonical(&c.included_quantity)),
                    tiers: c
                        .tiers
                        .iter()
                        .map(|t| TierBody {
                            up_to: t.up_to.as_ref().map(canonical),
                            unit_price: canonical(&t.unit_price),
                        })
                        .collect(),
                    tax_rate_ids: Some(c.tax_rate_ids.iter().map(ToString::to_string).collect()),
                })
                .collect(),
            entitlements: p
                .entitlements
                .into_iter()
                .map(|e| EntitlementBody {
                    feature: e.feature,
                    limit: e.limit.as_ref().map(canonical),
                    soft: e.soft,
                })
                .collect(),
            visibility: p.visibility.as_str(),
            past_due_action: p.past_due_action.as_str(),
            tax_rate_ids: p.tax_rate_ids.iter().map(ToString::to_string).collect(),
            discount: None,
            quantity: QuantityLimitsBody {
                min: Some(p.quantity.min),
                max: p.quantity.max,
            },
            status: p.status.as_str(),
            purchase: p.purchase.as_str(),
            contact_url: p.contact_url,
            license_keys: p.license_keys.map(LicenseKeysBody::from_policy),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

list_type!(PlanList, PlanView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListPlans {
    /// `active` or `archived`.
    #[param(value_type = Option<crate::schema::PlanStatus>)]
    pub status: Option<String>,
    /// `public` or `private`.
    #[param(value_type = Option<crate::schema::Visibility>)]
    pub visibility: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl CreatePlan {
    pub fn into_new(self) -> Result<NewPlan, ApiError> {
        let mut r = Fields::default();
        let tax_rate_ids = self
            .tax_rate_ids
            .as_deref()
            .map(|ids| crate::routes::invoices::dto::rate_ids("tax_rate_ids", ids))
            .transpose()?
            .unwrap_or_default();
        let interval = r.variant("interval", Some(&self.interval), Interval::Month);
        let visibility = r.variant("visibility", self.visibility.as_deref(), Visibility::Public);
        let past_due_action = r.variant(
            "past_due_action",
            self.past_due_action.as_deref(),
            PastDueAction::Cancel,
        );
        let purchase = r.variant(
            "purchase",
            self.purchase.as_deref(),
            domain::plan::Purchase::SelfServe,
        );
        let amount = match &self.amount {
            Some(a) => r.decimal("amount", a),
            None => bigdecimal::BigDecimal::default(),
        };
        let charge_rates = self
            .charges
            .iter()
            .enumerate()
            .map(|(i, c)| match &c.tax_rate_ids {
                Some(ids) => crate::routes::invoices::dto::rate_ids(
                    &format!("charges[{i}].tax_rate_ids"),
                    ids,
                ),
                None => Ok(Vec::new()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let charges = self
            .charges
            .iter()
            .enumerate()
            .map(|(i, c)| Charge {
                tax_rate_ids: charge_rates[i].clone(),
                feature: c.feature.clone(),
                included_quantity: c
                    .included_quantity
                    .as_deref()
                    .map(|q| r.decimal(&format!("charges[{i}].included_quantity"), q))
                    .unwrap_or_default(),
                unit_price: c
                    .unit_price
                    .as_deref()
                    .map(|p| r.decimal(&format!("charges[{i}].unit_price"), p)),
                tiers: c
                    .tiers
                    .iter()
                    .enumerate()
                    .map(|(j, t)| Tier {
                        up_to: t
                            .up_to
                            .as_deref()
                            .map(|u| r.decimal(&format!("charges[{i}].tiers[{j}].up_to"), u)),
                        unit_price: r.decimal(
                            &format!("charges[{i}].tiers[{j}].unit_price"),
                            &t.unit_price,
                        ),
                    })
                    .collect(),
            })
            .collect();
        let entitlements = self
            .entitlements
            .iter()
            .enumerate()
            .map(|(i, e)| Entitlement {
                feature: e.feature.clone(),
                limit: e
                    .limit
                    .as_deref()
                    .map(|l| r.decimal(&format!("entitlements[{i}].limit"), l)),
                soft: e.soft,
            })
            .collect();
        let license_keys = self.license_keys.map(|l| l.into_policy(&mut r));
        r.done(NewPlan {
            code: self.code,
            name: self.name,
            description: self.description,
            currency: self.currency,
            interval,
            interval_count: self.interval_count.unwrap_or(1),
            amount,
            trial_days: self.trial_days.unwrap_or(0),
            charges,
            entitlements,
            visibility,
            past_due_action,
            tax_rate_ids,
            quantity: self
                .quantity
                .map(|q| domain::plan::QuantityLimits {
                    min: q.min.unwrap_or(1),
                    max: q.max,
                })
                .unwrap_or_default(),
            purchase,
            contact_url: self.contact_url,
            license_keys,
        })
    }
}

impl UpdatePlan {
    pub fn into_patch(self) -> Result<PlanPatch, ApiError> {
        let mut r = Fields::default();
        let visibility = self
            .visibility
            .as_deref()
            .map(|v| r.variant("visibility", Some(v), Visibility::Public));
        let past_due_action = self
            .past_due_action
            .as_deref()
            .map(|a| r.variant("past_due_action", Some(a), PastDueAction::Cancel));
        // A contact URL alone changes the one a contact-sales plan has.
        let purchase = match (self.purchase.as_deref(), self.contact_url) {
            (None, None) => None,
            (given, url) => Some((
                r.variant(
                    "purchase",
                    Some(given.unwrap_or("contact_sales")),
                    domain::plan::Purchase::SelfServe,
                ),
                url,
            )),
        };
        let license_keys = self.license_keys.map(|l| l.map(|l| l.into_policy(&mut r)));
        r.done(PlanPatch {
            license_keys,
            purchase,
            name: self.name,
            description: self.description,
            visibility,
            trial_days: self.trial_days,
            past_due_action,
        })
    }
}

impl ListPlans {
    pub fn filter(&self) -> Result<PlanFilter, ApiError> {
        let mut r = Fields::default();
        let status = self
            .status
            .as_deref()
            .map(|s| r.variant("status", Some(s), PlanStatus::Active));
        let visibility = self
            .visibility
            .as_deref()
            .map(|v| r.variant("visibility", Some(v), Visibility::Public));
        r.done(PlanFilter {
            status,
            visibility,
            currencies: Vec::new(),
        })
    }
}
