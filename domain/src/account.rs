//! The merchant's account as its customers see it: the name and address on every invoice PDF,
//! support contacts, and the look a portal frontend renders (logo, colours). Changed by the
//! merchant's admin key; read by the portal as branding.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::check_email_field;
use crate::error::check_text;
use crate::portal_session::{is_web_url, Permissions, Sections};
use crate::{DomainError, DomainResult, FieldError};

/// The name the first account gets on an empty database, until the merchant names it.
pub const FIRST_ACCOUNT_NAME: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// The merchant's display name (invoices, portal).
    pub name: String,
    pub settings: AccountSettings,
    pub created_at: DateTime<Utc>,
}

/// Every field optional; stored as one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    /// Printed under the name on invoices; may span lines.
    pub legal_address: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    /// An `https` URL: a portal page loads it, so plain http would be mixed content.
    pub logo_url: Option<String>,
    /// `#rrggbb`.
    pub primary_color: Option<String>,
    /// `#rrggbb`.
    pub accent_color: Option<String>,
    /// Printed at the foot of every invoice (payment instructions, registration numbers…).
    pub invoice_footer: Option<String>,
    /// The merchant's page (an https URL) where a customer adds a payment method through the
    /// payment provider; the portal hands customers over to it.
    pub payment_method_setup_url: Option<String>,
    /// Where a customer pays an invoice with a saved payment method: an https URL of the
    /// merchant's payment page, with any of the placeholders `{invoice_id}`, `{payment_id}`,
    /// `{customer_id}`, `{payment_method_id}`, `{amount}` and `{currency}` filled in for each
    /// pending payment. Without it, the portal offers only wallet payment.
    pub payment_url_template: Option<String>,
    /// Where this account's portal frontend lives (absolute http(s) URL): a new session's `url`
    /// is this plus `?code=…`. Default: the server's `PORTAL_URL_BASE`.
    pub portal_url_base: Option<String>,
    /// The sections a new portal session shows when its creator does not say (every section
    /// otherwise).
    pub portal_sections: Option<Sections>,
    /// The permissions a new portal session has when its creator does not say (none
    /// otherwise).
    pub portal_permissions: Option<Permissions>,
    /// The tax rates of every invoice line no more specific rate applies to (see
    /// `crate::tax`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub default_tax_rate_ids: Vec<crate::id::TaxRateId>,
    /// The merchant's tax ids, printed on every invoice as the seller's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tax_ids: Vec<crate::tax_id::TaxId>,
    /// The coupon a customer who starts to cancel is offered, once per subscription (see
    /// `SubscriptionService::retention_offer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_coupon_id: Option<crate::id::CouponId>,
    /// Which messages the account e-mails its customers (each on unless switched off).
    pub emails: crate::email::EmailSettings,
    /// Customers may open their portal by asking for a sign-in link by e-mail
    /// (`POST /v1/portal/login_links`). Off by default.
    pub self_sign_in: bool,
    /// Sites (https origins) that may show the hosted portal in a frame: its
    /// `Content-Security-Policy: frame-ancestors`. Empty: none may (`'none'`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub portal_frame_ancestors: Vec<String>,
}

impl AccountSettings {
    /// What a new session starts from: the account's defaults, or the built-in ones.
    pub fn session_defaults(&self) -> (Sections, Permissions) {
        (
            self.portal_sections.unwrap_or_default(),
            self.portal_permissions.clone().unwrap_or_default(),
        )
    }
}

/// Origins that may frame the hosted portal, at most.
pub const MAX_FRAME_ANCESTORS: usize = 10;

/// `https://host` or `https://host:port`, in the characters of a host name: what a browser
/// compares a framing page's origin with. The value goes into a response header, so nothing
/// else (no space, `;` or `,`, which would end the directive) passes.
pub fn is_https_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("https://") else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    host_ok && port_ok
}

/// A change: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub name: Option<String>,
    pub legal_address: Option<Option<String>>,
    pub support_email: Option<Option<String>>,
    pub support_url: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub primary_color: Option<Option<String>>,
    pub accent_color: Option<Option<String>>,
    pub invoice_footer: Option<Option<String>>,
    pub payment_method_setup_url: Option<Option<String>>,
    pub payment_url_template: Option<Option<String>>,
    pub portal_url_base: Option<Option<String>>,
    pub portal_sections: Option<Option<Sections>>,
    pub portal_permissions: Option<Option<Permissions>>,
    /// Replaces the account's default tax rates (checked by the service: active rates of the
    /// account).
    pub default_tax_rate_ids: Option<Vec<crate::id::TaxRateId>>,
    /// Replaces the merchant's tax ids (each checked by its scheme).
    pub tax_ids: Option<Vec<crate::tax_id::TaxId>>,
    /// `Some(None)` clears it (checked by the service: an active coupon of the account).
    pub retention_coupon_id: Option<Option<crate::id::CouponId>>,
    /// Changes the account's e-mail switches.
    pub emails: Option<crate::email::EmailSwitches>,
    pub self_sign_in: Option<bool>,
    /// Replaces the origins that may frame the hosted portal.
    pub portal_frame_ancestors: Option<Vec<String>>,
}

impl Account {
    /// Applies `patch` if every field it sets is valid; otherwise reports them all and changes
    /// nothing.
    pub fn apply(&mut self, patch: AccountPatch) -> DomainResult<()> {
        let mut next = self.clone();
        let s = &mut next.settings;
        if let Some(v) = patch.name {
            next.name = v;
        }
        if let Some(v) = patch.portal_sections {
            s.portal_sections = v;
        }
        if let Some(v) = patch.portal_permissions {
            s.portal_permissions = v;
        }
        if let Some(v) = patch.default_tax_rate_ids {
            s.default_tax_rate_ids = v;
        }
        if let Some(v) = patch.retention_coupon_id {
            s.retention_coupon_id = v;
        }
        if let Some(v) = patch.emails {
            s.emails.apply(v);
        }
        if let Some(v) = patch.self_sign_in {
            s.self_sign_in = v;
        }
        if let Some(v) = patch.portal_frame_ancestors {
            s.portal_frame_ancestors = v.iter().map(|o| o.to_ascii_lowercase()).collect();
        }
        let mut tax_id_errors = Vec::new();
        if let Some(v) = patch.tax_ids {
            s.tax_ids = crate::tax_id::check("tax_ids", v, &mut tax_id_errors);
        }
        for (field, value) in [
            (&mut s.legal_address, patch.legal_address),
            (&mut s.support_email, patch.support_email),
            (&mut s.support_url, patch.support_url),
            (&mut s.logo_url, patch.logo_url),
            (&mut s.primary_color, patch.primary_color),
            (&mut s.accent_color, patch.accent_color),
            (&mut s.invoice_footer, patch.invoice_footer),
            (
                &mut s.payment_method_setup_url,
                patch.payment_method_setup_url,
            ),
            (&mut s.payment_url_template, patch.payment_url_template),
            (&mut s.portal_url_base, patch.portal_url_base),
        ] {
            if let Some(v) = value {
                *field = v;
            }
        }
        let mut errors = next.problems();
        errors.extend(tax_id_errors);
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        *self = next;
        Ok(())
    }

    fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let s = &self.settings;
        if s.portal_frame_ancestors.len() > MAX_FRAME_ANCESTORS
            || !s.portal_frame_ancestors.iter().all(|o| is_https_origin(o))
        {
            errors.push(FieldError::new(
                "portal_frame_ancestors",
                format!("must be at most {MAX_FRAME_ANCESTORS} https origins (https://host or https://host:port, nothing after)"),
            ));
        }
        check_text(&mut errors, "name", Some(&self.name), 200, false);
        check_text(
            &mut errors,
            "legal_address",
            s.legal_address.as_ref(),
            500,
            true,
        );
        check_text(
            &mut errors,
            "invoice_footer",
            s.invoice_footer.as_ref(),
            1000,
            true,
        );
        check_email_field("support_email", s.support_email.as_deref(), &mut errors);
        for (field, url) in [
            ("support_url", &s.support_url),
            ("portal_url_base", &s.portal_url_base),
        ] {
            if url.as_ref().is_some_and(|u| !is_web_url(u, false)) {
                errors.push(FieldError::new(
                    field,
                    "must be an absolute http(s) URL of at most 2048 characters",
                ));
            }
        }
        for (field, url) in [
            ("logo_url", &s.logo_url),
            ("payment_method_setup_url", &s.payment_method_setup_url),
        ] {
            if url.as_ref().is_some_and(|u| !is_web_url(u, true)) {
                errors.push(FieldError::new(
                    field,
                    "must be an absolute https URL of at most 2048 characters",
                ));
            }
        }
        if let Some(t) = &s.payment_url_template {
            if !t.starts_with("https://") || !is_web_url(&fill_template(t, &SAMPLE), true) {
                errors.push(FieldError::new(
                    "payment_url_template",
                    "must be an absolute https URL of at most 2048 characters (placeholders filled in)",
                ));
            }
            if let Some(p) = unknown_placeholder(t) {
                errors.push(FieldError::new(
                    "payment_url_template",
                    format!(
                        "has an unknown placeholder {{{p}}}: use {}",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ),
                ));
            }
        }
        if let Some(p) = &s.portal_permissions {
            let mut fields = p.profile_update.allowed_fields.clone();
            fields.sort();
            fields.dedup();
            if fields.len() != p.profile_update.allowed_fields.len() {
                errors.push(FieldError::new(
                    "portal_permissions.profile_update.allowed_fields",
                    "must not repeat a field",
                ));
            }
        }
        for (field, colour) in [
            ("primary_color", &s.primary_color),
            ("accent_color", &s.accent_color),
        ] {
            if colour.as_ref().is_some_and(|c| !is_hex_colour(c)) {
                errors.push(FieldError::new(field, "must be a colour as #rrggbb"));
            }
        }
        errors
    }
}

/// What a payment URL template may name.
const PLACEHOLDERS: [&str; 6] = [
    "invoice_id",
    "payment_id",
    "customer_id",
    "payment_method_id",
    "amount",
    "currency",
];

/// Values for checking a template's shape.
const SAMPLE: [(&str, &str); 6] = [
    ("invoice_id", "inv_x"),
    ("payment_id", "pay_x"),
    ("customer_id", "cus_x"),
    ("payment_method_id", "pm_x"),
    ("amount", "1.00"),
    ("currency", "USD"),
];

/// The template with each `{name}` replaced by its value (values are ids, decimals and currency
/// codes: nothing to escape in a URL).
pub fn fill_template(template: &str, values: &[(&str, &str)]) -> String {
    let mut url = template.to_owned();
    for (name, value) in values {
        url = url.replace(&format!("{{{name}}}"), value);
    }
    url
}

/// The first `{…}` in the template that is not a known placeholder.
fn unknown_placeholder(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let name = after.split('}').next().unwrap_or(after);
        if !PLACEHOLDERS.contains(&name) || !after.contains('}') {
            return Some(name.to_owned());
        }
        rest = &after[name.len() + 1..];
    }
    None
}

fn is_hex_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_are_bare_https_origins() {
        for ok in [
            "https://shop.example.com",
            "https://shop.example.com:8443",
            "https://localhost",
        ] {
            assert!(is_https_origin(ok), "{ok}");
        }
        for bad in [
            "http://shop.example.com",
            "https://shop.example.com/",
            "https://shop.example.com/account",
            "https://shop.example.com; script-src *",
            "https://a.test https://b.test",
            "https://a.test,https://b.test",
            "https://*.example.com",
            "https://",
            "https://shop.example.com:0",
            "https://shop.example.com:99999",
            "https://user@shop.example.com",
            "'self'",
            "*",
        ] {
            assert!(!is_https_origin(bad), "{bad}");
        }
    }

    fn account() -> Account {
        Account {
            id: "ten_1".into(),
            name: "default".into(),
            settings: AccountSettings::default(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn payment_url_templates_name_known_placeholders_only() {
        let t = "https://pay.example.com/{invoice_id}?p={payment_id}&a={amount}";
        assert_eq!(unknown_placeholder(t), None);
        assert_eq!(
            fill_template(
                t,
                &[
                    ("invoice_id", "inv_1"),
                    ("payment_id", "pay_2"),
                    ("amount", "9.50")
                ]
            ),
            "https://pay.example.com/inv_1?p=pay_2&a=9.50"
        );
        assert_eq!(
            unknown_placeholder("https://x.example/{invoice}").as_deref(),
            Some("invoice")
        );
        assert_eq!(
            unknown_placeholder("https://x.example/{invoice_id").as_deref(),
            Some("invoice_id")
        );
        let mut a = account();
        for bad in [
            "http://x.example/{invoice_id}",
            "https://x.example/{nope}",
            "https://",
        ] {
            let patch = AccountPatch {
                payment_url_template: Some(Some(bad.into())),
                ..Default::default()
            };
            assert!(a.apply(patch).is_err(), "{bad}");
        }
        assert_eq!(a.settings.payment_url_template, None);
    }

    #[test]
    fn a_valid_patch_applies_and_null_clears() {
        let mut a = account();
        a.apply(AccountPatch {
            name: Some("Acme Billing GmbH".into()),
            legal_address: Some(Some("Hauptstr. 1\n10115 Berlin".into())),
            primary_color: Some(Some("#1A2b3C".into())),
            logo_url: Some(Some("https://cdn.acme.test/logo.svg".into())),
            ..AccountPatch::default()
        })
        .unwrap();
        assert_eq!(a.name, "Acme Billing GmbH");
        a.apply(AccountPatch {
            logo_url: Some(None),
            ..AccountPatch::default()
        })
        .unwrap();
        assert_eq!(a.settings.logo_url, None);
        assert_eq!(a.settings.primary_color.as_deref(), Some("#1A2b3C"));
    }

    #[test]
    fn a_bad_patch_reports_every_field_and_changes_nothing() {
        let mut a = account();
        let before = a.clone();
        let Err(DomainError::Validation(errors)) = a.apply(AccountPatch {
            name: Some(" ".into()),
            logo_url: Some(Some("http://cdn.acme.test/logo.svg".into())),
            primary_color: Some(Some("#12345".into())),
            accent_color: Some(Some("red".into())),
            support_email: Some(Some("nobody".into())),
            ..AccountPatch::default()
        }) else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "support_email",
                "logo_url",
                "primary_color",
                "accent_color"
            ]
        );
        assert_eq!(a, before);
    }
}
