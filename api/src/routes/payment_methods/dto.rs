//! Payment methods as clients send and see them: flat fields, never card data.

use chrono::{DateTime, Utc};
use domain::payment_method::{Display, MethodChange, MethodType, NewPaymentMethod, PaymentMethod};
use domain::services::payment_methods::SetupHandOff;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{list_type, present, Fields};

/// A method the payment provider holds for the customer, as the merchant's backend reports it
/// after the provider's own setup flow. Send the provider's token, never a card number (one is
/// refused).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "card", "provider": "stripe", "provider_reference": "pm_1QfZ2b3c4d5e6f",
    "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2028, "holder_name": "Ada Lovelace"}))]
pub struct CreatePaymentMethod {
    /// `card`, `sepa_debit`, `bank_transfer`, `upi` or `other`.
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::MethodType)]
    pub kind: String,
    /// The provider holding the method, e.g. `stripe`, `adyen`.
    pub provider: String,
    /// The provider's token or id for the method.
    pub provider_reference: String,
    pub brand: Option<String>,
    /// The last four digits, for display.
    pub last4: Option<String>,
    pub exp_month: Option<u32>,
    pub exp_year: Option<i32>,
    pub holder_name: Option<String>,
    pub bank_name: Option<String>,
    /// Make it the default (the customer's first method becomes the default anyway).
    #[serde(default)]
    pub is_default: bool,
}

impl CreatePaymentMethod {
    pub fn into_new(self) -> Result<NewPaymentMethod, ApiError> {
        let mut r = Fields::default();
        let kind = r.variant("type", Some(&self.kind), MethodType::Other);
        r.done(NewPaymentMethod {
            kind,
            provider: self.provider,
            provider_reference: self.provider_reference,
            display: Display {
                brand: self.brand,
                last4: self.last4,
                exp_month: self.exp_month,
                exp_year: self.exp_year,
                holder_name: self.holder_name,
                bank_name: self.bank_name,
            },
            make_default: self.is_default,
        })
    }
}

/// Display fields the provider changed (e.g. a card updater's new expiry). `null` clears one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"exp_month": 3, "exp_year": 2030}))]
pub struct UpdatePaymentMethod {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub brand: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub exp_month: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    pub exp_year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub holder_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub bank_name: Option<Option<String>>,
}

impl From<UpdatePaymentMethod> for MethodChange {
    fn from(b: UpdatePaymentMethod) -> Self {
        MethodChange {
            brand: b.brand,
            exp_month: b.exp_month,
            exp_year: b.exp_year,
            holder_name: b.holder_name,
            bank_name: b.bank_name,
        }
    }
}

/// Paging, and whether removed methods are listed too.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListPaymentMethods {
    /// Also list detached methods (default false).
    #[serde(default)]
    pub include_detached: bool,
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodView {
    #[schema(example = "pm_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: String,
    /// `card`, `sepa_debit`, `bank_transfer`, `upi` or `other`.
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::MethodType)]
    pub kind: &'static str,
    #[schema(example = "stripe")]
    pub provider: String,
    #[schema(example = "pm_1QfZ2b3c4d5e6f")]
    pub provider_reference: String,
    #[schema(example = "visa")]
    pub brand: Option<String>,
    #[schema(example = "4242")]
    pub last4: Option<String>,
    #[schema(example = 12)]
    pub exp_month: Option<u32>,
    #[schema(example = 2028)]
    pub exp_year: Option<i32>,
    pub holder_name: Option<String>,
    pub bank_name: Option<String>,
    pub is_default: bool,
    /// `active`, `expired` (its expiry month has passed) or `detached`.
    #[schema(value_type = crate::schema::MethodStatus)]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub detached_at: Option<DateTime<Utc>>,
}

impl From<PaymentMethod> for PaymentMethodView {
    fn from(m: PaymentMethod) -> Self {
        let status = m.status_at(domain::clock::now()).as_str();
        Self {
            id: m.id.to_string(),
            customer_id: m.customer_id.to_string(),
            kind: m.kind.as_str(),
            provider: m.provider,
            provider_reference: m.provider_reference,
            brand: m.display.brand,
            last4: m.display.last4,
            exp_month: m.display.exp_month,
            exp_year: m.display.exp_year,
            holder_name: m.display.holder_name,
            bank_name: m.display.bank_name,
            is_default: m.is_default,
            status,
            created_at: m.created_at,
            updated_at: m.updated_at,
            detached_at: m.detached_at,
        }
    }
}

list_type!(PaymentMethodList, PaymentMethodView);

/// Where to send the customer to add a payment method.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupLink {
    /// The merchant's setup page with `customer_id` (and the session's `return_url`) in the
    /// query: for correlation only, the page signs its own user in.
    #[schema(
        example = "https://shop.test/billing/add-card?customer_id=cus_01jd3x6v9f5m2q8r7t4w0y1z3a&return_url=https%3A%2F%2Fshop.test%2Faccount"
    )]
    pub url: String,
}

impl From<SetupHandOff> for SetupLink {
    fn from(h: SetupHandOff) -> Self {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("customer_id", &h.customer_id);
        if let Some(back) = &h.return_url {
            query.append_pair("return_url", back);
        }
        let (page, fragment) = match h.page.split_once('#') {
            Some((p, f)) => (p, format!("#{f}")),
            None => (h.page.as_str(), String::new()),
        };
        let joiner = if page.contains('?') { '&' } else { '?' };
        Self {
            url: format!("{page}{joiner}{}{fragment}", query.finish()),
        }
    }
}
