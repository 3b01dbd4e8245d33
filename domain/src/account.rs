//! The merchant's account as its customers see it: the name and address on every invoice PDF,
//! support contacts, and the look a portal frontend renders (logo, colours). Changed by the
//! merchant's admin key; read by the portal as branding.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::check_email_field;
use crate::error::check_text;
use crate::portal_session::{is_web_url, Permissions, Sections};
use crate::{DomainError, DomainResult, FieldError};

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
    /// The sections a new portal session shows when its creator does not say (every section
    /// otherwise).
    pub portal_sections: Option<Sections>,
    /// The permissions a new portal session has when its creator does not say (none
    /// otherwise).
    pub portal_permissions: Option<Permissions>,
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
    pub portal_sections: Option<Option<Sections>>,
    pub portal_permissions: Option<Option<Permissions>>,
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
        ] {
            if let Some(v) = value {
                *field = v;
            }
        }
        let errors = next.problems();
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        *self = next;
        Ok(())
    }

    fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let s = &self.settings;
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
        if s.support_url
            .as_ref()
            .is_some_and(|u| !is_web_url(u, false))
        {
            errors.push(FieldError::new(
                "support_url",
                "must be an absolute http(s) URL of at most 2048 characters",
            ));
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

fn is_hex_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            id: "ten_1".into(),
            name: "default".into(),
            settings: AccountSettings::default(),
            created_at: Utc::now(),
        }
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
