//! Customers as clients send and see them: the admin shape and the portal profile.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::customer::{
    Address, BillingDetails, Customer, CustomerFilter, CustomerPatch, CustomerStatus, NewCustomer,
};
use domain::tax::TaxExempt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{list_type, present, Fields};
use crate::routes::invoices::dto::rate_ids;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[schema(example = "1 Market St")]
    pub line1: Option<String>,
    pub line2: Option<String>,
    #[schema(example = "San Francisco")]
    pub city: Option<String>,
    #[schema(example = "CA")]
    pub state: Option<String>,
    #[schema(example = "94105")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "US")]
    pub country: Option<String>,
}

impl From<AddressBody> for Address {
    fn from(a: AddressBody) -> Self {
        Address {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

impl From<Address> for AddressBody {
    fn from(a: Address) -> Self {
        AddressBody {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

/// Who invoices are addressed to when it is not the contact: invoices and their PDFs use
/// these first and fall back to `name`, `email` and `address`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingBody {
    /// The company's legal name.
    #[schema(example = "Acme Corporation GmbH")]
    pub legal_name: Option<String>,
    /// Free text as the customer writes it (letters, digits, spaces and `- . /`, up to 64),
    /// printed as is; use `tax_ids` for numbers that are checked.
    #[schema(example = "DE136695976")]
    pub tax_id: Option<String>,
    /// The buyer's tax ids (at most 5), each checked by its scheme's format and check digits;
    /// printed on invoices and in the reverse-charge note. Replaced as a whole.
    pub tax_ids: Option<Vec<TaxIdBody>>,
    /// Where invoices go (accounts payable).
    #[schema(example = "ap@acme.test")]
    pub email: Option<String>,
    pub address: Option<AddressBody>,
}

/// A tax id: its scheme and the number (spaces, dots and dashes allowed; stored without them).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "eu_vat", "value": "DE136695976"}))]
pub struct TaxIdBody {
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::TaxIdType)]
    pub kind: String,
    pub value: String,
}

impl From<TaxIdBody> for domain::tax_id::TaxId {
    fn from(b: TaxIdBody) -> Self {
        Self {
            kind: b.kind,
            value: b.value,
        }
    }
}

impl From<domain::tax_id::TaxId> for TaxIdBody {
    fn from(t: domain::tax_id::TaxId) -> Self {
        Self {
            kind: t.kind,
            value: t.value,
        }
    }
}

impl From<BillingBody> for BillingDetails {
    fn from(b: BillingBody) -> Self {
        BillingDetails {
            legal_name: b.legal_name,
            tax_ids: b
                .tax_ids
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            tax_id: b.tax_id,
            email: b.email,
            address: b.address.map(Into::into),
        }
    }
}

impl From<BillingDetails> for BillingBody {
    fn from(b: BillingDetails) -> Self {
        BillingBody {
            legal_name: b.legal_name,
            tax_ids: Some(b.tax_ids.into_iter().map(Into::into).collect()),
            tax_id: b.tax_id,
            email: b.email,
            address: b.address.map(Into::into),
        }
    }
}

/// A billing-details change: the object replaces them as a whole, `null` clears them.
pub fn billing_patch(b: Option<Option<BillingBody>>) -> Option<BillingDetails> {
    b.map(|b| b.map(Into::into).unwrap_or_default())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    #[schema(example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    /// The merchant's own id for the customer; unique per account.
    #[schema(example = "acme-42")]
    pub external_id: Option<String>,
    #[schema(example = "Acme Corp")]
    pub name: String,
    #[schema(example = "billing@acme.test")]
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressBody>,
    pub billing: BillingBody,
    /// New invoices are collected at once: from the customer's wallet in the invoice's
    /// currency, then what is left as a pending payment through their default payment method
    /// (when it is usable and the account has a `payment_url_template`).
    pub auto_pay: bool,
    /// IANA time zone; usage days are cut in it.
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    /// The customer's language (BCP 47); `null`: the browser's, then English.
    #[schema(example = "de-DE")]
    pub locale: Option<String>,
    pub metadata: BTreeMap<String, String>,
    #[schema(value_type = crate::schema::CustomerStatus)]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// The test clock the customer lives on, if any.
    pub test_clock_id: Option<String>,
    /// Whether the customer pays tax: `exempt` and `reverse_charge` customers are charged none
    /// (a reverse-charge invoice says the buyer accounts for it).
    #[schema(value_type = crate::schema::TaxExempt)]
    pub tax_exempt: &'static str,
    /// The customer's tax rates, applied to lines with no rate of their own or their plan's
    /// (before the account's defaults).
    pub tax_rate_ids: Vec<String>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.into(),
            external_id: c.external_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            address: c.address.map(Into::into),
            billing: c.billing.into(),
            auto_pay: c.auto_pay,
            timezone: c.timezone,
            locale: c.locale,
            metadata: c.metadata,
            status: c.status.as_str(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            archived_at: c.archived_at,
            test_clock_id: c.test_clock_id.map(String::from),
            tax_exempt: c.tax_exempt.as_str(),
            tax_rate_ids: c.tax_rate_ids.iter().map(ToString::to_string).collect(),
        }
    }
}

list_type!(CustomerList, CustomerView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_id": "acme-42", "name": "Acme Corp", "email": "billing@acme.test",
    "address": {"city": "Berlin", "country": "DE"}, "timezone": "Europe/Berlin", "metadata": {"plan": "pro"}}))]
pub struct CreateCustomer {
    /// Letters, digits and `- _ . : @ + = ~`, up to 255; unique per account.
    pub external_id: Option<String>,
    /// 1 to 255 characters.
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressBody>,
    pub billing: Option<BillingBody>,
    /// Default `false`: new invoices are collected at once (see the customer's `auto_pay`).
    pub auto_pay: Option<bool>,
    /// IANA time zone (default `UTC`).
    pub timezone: Option<String>,
    /// The customer's language, a BCP 47 tag (`de-DE`, `fr`, `ar`), stored in canonical case.
    #[schema(example = "de-DE")]
    pub locale: Option<String>,
    /// Up to 50 keys (≤ 40 chars) with string values (≤ 500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// A test clock's id: the customer lives in its time for good (their subscriptions are
    /// billed only when the clock is advanced). For rehearsals, never for real customers.
    pub test_clock: Option<String>,
    /// Default `none`.
    #[schema(value_type = Option<crate::schema::TaxExempt>)]
    pub tax_exempt: Option<String>,
    /// Active tax rates of the account (at most 5).
    #[schema(example = json!(["txr_01jd3x6v9f5m2q8r7t4w0y1z3a"]))]
    pub tax_rate_ids: Option<Vec<String>>,
}

impl CreateCustomer {
    pub fn into_new(self) -> Result<NewCustomer, ApiError> {
        let b = self;
        let mut r = Fields::default();
        let tax_exempt = r.variant("tax_exempt", b.tax_exempt.as_deref(), TaxExempt::None);
        let tax_rate_ids = b
            .tax_rate_ids
            .as_deref()
            .map(|ids| rate_ids("tax_rate_ids", ids))
            .transpose()?
            .unwrap_or_default();
        r.done(NewCustomer {
            external_id: b.external_id,
            name: b.name,
            email: b.email,
            phone: b.phone,
            address: b.address.map(Into::into),
            billing: b.billing.map(Into::into).unwrap_or_default(),
            auto_pay: b.auto_pay.unwrap_or(false),
            timezone: b.timezone,
            locale: b.locale,
            metadata: b.metadata.unwrap_or_default(),
            test_clock: b.test_clock,
            tax_exempt,
            tax_rate_ids,
        })
    }
}

/// Fields left out stay as they are; `null` clears an optional field. `metadata` replaces the
/// whole map.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ap@acme.test", "phone": null}))]
pub struct UpdateCustomer {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<AddressBody>)]
    pub address: Option<Option<AddressBody>>,
    /// Replaces the billing details as a whole; `null` clears them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<BillingBody>)]
    pub billing: Option<Option<BillingBody>>,
    pub auto_pay: Option<bool>,
    pub timezone: Option<String>,
    /// A BCP 47 tag; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "fr")]
    pub locale: Option<Option<String>>,
    pub metadata: Option<BTreeMap<String, String>>,
    #[schema(value_type = Option<crate::schema::TaxExempt>)]
    pub tax_exempt: Option<String>,
    /// Replaces the customer's tax rates (`[]`: none of their own).
    pub tax_rate_ids: Option<Vec<String>>,
}

impl UpdateCustomer {
    pub fn into_patch(self) -> Result<CustomerPatch, ApiError> {
        let b = self;
        let mut r = Fields::default();
        let tax_exempt = b
            .tax_exempt
            .as_deref()
            .map(|t| r.variant("tax_exempt", Some(t), TaxExempt::None));
        let tax_rate_ids = b
            .tax_rate_ids
            .as_deref()
            .map(|ids| rate_ids("tax_rate_ids", ids))
            .transpose()?;
        r.done(CustomerPatch {
            external_id: b.external_id,
            name: b.name,
            email: b.email,
            phone: b.phone,
            address: b.address.map(|a| a.map(Into::into)),
            billing: billing_patch(b.billing),
            auto_pay: b.auto_pay,
            timezone: b.timezone,
            locale: b.locale,
            metadata: b.metadata,
            tax_exempt,
            tax_rate_ids,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListCustomers {
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Case-insensitive text in name, email or external_id.
    pub q: Option<String>,
    /// Exact email, case-insensitive.
    pub email: Option<String>,
    /// `active` (default), `archived` or `all`.
    #[param(value_type = Option<crate::schema::CustomerListStatus>)]
    pub status: Option<String>,
    /// Created at or after (RFC 3339, e.g. `2026-01-01T00:00:00Z`).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub created_to: Option<DateTime<Utc>>,
}

/// A customer export: the list's filters, every matching customer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportCustomers {
    /// Case-insensitive text in name, email or external_id.
    pub q: Option<String>,
    /// Exact email, case-insensitive.
    pub email: Option<String>,
    /// `active` (default), `archived` or `all`.
    #[param(value_type = Option<crate::schema::CustomerListStatus>)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub created_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub created_to: Option<DateTime<Utc>>,
}

impl ListCustomers {
    /// The filter of a list or an export (422 naming a malformed status).
    pub fn filter(
        q: Option<String>,
        email: Option<String>,
        status: Option<&str>,
        created_from: Option<DateTime<Utc>>,
        created_to: Option<DateTime<Utc>>,
    ) -> Result<CustomerFilter, ApiError> {
        let status = match status {
            None | Some("active") => Some(CustomerStatus::Active),
            Some("archived") => Some(CustomerStatus::Archived),
            Some("all") => None,
            Some(_) => {
                return Err(ApiError::validation(vec![domain::FieldError::new(
                    "status",
                    "must be active, archived or all",
                )]))
            }
        };
        Ok(CustomerFilter {
            q,
            email,
            status,
            created_from,
            created_to,
        })
    }
}

/// The columns of a customer export.
pub const CSV_HEADER: &[&str] = &[
    "id",
    "external_id",
    "name",
    "email",
    "phone",
    "status",
    "country",
    "city",
    "timezone",
    "locale",
    "billing_legal_name",
    "billing_email",
    "created_at",
];

/// One customer as a row of [`CSV_HEADER`].
pub fn csv_row(c: Customer) -> Vec<String> {
    use crate::export::opt;
    let address = c.address.as_ref();
    vec![
        c.id.to_string(),
        opt(c.external_id.as_ref()),
        c.name,
        opt(c.email.as_ref()),
        opt(c.phone.as_ref()),
        c.status.as_str().to_owned(),
        opt(address.and_then(|a| a.country.as_ref())),
        opt(address.and_then(|a| a.city.as_ref())),
        c.timezone,
        opt(c.locale.as_ref()),
        opt(c.billing.legal_name.as_ref()),
        opt(c.billing.email.as_ref()),
        c.created_at.to_rfc3339(),
    ]
}

/// The customer's profile as the portal shows it (the merchant's metadata stays private).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub id: String,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressBody>,
    pub billing: BillingBody,
    /// New invoices are collected at once (wallet, then the default payment method).
    pub auto_pay: bool,
    pub timezone: String,
    /// The customer's language (BCP 47); `null`: the browser's.
    pub locale: Option<String>,
}

impl From<Customer> for ProfileView {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.into(),
            external_id: c.external_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            address: c.address.map(Into::into),
            billing: c.billing.into(),
            auto_pay: c.auto_pay,
            timezone: c.timezone,
            locale: c.locale,
        }
    }
}

/// Profile changes; only the fields the session's `permissions.profile_update.allowed_fields`
/// grant. `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ap@acme.test"}))]
pub struct ProfilePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<AddressBody>)]
    pub address: Option<Option<AddressBody>>,
    /// Replaces the billing details as a whole; `null` clears them (field `billing`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<BillingBody>)]
    pub billing: Option<Option<BillingBody>>,
    /// Switch auto-pay on or off (field `auto_pay`).
    pub auto_pay: Option<bool>,
    pub timezone: Option<String>,
    /// The customer's language, a BCP 47 tag; `null` clears it (field `locale`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "de-DE")]
    pub locale: Option<Option<String>>,
}

impl ProfilePatch {}
