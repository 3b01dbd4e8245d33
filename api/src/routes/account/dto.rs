//! The account as the admin API and the portal see it.

use chrono::{DateTime, Utc};
use domain::account::{Account, AccountPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::common::present;
use crate::routes::customers::dto::TaxIdBody;
use crate::routes::invoices::dto::rate_ids;
use crate::routes::portal_sessions::dto::{PermissionsBody, SectionsBody};

/// A change to the account. Fields left out keep their value; `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Billing GmbH", "legal_address": "Hauptstr. 1\n10115 Berlin\nGermany",
    "support_email": "billing@acme.test", "logo_url": "https://cdn.acme.test/logo.svg",
    "primary_color": "#1a2b3c", "invoice_footer": "IBAN DE89 3704 0044 0532 0130 00"}))]
pub struct UpdateAccount {
    /// The merchant's name on invoices and in the portal (1 to 200 characters).
    pub name: Option<String>,
    /// Printed under the name on invoices; newlines allowed (at most 500 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub legal_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub support_email: Option<Option<String>>,
    /// An http(s) URL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub support_url: Option<Option<String>>,
    /// An https URL (portal pages load it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub logo_url: Option<Option<String>>,
    /// `#rrggbb`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub primary_color: Option<Option<String>>,
    /// `#rrggbb`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub accent_color: Option<Option<String>>,
    /// Printed at the foot of every invoice; newlines allowed (at most 1000 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub invoice_footer: Option<Option<String>>,
    /// The merchant's https page where customers add a payment method through the payment
    /// provider (`POST /v1/portal/payment_methods/setup` hands them over to it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub payment_method_setup_url: Option<Option<String>>,
    /// The merchant's https payment page for paying an invoice with a saved payment method
    /// (portal `POST /v1/portal/invoices/{id}/pay` with `source: payment_method`), with any of
    /// `{invoice_id}`, `{payment_id}`, `{customer_id}`, `{payment_method_id}`, `{amount}` and
    /// `{currency}` filled in per payment. `null`: customers pay from wallets only.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "https://pay.example.com/invoices/{invoice_id}?payment={payment_id}")]
    pub payment_url_template: Option<Option<String>>,
    /// Where this account's portal frontend lives (absolute http(s) URL): new sessions' `url`
    /// is this plus `?code=…`. `null`: the server's `PORTAL_URL_BASE`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "https://billing.acme.test/portal")]
    pub portal_url_base: Option<Option<String>>,
    /// What a new portal session shows when its creator leaves `sections` (or one of them)
    /// out; sections left out here are on. `null`: every section.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SectionsBody>)]
    pub portal_sections: Option<Option<SectionsBody>>,
    /// What a new portal session may do when its creator leaves `permissions` (or one of them)
    /// out; permissions left out here are off. `null`: nothing.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PermissionsBody>)]
    pub portal_permissions: Option<Option<PermissionsBody>>,
    /// Replaces the account's default tax rates: active rates of the account, applied to every
    /// invoice line that has no rate of its own, its plan's or its customer's. `[]`: none.
    #[schema(example = json!(["txr_01jd3x6v9f5m2q8r7t4w0y1z3a"]))]
    pub default_tax_rate_ids: Option<Vec<String>>,
    /// Replaces the merchant's tax ids (at most 5, each checked by its scheme), printed on
    /// every invoice as the seller's.
    pub tax_ids: Option<Vec<TaxIdBody>>,
    /// An active coupon offered, once per subscription, to a customer who starts to cancel in
    /// the portal (the cancel button stays where it is). `null`: no offer.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub retention_coupon_id: Option<Option<String>>,
    /// Switches messages the account e-mails its customers on or off; switches left out keep
    /// their value.
    pub emails: Option<EmailSwitchesBody>,
    /// Customers may open their portal by asking for a sign-in link by e-mail (the hosted
    /// portal's `/portal/login?account=<id>`, `POST /v1/portal/login_links`). Off by default.
    pub self_sign_in: Option<bool>,
    /// Replaces the sites that may show the hosted portal in a frame (at most 10 https origins,
    /// `https://host[:port]`): the portal's `Content-Security-Policy: frame-ancestors`. `[]`:
    /// none (the default).
    #[schema(example = json!(["https://shop.acme.test"]))]
    pub portal_frame_ancestors: Option<Vec<String>>,
}

/// Which messages the account e-mails its customers (each on by default). Sent only when the
/// server has an SMTP server (`PORTAL_SMTP_URL`); recorded in `GET /v1/emails` either way.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSwitchesBody {
    /// A link to the portal, when the merchant sends one (`POST /v1/customers/{id}/portal_link`).
    pub portal_link: Option<bool>,
    /// A sign-in link a customer asked for.
    pub login_link: Option<bool>,
    /// Each finalized invoice, with its PDF.
    pub invoice_issued: Option<bool>,
    /// A receipt for each successful payment.
    pub payment_receipt: Option<bool>,
    /// A notice for each failed payment, with what is still due.
    pub payment_failed: Option<bool>,
    /// A notice when a wallet's balance falls below its threshold.
    pub credit_balance_low: Option<bool>,
    /// A notice when one of the customer's own alerts fires.
    pub alert_triggered: Option<bool>,
}

impl From<EmailSwitchesBody> for domain::email::EmailSwitches {
    fn from(b: EmailSwitchesBody) -> Self {
        Self {
            portal_link: b.portal_link,
            login_link: b.login_link,
            invoice_issued: b.invoice_issued,
            payment_receipt: b.payment_receipt,
            payment_failed: b.payment_failed,
            credit_balance_low: b.credit_balance_low,
            alert_triggered: b.alert_triggered,
        }
    }
}

/// Which messages the account e-mails its customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailSettingsView {
    pub portal_link: bool,
    pub login_link: bool,
    pub invoice_issued: bool,
    pub payment_receipt: bool,
    pub payment_failed: bool,
    pub credit_balance_low: bool,
    pub alert_triggered: bool,
}

impl From<domain::email::EmailSettings> for EmailSettingsView {
    fn from(s: domain::email::EmailSettings) -> Self {
        Self {
            portal_link: s.portal_link,
            login_link: s.login_link,
            invoice_issued: s.invoice_issued,
            payment_receipt: s.payment_receipt,
            payment_failed: s.payment_failed,
            credit_balance_low: s.credit_balance_low,
            alert_triggered: s.alert_triggered,
        }
    }
}

impl UpdateAccount {
    /// The patch the body asks for; a malformed rate id is a 422 naming it.
    pub fn into_patch(self) -> Result<AccountPatch, crate::error::ApiError> {
        let b = self;
        let default_tax_rate_ids = b
            .default_tax_rate_ids
            .as_deref()
            .map(|ids| rate_ids("default_tax_rate_ids", ids))
            .transpose()?;
        let retention_coupon_id = match b.retention_coupon_id {
            Some(Some(id)) => Some(Some(domain::id::CouponId::parse(&id).ok_or_else(|| {
                domain::DomainError::validation("retention_coupon_id", "is not a coupon id")
            })?)),
            Some(None) => Some(None),
            None => None,
        };
        Ok(AccountPatch {
            retention_coupon_id,
            emails: b.emails.map(Into::into),
            self_sign_in: b.self_sign_in,
            portal_frame_ancestors: b.portal_frame_ancestors,
            name: b.name,
            legal_address: b.legal_address,
            support_email: b.support_email,
            support_url: b.support_url,
            logo_url: b.logo_url,
            primary_color: b.primary_color,
            accent_color: b.accent_color,
            invoice_footer: b.invoice_footer,
            payment_method_setup_url: b.payment_method_setup_url,
            payment_url_template: b.payment_url_template,
            portal_url_base: b.portal_url_base,
            portal_sections: b.portal_sections.map(|v| v.map(Into::into)),
            portal_permissions: b.portal_permissions.map(|v| v.map(Into::into)),
            default_tax_rate_ids,
            tax_ids: b
                .tax_ids
                .map(|ids| ids.into_iter().map(Into::into).collect()),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    #[schema(example = "ten_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    #[schema(example = "Acme Billing GmbH")]
    pub name: String,
    pub legal_address: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    pub logo_url: Option<String>,
    #[schema(example = "#1a2b3c")]
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
    pub invoice_footer: Option<String>,
    pub payment_method_setup_url: Option<String>,
    pub payment_url_template: Option<String>,
    /// `null`: the server's `PORTAL_URL_BASE`.
    pub portal_url_base: Option<String>,
    /// What new portal sessions show unless their creator says otherwise.
    pub portal_sections: SectionsBody,
    /// What new portal sessions may do unless their creator says otherwise.
    pub portal_permissions: PermissionsBody,
    /// The tax rates of lines no more specific rate applies to.
    pub default_tax_rate_ids: Vec<String>,
    /// The merchant's tax ids, printed on every invoice as the seller's.
    pub tax_ids: Vec<TaxIdBody>,
    /// The coupon offered to a customer who starts to cancel.
    pub retention_coupon_id: Option<String>,
    /// Which messages the account e-mails its customers.
    pub emails: EmailSettingsView,
    /// Customers may ask for a sign-in link by e-mail.
    pub self_sign_in: bool,
    /// Sites that may show the hosted portal in a frame.
    pub portal_frame_ancestors: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        let (sections, permissions) = a.settings.session_defaults();
        let s = a.settings;
        Self {
            id: a.id,
            name: a.name,
            legal_address: s.legal_address,
            support_email: s.support_email,
            support_url: s.support_url,
            logo_url: s.logo_url,
            primary_color: s.primary_color,
            accent_color: s.accent_color,
            invoice_footer: s.invoice_footer,
            payment_method_setup_url: s.payment_method_setup_url,
            payment_url_template: s.payment_url_template,
            portal_url_base: s.portal_url_base,
            portal_sections: sections.into(),
            portal_permissions: permissions.into(),
            default_tax_rate_ids: s
                .default_tax_rate_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            tax_ids: s.tax_ids.into_iter().map(Into::into).collect(),
            retention_coupon_id: s.retention_coupon_id.map(String::from),
            emails: s.emails.into(),
            self_sign_in: s.self_sign_in,
            portal_frame_ancestors: s.portal_frame_ancestors,
            created_at: a.created_at,
        }
    }
}

/// What a portal frontend needs to render the merchant's look.
#[derive(Debug, Serialize, ToSchema)]
pub struct Branding {
    /// The merchant's account: the hosted portal keeps it in its address, so a reload inside a
    /// frame is allowed by the same `frame-ancestors`.
    #[schema(example = "ten_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub account_id: String,
    #[schema(example = "Acme Billing GmbH")]
    pub name: String,
    #[schema(example = "https://cdn.acme.test/logo.svg")]
    pub logo_url: Option<String>,
    #[schema(example = "#1a2b3c")]
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
}

impl From<Account> for Branding {
    fn from(a: Account) -> Self {
        let s = a.settings;
        Self {
            account_id: a.id,
            name: a.name,
            logo_url: s.logo_url,
            primary_color: s.primary_color,
            accent_color: s.accent_color,
            support_email: s.support_email,
            support_url: s.support_url,
        }
    }
}
