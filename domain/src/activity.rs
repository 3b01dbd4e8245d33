//! The customer-visible history of their account (the portal's "Logs"): payments and their
//! failures, refunds, wallet top-ups, debits and expiries, invoices issued and voided, and the
//! changes the customer made in the portal. Read from the records themselves, so it is complete
//! from the first day and can never disagree with them; nothing admin-internal (sessions,
//! previews, keys) and nothing of another customer appears.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};

use strum::VariantArray;

use crate::money::Currency;
use crate::DomainResult;

crate::text_enum! {
    #[derive(PartialOrd, Ord, Hash)]
    pub enum ActivityKind {
        PaymentSucceeded,
        PaymentFailed,
        Refund,
        WalletTopUp,
        WalletDebit,
        CreditsExpired,
        InvoiceIssued,
        InvoiceVoided,
        SubscriptionChanged,
        PaymentMethodChanged,
        ProfileUpdated,
        /// The billing details of an issued invoice were corrected (once).
        InvoiceRevised,
        /// A credit note corrected an invoice.
        CreditNoteIssued,
    }
}

impl ActivityKind {
    /// Every kind's text form, comma-separated (for error messages).
    pub fn choices() -> String {
        let all: Vec<&str> = Self::VARIANTS.iter().map(|k| k.as_str()).collect();
        all.join(", ")
    }
}

crate::text_enum! {
    pub enum ActivityStatus {
        Success,
        Error,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub at: DateTime<Utc>,
    pub kind: ActivityKind,
    /// The record it comes from (a payment, refund, wallet transaction, invoice or audit entry).
    pub source_id: String,
    pub description: String,
    pub amount: Option<BigDecimal>,
    pub currency: Option<Currency>,
    pub invoice_id: Option<String>,
    pub payment_id: Option<String>,
    pub transaction_id: Option<String>,
    pub status: ActivityStatus,
}

impl Activity {
    /// Where this entry stands in the history.
    pub fn position(&self) -> Position {
        Position {
            at: self.at,
            kind: self.kind,
            source_id: self.source_id.clone(),
        }
    }
}

/// A place in the history. Entries are ordered newest first by time, then by kind and source
/// id (unique together: an invoice is issued and voided under one id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub at: DateTime<Utc>,
    pub kind: ActivityKind,
    pub source_id: String,
}

impl Position {
    /// A cursor position: 20 digits of microseconds, 2 of the kind, then the id (letters,
    /// digits and `_` only, as cursors require).
    pub fn encode(&self) -> String {
        let kind = ActivityKind::VARIANTS
            .iter()
            .position(|k| *k == self.kind)
            .unwrap_or_default();
        let micros = self.at.timestamp_micros().max(0);
        format!("{micros:020}{kind:02}{}", self.source_id)
    }

    pub fn decode(s: &str) -> DomainResult<Self> {
        let bad = crate::page::invalid_cursor;
        let (micros, rest) = (s.get(..20).ok_or_else(bad)?, s.get(20..).ok_or_else(bad)?);
        let (kind, source_id) = (
            rest.get(..2).ok_or_else(bad)?,
            rest.get(2..).ok_or_else(bad)?,
        );
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let kind: usize = kind.parse().map_err(|_| bad())?;
        Ok(Self {
            at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
            kind: *ActivityKind::VARIANTS.get(kind).ok_or_else(bad)?,
            source_id: source_id.to_owned(),
        })
    }

    /// Whether `a` comes after this position in the history.
    pub fn precedes(&self, a: &Activity) -> bool {
        a.position() < *self
    }
}

/// Filters of the history.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Only these kinds (none: all).
    pub kinds: Vec<ActivityKind>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl ActivityFilter {
    pub fn wants(&self, kind: ActivityKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// The first `n` entries after `after` of several sources (each holding at least its own first
/// `n`): the history's next entries, newest first.
pub fn merge(sources: Vec<Vec<Activity>>, after: Option<&Position>, n: usize) -> Vec<Activity> {
    let mut all: Vec<Activity> = sources
        .into_iter()
        .flatten()
        .filter(|a| after.is_none_or(|p| p.precedes(a)))
        .collect();
    all.sort_by_key(|a| std::cmp::Reverse(a.position()));
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(kind: ActivityKind, id: &str, secs: i64) -> Activity {
        Activity {
            at: Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap(),
            kind,
            source_id: id.into(),
            description: String::new(),
            amount: None,
            currency: None,
            invoice_id: None,
            payment_id: None,
            transaction_id: None,
            status: ActivityStatus::Success,
        }
    }

    #[test]
    fn pages_walk_the_merged_history_once_in_order() {
        use ActivityKind::*;
        let payments = vec![
            entry(PaymentSucceeded, "pay_2", 5),
            entry(PaymentSucceeded, "pay_1", 1),
        ];
        let invoices = vec![
            entry(InvoiceVoided, "inv_1", 5),
            entry(InvoiceIssued, "inv_2", 4),
            entry(InvoiceIssued, "inv_1", 0),
        ];
        let mut seen = Vec::new();
        let mut after: Option<Position> = None;
        loop {
            let page = merge(vec![payments.clone(), invoices.clone()], after.as_ref(), 2);
            seen.extend(page.iter().map(|a| (a.kind, a.source_id.clone())));
            // Through the cursor text, as a client's next request brings it back.
            after = page
                .last()
                .map(|a| Position::decode(&a.position().encode()).unwrap());
            if page.len() < 2 {
                break;
            }
        }
        let expected = [
            (InvoiceVoided, "inv_1"),
            (PaymentSucceeded, "pay_2"),
            (InvoiceIssued, "inv_2"),
            (PaymentSucceeded, "pay_1"),
            (InvoiceIssued, "inv_1"),
        ];
        let expected: Vec<_> = expected.iter().map(|(k, i)| (*k, i.to_string())).collect();
        assert_eq!(seen, expected);
        assert!(Position::decode("12|x").is_err());
    }
}
