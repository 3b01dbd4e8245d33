//! Saved payment methods: a record of what the merchant's payment provider holds for a
//! customer — the provider's token (`provider_reference`) and what a portal shows (brand, last
//! four digits, expiry). Card numbers never reach this service: a reference that looks like
//! one is refused. At most one method per customer is the default (the database enforces it).

use chrono::{DateTime, Datelike, Utc};

use crate::error::check_text;
use crate::id::{CustomerId, PaymentMethodId};
use crate::{DomainError, DomainResult, ErrorCode, FieldError};

crate::text_enum! {
    pub enum MethodType {
        Card,
        SepaDebit,
        BankTransfer,
        Upi,
        Other,
    }
}

crate::text_enum! {
    /// What a method is now. `expired` is never stored: a card whose expiry month has passed
    /// reads as expired.
    pub enum MethodStatus {
        Active,
        Expired,
        Detached,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    pub id: PaymentMethodId,
    pub tenant_id: crate::id::TenantId,
    pub customer_id: CustomerId,
    pub kind: MethodType,
    pub provider: String,
    pub provider_reference: String,
    pub display: Display,
    pub is_default: bool,
    /// `Active` or `Detached`; see [`PaymentMethod::status_at`].
    pub stored_status: MethodStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub detached_at: Option<DateTime<Utc>>,
}

/// What a portal shows of a method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Display {
    pub brand: Option<String>,
    pub last4: Option<String>,
    pub exp_month: Option<u32>,
    pub exp_year: Option<i32>,
    pub holder_name: Option<String>,
    pub bank_name: Option<String>,
}

/// A method as the merchant's backend reports it.
#[derive(Debug, Clone)]
pub struct NewPaymentMethod {
    pub kind: MethodType,
    pub provider: String,
    pub provider_reference: String,
    pub display: Display,
    /// Make it the customer's default (the first method a customer gets is the default anyway).
    pub make_default: bool,
}

/// A change from the merchant's backend, e.g. a card updater's new expiry. `None` keeps a
/// field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct MethodChange {
    pub brand: Option<Option<String>>,
    pub exp_month: Option<Option<u32>>,
    pub exp_year: Option<Option<i32>>,
    pub holder_name: Option<Option<String>>,
    pub bank_name: Option<Option<String>>,
}

const MAX_TEXT: usize = 200;

impl PaymentMethod {
    pub fn new(
        tenant_id: &crate::id::TenantId,
        customer_id: CustomerId,
        input: NewPaymentMethod,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        let mut errors = Vec::new();
        check_text(&mut errors, "provider", Some(&input.provider), 100, false);
        check_text(
            &mut errors,
            "provider_reference",
            Some(&input.provider_reference),
            255,
            false,
        );
        refuse_card_number(&mut errors, "provider", Some(&input.provider));
        if looks_like_card_number(&input.provider_reference) {
            errors.push(FieldError::new(
                "provider_reference",
                "looks like a card number; send the provider's token, never card data",
            ));
        }
        if let Some(last4) = &input.display.last4 {
            if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(FieldError::new("last4", "must be exactly four digits"));
            }
        }
        check_display(&mut errors, &input.display);
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        Ok(Self {
            id: PaymentMethodId::new(),
            tenant_id: tenant_id.clone(),
            customer_id,
            kind: input.kind,
            provider: input.provider,
            provider_reference: input.provider_reference,
            display: input.display,
            is_default: input.make_default,
            stored_status: MethodStatus::Active,
            created_at: now,
            updated_at: now,
            detached_at: None,
        })
    }

    /// Active, expired (the last day of its expiry month has passed) or detached.
    pub fn status_at(&self, now: DateTime<Utc>) -> MethodStatus {
        if self.stored_status == MethodStatus::Detached {
            return MethodStatus::Detached;
        }
        match (self.display.exp_year, self.display.exp_month) {
            (Some(y), Some(m)) if (now.year(), now.month()) > (y, m) => MethodStatus::Expired,
            _ => MethodStatus::Active,
        }
    }

    /// Can pay and be the default: not detached, not expired.
    pub fn usable_at(&self, now: DateTime<Utc>) -> DomainResult<()> {
        match self.status_at(now) {
            MethodStatus::Active => Ok(()),
            other => Err(DomainError::Conflict {
                code: ErrorCode::PaymentMethodUnusable,
                message: format!("The payment method is {}.", other.as_str()),
            }),
        }
    }

    pub fn apply(&mut self, change: MethodChange, now: DateTime<Utc>) -> DomainResult<()> {
        self.not_detached()?;
        let mut d = self.display.clone();
        if let Some(v) = change.brand {
            d.brand = v;
        }
        if let Some(v) = change.exp_month {
            d.exp_month = v;
        }
        if let Some(v) = change.exp_year {
            d.exp_year = v;
        }
        if let Some(v) = change.holder_name {
            d.holder_name = v;
        }
        if let Some(v) = change.bank_name {
            d.bank_name = v;
        }
        let mut errors = Vec::new();
        check_display(&mut errors, &d);
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        self.display = d;
        self.updated_at = now;
        Ok(())
    }

    /// Removes the method from the customer: it stays on record (payments may name it) but can
    /// no longer be used or be the default.
    pub fn detach(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        self.not_detached()?;
        self.stored_status = MethodStatus::Detached;
        self.is_default = false;
        self.detached_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    fn not_detached(&self) -> DomainResult<()> {
        if self.stored_status == MethodStatus::Detached {
            return Err(DomainError::Conflict {
                code: ErrorCode::PaymentMethodUnusable,
                message: "The payment method is detached.".into(),
            });
        }
        Ok(())
    }
}

fn check_display(errors: &mut Vec<FieldError>, d: &Display) {
    check_text(errors, "brand", d.brand.as_ref(), 40, false);
    check_text(
        errors,
        "holder_name",
        d.holder_name.as_ref(),
        MAX_TEXT,
        false,
    );
    check_text(errors, "bank_name", d.bank_name.as_ref(), MAX_TEXT, false);
    for (field, text) in [
        ("brand", &d.brand),
        ("holder_name", &d.holder_name),
        ("bank_name", &d.bank_name),
    ] {
        refuse_card_number(errors, field, text.as_deref());
    }
    if d.exp_month.is_some_and(|m| !(1..=12).contains(&m)) {
        errors.push(FieldError::new("exp_month", "must be between 1 and 12"));
    }
    if d.exp_year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        errors.push(FieldError::new("exp_year", "must be between 2000 and 2100"));
    }
    if d.exp_month.is_some() != d.exp_year.is_some() {
        errors.push(FieldError::new(
            "exp_year",
            "exp_month and exp_year go together",
        ));
    }
}

/// A free-text field must never carry a card number, whatever else it says: the method's
/// fields are shown in the portal and logged nowhere, but card data must not be stored at all.
fn refuse_card_number(errors: &mut Vec<FieldError>, field: &str, text: Option<&str>) {
    if text.is_some_and(contains_card_number) {
        errors.push(FieldError::new(
            field,
            "contains what looks like a card number; card data is never stored",
        ));
    }
}

/// Whether `s` holds a card number: 13 to 19 digits passing the Luhn check, written together
/// or in groups split by single spaces or dashes (`4242 4242 4242 4242`), anywhere in the text.
/// Whole groups only: `4242424242424241` is not read as a card number hiding inside it.
fn contains_card_number(s: &str) -> bool {
    // Runs of digit groups: a group ends at a separator, a run at anything else.
    let mut runs: Vec<Vec<Vec<u32>>> = vec![vec![Vec::new()]];
    for c in s.chars() {
        let run = runs.last_mut().expect("one run");
        match c {
            '0'..='9' => run
                .last_mut()
                .expect("one group")
                .push(c.to_digit(10).expect("a digit")),
            ' ' | '-' if run.last().is_some_and(|g| !g.is_empty()) => run.push(Vec::new()),
            _ => runs.push(vec![Vec::new()]),
        }
    }
    runs.iter().any(|groups| {
        (0..groups.len()).any(|from| {
            let mut digits = Vec::new();
            groups[from..].iter().any(|g| {
                digits.extend_from_slice(g);
                (13..=19).contains(&digits.len()) && luhn(&digits)
            })
        })
    })
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (1, dd) if dd > 9 => dd - 9,
            (1, dd) => dd,
            _ => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// 12 to 19 digits (spaces and dashes aside) passing the Luhn check: a primary account number.
fn looks_like_card_number(s: &str) -> bool {
    let digits: Vec<u32> = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    (12..=19).contains(&digits.len()) && luhn(&digits)
}

/// Which of a customer's payment methods a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MethodFilter {
    /// Detached methods too (the admin's `include_detached`); a portal never sees them.
    pub include_detached: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn card(exp: Option<(u32, i32)>) -> NewPaymentMethod {
        NewPaymentMethod {
            kind: MethodType::Card,
            provider: "stripe".into(),
            provider_reference: "pm_1Q2w3E4r".into(),
            display: Display {
                brand: Some("visa".into()),
                last4: Some("4242".into()),
                exp_month: exp.map(|e| e.0),
                exp_year: exp.map(|e| e.1),
                ..Display::default()
            },
            make_default: false,
        }
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_card_expires_after_the_last_day_of_its_month() {
        let pm = PaymentMethod::new(
            &"ten".into(),
            CustomerId::new(),
            card(Some((11, 2026))),
            at(2026, 1, 1),
        )
        .unwrap();
        assert_eq!(pm.status_at(at(2026, 11, 30)), MethodStatus::Active);
        assert_eq!(pm.status_at(at(2026, 12, 1)), MethodStatus::Expired);
        assert!(pm.usable_at(at(2026, 12, 1)).is_err());
    }

    #[test]
    fn card_numbers_are_refused_in_free_text() {
        assert!(contains_card_number("Ada 4242 4242 4242 4242"));
        assert!(contains_card_number("card:4000-0566-5566-5556 exp 12/30"));
        assert!(contains_card_number("x378282246310005x"));
        assert!(!contains_card_number("Ada Lovelace"));
        assert!(!contains_card_number("+1 555-123-4567"));
        assert!(!contains_card_number("4242 4242 4242 4241"));
        let mut input = card(None);
        input.display.holder_name = Some("Ada 4242424242424242".into());
        input.display.bank_name = Some("Bank 5555 5555 5555 4444".into());
        let err = PaymentMethod::new(&"ten".into(), CustomerId::new(), input, at(2026, 1, 1))
            .unwrap_err();
        let DomainError::Validation(e) = err else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["holder_name", "bank_name"]);
    }

    #[test]
    fn card_numbers_are_refused_as_references() {
        let mut input = card(None);
        input.provider_reference = "4242 4242 4242 4242".into();
        let err = PaymentMethod::new(&"ten".into(), CustomerId::new(), input, at(2026, 1, 1))
            .unwrap_err();
        assert!(matches!(err, DomainError::Validation(e) if e[0].field == "provider_reference"));
        // A digit string that fails the Luhn check is some other reference.
        assert!(!looks_like_card_number("4242424242424241"));
        assert!(looks_like_card_number("4000-0566-5566-5556"));
    }

    #[test]
    fn detaching_clears_the_default_and_happens_once() {
        let mut input = card(None);
        input.make_default = true;
        let mut pm =
            PaymentMethod::new(&"ten".into(), CustomerId::new(), input, at(2026, 1, 1)).unwrap();
        pm.detach(at(2026, 2, 1)).unwrap();
        assert!(!pm.is_default);
        assert_eq!(pm.status_at(at(2026, 2, 1)), MethodStatus::Detached);
        assert!(pm.detach(at(2026, 2, 2)).is_err());
    }

    #[test]
    fn bad_display_fields_are_all_reported() {
        let mut input = card(Some((13, 1999)));
        input.display.last4 = Some("42a2".into());
        let Err(DomainError::Validation(errors)) =
            PaymentMethod::new(&"ten".into(), CustomerId::new(), input, at(2026, 1, 1))
        else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["last4", "exp_month", "exp_year"]);
    }
}
