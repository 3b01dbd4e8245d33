//! Customers: the merchant's buyers, each seen by exactly one tenant.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::finish;
use crate::id::CustomerId;
use crate::{DomainResult, FieldError};

crate::text_enum! {
    pub enum CustomerStatus {
        Active,
        Archived,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
}

pub type Metadata = BTreeMap<String, String>;

/// Who an invoice is addressed to, when it is not the contact above: a company's legal name,
/// tax id, accounts-payable email and billing address. Invoices and their PDFs use these
/// first and fall back to the contact fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BillingDetails {
    pub legal_name: Option<String>,
    /// Free text, as the customer wrote it (printed as is); `tax_ids` are checked.
    pub tax_id: Option<String>,
    /// The buyer's tax ids, each checked by its scheme (see `crate::tax_id`); printed on
    /// invoices and in the reverse-charge note.
    pub tax_ids: Vec<crate::tax_id::TaxId>,
    pub email: Option<String>,
    pub address: Option<Address>,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: crate::id::TenantId,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub billing: BillingDetails,
    /// New invoices are collected at once: from the wallet, then the default payment method.
    pub auto_pay: bool,
    /// IANA time zone name; day boundaries in the customer's reports use it.
    pub timezone: String,
    /// The customer's language, a BCP 47 tag in canonical case (`de-DE`, `fr`, `ar`); `None`:
    /// the browser's, then English.
    pub locale: Option<String>,
    pub metadata: Metadata,
    pub status: CustomerStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Set when the customer was created on a test clock: their billing runs on its time.
    pub test_clock_id: Option<crate::id::TestClockId>,
    /// Whether the customer pays tax (the merchant's to set).
    pub tax_exempt: crate::tax::TaxExempt,
    /// The customer's tax rates, before the account's defaults (the merchant's to set).
    pub tax_rate_ids: Vec<crate::id::TaxRateId>,
}

/// Input of a create. Optional fields left out are stored empty; `timezone` defaults to UTC.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub billing: BillingDetails,
    pub auto_pay: bool,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    pub metadata: Metadata,
    /// A test clock's id, as the client sent it.
    pub test_clock: Option<String>,
    pub tax_exempt: crate::tax::TaxExempt,
    pub tax_rate_ids: Vec<crate::id::TaxRateId>,
}

/// Input of an update: `None` leaves a field alone, `Some(None)` clears an optional field.
/// `metadata`, when given, replaces the whole map.
#[derive(Debug, Clone, Default)]
pub struct CustomerPatch {
    pub external_id: Option<Option<String>>,
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub address: Option<Option<Address>>,
    /// Replaces the billing details as a whole.
    pub billing: Option<BillingDetails>,
    pub auto_pay: Option<bool>,
    pub timezone: Option<String>,
    pub locale: Option<Option<String>>,
    pub metadata: Option<Metadata>,
    pub tax_exempt: Option<crate::tax::TaxExempt>,
    pub tax_rate_ids: Option<Vec<crate::id::TaxRateId>>,
}

impl CustomerPatch {
    /// The profile fields the patch changes, as a portal session's `profile_update` names them
    /// (`external_id`, `metadata` and the tax settings are the merchant's alone: `None` when
    /// the patch touches any).
    pub fn profile_fields(&self) -> Option<Vec<crate::portal_session::ProfileField>> {
        use crate::portal_session::ProfileField;
        if self.external_id.is_some()
            || self.metadata.is_some()
            || self.tax_exempt.is_some()
            || self.tax_rate_ids.is_some()
        {
            return None;
        }
        Some(
            [
                (self.name.is_some(), ProfileField::Name),
                (self.email.is_some(), ProfileField::Email),
                (self.phone.is_some(), ProfileField::Phone),
                (self.address.is_some(), ProfileField::Address),
                (self.timezone.is_some(), ProfileField::Timezone),
                (self.locale.is_some(), ProfileField::Locale),
                (self.billing.is_some(), ProfileField::Billing),
                (self.auto_pay.is_some(), ProfileField::AutoPay),
            ]
            .into_iter()
            .filter_map(|(given, f)| given.then_some(f))
            .collect(),
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Case-insensitive substring of name, email or external_id.
    pub q: Option<String>,
    pub email: Option<String>,
    /// `None` = every status.
    pub status: Option<CustomerStatus>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

pub const MAX_METADATA_KEYS: usize = 50;
pub const MAX_METADATA_KEY_LEN: usize = 40;
pub const MAX_METADATA_VALUE_LEN: usize = 500;

impl NewCustomer {
    /// Validates and normalises (trims, upper-cases the country, lower-cases nothing else).
    pub fn validate(mut self) -> DomainResult<Self> {
        let mut errs = Vec::new();
        self.name = self.name.trim().to_owned();
        check_name(&self.name, &mut errs);
        check_external_id(self.external_id.as_deref(), &mut errs);
        self.email = self.email.map(|e| e.trim().to_owned());
        check_email(self.email.as_deref(), &mut errs);
        check_phone(self.phone.as_deref(), &mut errs);
        self.address = self.address.map(normalise_address);
        check_address("address", self.address.as_ref(), &mut errs);
        self.billing = check_billing(self.billing, &mut errs);
        if let Some(tz) = &self.timezone {
            check_timezone(tz, &mut errs);
        }
        self.locale = self.locale.and_then(|l| canonical_locale(&l, &mut errs));
        check_metadata(&self.metadata, &mut errs);
        finish(errs, self)
    }
}

impl CustomerPatch {
    pub fn is_empty(&self) -> bool {
        self.external_id.is_none()
            && self.name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.address.is_none()
            && self.billing.is_none()
            && self.auto_pay.is_none()
            && self.timezone.is_none()
            && self.locale.is_none()
            && self.metadata.is_none()
            && self.tax_exempt.is_none()
            && self.tax_rate_ids.is_none()
    }

    pub fn validate(mut self) -> DomainResult<Self> {
        let mut errs = Vec::new();
        if self.is_empty() {
            errs.push(FieldError::new("body", "at least one field must be given"));
        }
        if let Some(name) = &mut self.name {
            *name = name.trim().to_owned();
            check_name(name, &mut errs);
        }
        if let Some(ext) = &self.external_id {
            check_external_id(ext.as_deref(), &mut errs);
        }
        if let Some(Some(email)) = &mut self.email {
            *email = email.trim().to_owned();
        }
        if let Some(email) = &self.email {
            check_email(email.as_deref(), &mut errs);
        }
        if let Some(phone) = &self.phone {
            check_phone(phone.as_deref(), &mut errs);
        }
        if let Some(address) = self.address.take() {
            let address = address.map(normalise_address);
            check_address("address", address.as_ref(), &mut errs);
            self.address = Some(address);
        }
        if let Some(billing) = self.billing.take() {
            self.billing = Some(check_billing(billing, &mut errs));
        }
        if let Some(tz) = &self.timezone {
            check_timezone(tz, &mut errs);
        }
        // `Some(None)` clears it; a refused tag fails the whole patch below.
        self.locale = match self.locale.take() {
            Some(Some(l)) => Some(canonical_locale(&l, &mut errs)),
            other => other,
        };
        if let Some(m) = &self.metadata {
            check_metadata(m, &mut errs);
        }
        finish(errs, self)
    }

    /// Applies a validated patch.
    pub fn apply(self, c: &mut Customer, now: DateTime<Utc>) {
        if let Some(v) = self.external_id {
            c.external_id = v;
        }
        if let Some(v) = self.name {
            c.name = v;
        }
        if let Some(v) = self.email {
            c.email = v;
        }
        if let Some(v) = self.phone {
            c.phone = v;
        }
        if let Some(v) = self.address {
            c.address = v;
        }
        if let Some(v) = self.billing {
            c.billing = v;
        }
        if let Some(v) = self.auto_pay {
            c.auto_pay = v;
        }
        if let Some(v) = self.timezone {
            c.timezone = v;
        }
        if let Some(v) = self.locale {
            c.locale = v;
        }
        if let Some(v) = self.metadata {
            c.metadata = v;
        }
        if let Some(v) = self.tax_exempt {
            c.tax_exempt = v;
        }
        if let Some(v) = self.tax_rate_ids {
            c.tax_rate_ids = v;
        }
        c.updated_at = now;
    }
}

fn check_len(field: &str, value: &str, max: usize, errs: &mut Vec<FieldError>) {
    if value.chars().count() > max {
        errs.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        errs.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

fn check_name(name: &str, errs: &mut Vec<FieldError>) {
    if name.is_empty() {
        errs.push(FieldError::new("name", "must not be empty"));
    }
    check_len("name", name, 255, errs);
}

/// External ids appear in URLs (`/v1/customers/external/{external_id}`), so they are limited to
/// characters that need no escaping in a path segment.
fn check_external_id(ext: Option<&str>, errs: &mut Vec<FieldError>) {
    let Some(ext) = ext else { return };
    let ok = !ext.is_empty()
        && ext.len() <= 255
        && ext
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@+=~".contains(&b));
    if !ok {
        errs.push(FieldError::new(
            "external_id",
            "must be 1 to 255 characters of letters, digits and - _ . : @ + = ~",
        ));
    }
}

/// A pragmatic shape check (one `@`, a dotted domain, no spaces); deliverability is the
/// merchant's concern.
fn check_email(email: Option<&str>, errs: &mut Vec<FieldError>) {
    check_email_field("email", email, errs)
}

pub fn check_email_field(field: &str, email: Option<&str>, errs: &mut Vec<FieldError>) {
    let Some(email) = email else { return };
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if !valid {
        errs.push(FieldError::new(
            field,
            "must be an email address such as ada@example.com",
        ));
    }
}

fn check_phone(phone: Option<&str>, errs: &mut Vec<FieldError>) {
    let Some(phone) = phone else { return };
    let digits = phone.bytes().filter(u8::is_ascii_digit).count();
    let ok = phone.len() <= 32
        && digits >= 3
        && phone
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b));
    if !ok {
        errs.push(FieldError::new(
            "phone",
            "must be a phone number of digits, spaces and + - ( ) .",
        ));
    }
}

fn normalise_address(mut a: Address) -> Address {
    a.country = a.country.map(|c| c.trim().to_ascii_uppercase());
    a
}

/// Who an invoice is addressed to, as its PDF prints it: the billing details, with the contact
/// fields where they say nothing (kept on an invoice when it is issued).
pub fn bill_to(c: &Customer) -> BillingDetails {
    resolve_billing(c.billing.clone(), c)
}

/// `billing` with the customer's contact fields where it says nothing.
pub fn resolve_billing(mut billing: BillingDetails, c: &Customer) -> BillingDetails {
    billing.legal_name = billing.legal_name.or_else(|| Some(c.name.clone()));
    billing.email = billing.email.or_else(|| c.email.clone());
    billing.address = billing.address.or_else(|| c.address.clone());
    billing
}

/// Trims the billing details, reports what is wrong with them (fields `billing.…`), and
/// returns them.
pub fn check_billing(mut b: BillingDetails, errs: &mut Vec<FieldError>) -> BillingDetails {
    let trim = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    b.legal_name = trim(b.legal_name);
    b.tax_id = trim(b.tax_id);
    b.email = trim(b.email);
    if let Some(n) = &b.legal_name {
        check_len("billing.legal_name", n, 255, errs);
    }
    if let Some(t) = &b.tax_id {
        let ok = t.len() <= 64
            && t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b" -./".contains(&c));
        if !ok {
            errs.push(FieldError::new(
                "billing.tax_id",
                "must be at most 64 letters, digits, spaces and - . /",
            ));
        }
    }
    check_email_field("billing.email", b.email.as_deref(), errs);
    b.tax_ids = crate::tax_id::check("billing.tax_ids", std::mem::take(&mut b.tax_ids), errs);
    b.address = b.address.map(normalise_address);
    check_address("billing.address", b.address.as_ref(), errs);
    b
}

fn check_address(prefix: &str, a: Option<&Address>, errs: &mut Vec<FieldError>) {
    let Some(a) = a else { return };
    for (field, value, max) in [
        ("line1", &a.line1, 200),
        ("line2", &a.line2, 200),
        ("city", &a.city, 100),
        ("state", &a.state, 100),
        ("postal_code", &a.postal_code, 20),
    ] {
        if let Some(v) = value {
            check_len(&format!("{prefix}.{field}"), v, max, errs);
        }
    }
    if let Some(country) = &a.country {
        if !is_country_code(country) {
            errs.push(FieldError::new(
                format!("{prefix}.country"),
                "must be an ISO 3166-1 alpha-2 country code such as \"DE\"",
            ));
        }
    }
}

/// A BCP 47 language tag in canonical case (`de-de` → `de-DE`), or the field's error.
fn canonical_locale(tag: &str, errs: &mut Vec<FieldError>) -> Option<String> {
    let tag = tag.trim();
    match icu_locale_core::Locale::try_from_str(tag) {
        Ok(locale) if !tag.is_empty() && tag.len() <= 35 && !locale.id.language.is_unknown() => {
            Some(locale.to_string())
        }
        _ => {
            errs.push(FieldError::new(
                "locale",
                "must be a BCP 47 language tag such as \"de-DE\", \"fr\" or \"ar\"",
            ));
            None
        }
    }
}

fn check_timezone(tz: &str, errs: &mut Vec<FieldError>) {
    if tz.parse::<chrono_tz::Tz>().is_err() {
        errs.push(FieldError::new(
            "timezone",
            "must be an IANA time zone such as \"Europe/Berlin\"",
        ));
    }
}

fn check_metadata(m: &Metadata, errs: &mut Vec<FieldError>) {
    if m.len() > MAX_METADATA_KEYS {
        errs.push(FieldError::new(
            "metadata",
            format!("must have at most {MAX_METADATA_KEYS} keys"),
        ));
    }
    for (k, v) in m {
        if k.is_empty() || k.chars().count() > MAX_METADATA_KEY_LEN {
            errs.push(FieldError::new(
                format!("metadata.{k}"),
                format!("keys must be 1 to {MAX_METADATA_KEY_LEN} characters"),
            ));
        }
        if v.chars().count() > MAX_METADATA_VALUE_LEN {
            errs.push(FieldError::new(
                format!("metadata.{k}"),
                format!("values must be at most {MAX_METADATA_VALUE_LEN} characters"),
            ));
        }
    }
}

/// ISO 3166-1 alpha-2 officially assigned codes.
fn is_country_code(c: &str) -> bool {
    const CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
        CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
        GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
        KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT \
        MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
        SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
        UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";
    c.len() == 2 && CODES.split_whitespace().any(|code| code == c)
}

/// Mutation applied to a customer inside the repository's transaction, with the row locked.
pub type CustomerChange<'a> =
    &'a mut dyn FnMut(&mut crate::customer::Customer) -> crate::DomainResult<()>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainError;

    fn base() -> NewCustomer {
        NewCustomer {
            name: "Ada".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_input_is_normalised() {
        let c = NewCustomer {
            email: Some(" ada@example.com ".into()),
            address: Some(Address {
                country: Some("de".into()),
                ..Default::default()
            }),
            timezone: Some("Europe/Berlin".into()),
            ..base()
        }
        .validate()
        .unwrap();
        assert_eq!(c.email.as_deref(), Some("ada@example.com"));
        assert_eq!(c.address.unwrap().country.as_deref(), Some("DE"));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let err = NewCustomer {
            name: " ".into(),
            email: Some("not-an-email".into()),
            external_id: Some("has space".into()),
            address: Some(Address {
                country: Some("XX".into()),
                ..Default::default()
            }),
            timezone: Some("Mars/Olympus".into()),
            metadata: (0..51).map(|i| (format!("k{i}"), "v".into())).collect(),
            ..base()
        }
        .validate()
        .unwrap_err();
        let DomainError::Validation(errs) = err else {
            panic!("expected validation error")
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "name",
            "email",
            "external_id",
            "address.country",
            "timezone",
            "metadata",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn empty_patch_is_refused() {
        assert!(CustomerPatch::default().validate().is_err());
    }
}
