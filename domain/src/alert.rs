//! Alerts a customer (or the merchant for them) sets on their own account: tell me when my
//! usage of a feature, my spend, or my credit balance crosses a threshold.
//!
//! - `usage`: the customer's use of `feature` in the current usage period (the period of their
//!   running subscription, else the calendar month in their time zone: the periods of
//!   `crate::usage`) reaches `threshold`. Checked in the transaction that records the usage.
//! - `spend`: the total of the invoices issued to the customer in `currency` this calendar
//!   month (UTC, the month of invoice numbers) reaches `threshold`. Checked in the transaction
//!   that issues an invoice.
//! - `credit_balance`: a wallet's balance (of the wallet in `currency`, or any wallet) falls
//!   below `threshold` credits. Checked in the transaction of each ledger movement.
//!
//! An alert fires once per crossing per period: `(alert, period)` is unique among its
//! triggers, so retries, replicas and racing transactions cannot fire it twice; a usage or
//! spend alert fires again in the next period, a credit-balance alert after the balance has
//! risen to the threshold again (its "period" is the movement that crossed it). A trigger
//! sends webhook `alert.triggered` and the `alert_triggered` e-mail, in the same transaction.

use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};

use crate::error::FieldError;
use crate::id::{AlertId, CustomerId, TenantId};
use crate::money::Currency;
use crate::{DomainError, DomainResult};

crate::text_enum! {
    pub enum AlertType {
        /// A feature's use in the current period reaches the threshold (a quantity).
        Usage,
        /// The invoices issued this month in a currency reach the threshold (an amount).
        Spend,
        /// A wallet's balance falls below the threshold (credits).
        CreditBalance,
    }
}

crate::text_enum! {
    /// Who set the alert.
    pub enum AlertOwner {
        Customer,
        Merchant,
    }
}

/// At most this many alerts per customer.
pub const MAX_PER_CUSTOMER: usize = 25;

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: AlertId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub alert_type: AlertType,
    /// The feature of a usage alert.
    pub feature_key: Option<String>,
    /// The currency of a spend alert (required) or a credit-balance alert (optional: any
    /// wallet when none).
    pub currency: Option<Currency>,
    pub threshold: BigDecimal,
    pub created_by: AlertOwner,
    pub created_at: DateTime<Utc>,
    /// When it last fired.
    pub triggered_at: Option<DateTime<Utc>>,
}

/// An alert as asked for, before its checks.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub alert_type: AlertType,
    pub feature_key: Option<String>,
    pub currency: Option<Currency>,
    pub threshold: BigDecimal,
}

impl NewAlert {
    /// The alert for `customer`, when its fields fit its type; else 422 naming each field.
    /// (Whether the feature exists is the service's check.)
    pub fn build(
        self,
        tenant_id: &TenantId,
        customer_id: &CustomerId,
        created_by: AlertOwner,
        now: DateTime<Utc>,
    ) -> DomainResult<Alert> {
        let mut errors = Vec::new();
        if self.threshold <= BigDecimal::zero() {
            errors.push(FieldError::new("threshold", "must be greater than 0"));
        }
        match self.alert_type {
            AlertType::Usage => {
                if self.feature_key.is_none() {
                    errors.push(FieldError::new("feature", "is required for a usage alert"));
                }
                if self.currency.is_some() {
                    errors.push(FieldError::new("currency", "is not used by a usage alert"));
                }
            }
            AlertType::Spend => {
                if self.currency.is_none() {
                    errors.push(FieldError::new("currency", "is required for a spend alert"));
                }
            }
            AlertType::CreditBalance => {}
        }
        if self.alert_type != AlertType::Usage && self.feature_key.is_some() {
            errors.push(FieldError::new("feature", "is only used by a usage alert"));
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        Ok(Alert {
            id: AlertId::new(),
            tenant_id: tenant_id.clone(),
            customer_id: customer_id.clone(),
            alert_type: self.alert_type,
            feature_key: self.feature_key,
            currency: self.currency,
            threshold: self.threshold,
            created_by,
            created_at: now,
            triggered_at: None,
        })
    }
}

impl Alert {
    /// Whether a value moving from `before` to `after` crosses this alert: up to the threshold
    /// for usage and spend, down below it for a credit balance.
    pub fn crossed(&self, before: &BigDecimal, after: &BigDecimal) -> bool {
        match self.alert_type {
            AlertType::Usage | AlertType::Spend => {
                *before < self.threshold && *after >= self.threshold
            }
            AlertType::CreditBalance => *before >= self.threshold && *after < self.threshold,
        }
    }
}

/// One firing of an alert: unique per (alert, period).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertTrigger {
    pub alert: Alert,
    /// The period it fired in: a usage period's or month's start, or the ledger movement that
    /// took a balance below the threshold.
    pub period: String,
    /// The value that crossed the threshold.
    pub value: BigDecimal,
    /// The wallet of a credit-balance alert.
    pub wallet_id: Option<String>,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(t: AlertType, threshold: i64) -> Alert {
        NewAlert {
            alert_type: t,
            feature_key: (t == AlertType::Usage).then(|| "calls".to_owned()),
            currency: (t == AlertType::Spend).then(|| Currency::parse("USD").unwrap()),
            threshold: BigDecimal::from(threshold),
        }
        .build(
            &TenantId::new(),
            &CustomerId::new(),
            AlertOwner::Customer,
            Utc::now(),
        )
        .unwrap()
    }

    #[test]
    fn crossing_is_reaching_the_threshold_upwards_or_falling_below_it() {
        let d = |n: i64| BigDecimal::from(n);
        let usage = alert(AlertType::Usage, 100);
        assert!(usage.crossed(&d(99), &d(100)));
        assert!(usage.crossed(&d(0), &d(500)));
        assert!(
            !usage.crossed(&d(100), &d(150)),
            "already over: no new crossing"
        );
        assert!(!usage.crossed(&d(10), &d(99)));
        let balance = alert(AlertType::CreditBalance, 10);
        assert!(balance.crossed(&d(10), &d(9)));
        assert!(!balance.crossed(&d(9), &d(5)), "already below");
        assert!(
            !balance.crossed(&d(20), &d(10)),
            "at the threshold is not below it"
        );
    }

    #[test]
    fn fields_must_fit_the_type() {
        let bad = NewAlert {
            alert_type: AlertType::Spend,
            feature_key: Some("calls".into()),
            currency: None,
            threshold: BigDecimal::from(0),
        }
        .build(
            &TenantId::new(),
            &CustomerId::new(),
            AlertOwner::Merchant,
            Utc::now(),
        )
        .unwrap_err();
        let DomainError::Validation(errors) = bad else {
            panic!("a validation error")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["threshold", "currency", "feature"]);
    }
}
