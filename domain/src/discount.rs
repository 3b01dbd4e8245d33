//! Discounts: coupons (what is taken off: a percentage, or an amount in one currency, for how
//! many billing periods) and promotion codes (what a customer types to get a coupon, with its
//! own limits). Codes are unique per account whatever their case: `SUMMER` and `summer` are one
//! code.

use bigdecimal::{BigDecimal, RoundingMode, Zero};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::check_text;
use crate::id::{CouponId, CustomerId, PromotionCodeId, TenantId};
use crate::invoice::{InvoiceDiscount, LineItem};
use crate::money::Currency;
use crate::plan::Plan;
use crate::{DomainError, DomainResult, FieldError};

crate::text_enum! {
    /// How long a coupon discounts a subscription once applied.
    pub enum CouponDuration {
        /// The next invoice only.
        Once,
        /// `duration_in_periods` billing periods.
        Repeating,
        /// Every invoice while it stays applied.
        Forever,
    }
}

/// What a coupon takes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponValue {
    /// A percentage of each line, from above 0 to 100, with at most 2 places.
    PercentOff(BigDecimal),
    /// An amount off each invoice, in one currency (only on invoices in it).
    AmountOff {
        amount: BigDecimal,
        currency: Currency,
    },
}

#[derive(Debug, Clone)]
pub struct Coupon {
    pub id: CouponId,
    pub tenant_id: TenantId,
    pub name: String,
    pub value: CouponValue,
    pub duration: CouponDuration,
    /// `repeating` only.
    pub duration_in_periods: Option<u32>,
    /// Subscriptions it may be applied to, at most; `None`: no limit.
    pub max_redemptions: Option<i64>,
    pub times_redeemed: i64,
    /// No new redemptions from this instant on.
    pub redeem_by: Option<DateTime<Utc>>,
    /// The plans it applies to (codes); empty: every plan.
    pub plan_codes: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A coupon as a client asks for it; amounts still text.
#[derive(Debug, Clone, Default)]
pub struct NewCoupon {
    pub name: String,
    pub percent_off: Option<String>,
    pub amount_off: Option<String>,
    pub currency: Option<String>,
    pub duration: Option<String>,
    pub duration_in_periods: Option<u32>,
    pub max_redemptions: Option<i64>,
    pub redeem_by: Option<DateTime<Utc>>,
    pub plan_codes: Vec<String>,
}

/// At most this many plans named by one coupon.
pub const MAX_PLAN_CODES: usize = 50;
/// A repeating coupon lasts at most this many periods.
pub const MAX_PERIODS: u32 = 120;

impl Coupon {
    /// Validates `new` (422 naming each field) and makes the coupon; its plan codes are
    /// checked against the catalogue by the caller.
    pub fn new(tenant_id: &TenantId, new: NewCoupon, now: DateTime<Utc>) -> DomainResult<Self> {
        let mut errs = Vec::new();
        check_text(&mut errs, "name", Some(&new.name), 100, false);
        let value = coupon_value(&new, &mut errs);
        let duration = match new.duration.as_deref() {
            None => {
                errs.push(FieldError::new("duration", "is required"));
                CouponDuration::Once
            }
            Some(d) => CouponDuration::parse(d).unwrap_or_else(|| {
                errs.push(FieldError::new(
                    "duration",
                    "must be once, repeating or forever",
                ));
                CouponDuration::Once
            }),
        };
        match (duration, new.duration_in_periods) {
            (CouponDuration::Repeating, None) => errs.push(FieldError::new(
                "duration_in_periods",
                "is required with duration repeating",
            )),
            (CouponDuration::Repeating, Some(n)) if n == 0 || n > MAX_PERIODS => {
                errs.push(FieldError::new(
                    "duration_in_periods",
                    format!("must be from 1 to {MAX_PERIODS}"),
                ))
            }
            (CouponDuration::Once | CouponDuration::Forever, Some(_)) => errs.push(
                FieldError::new("duration_in_periods", "only with duration repeating"),
            ),
            _ => {}
        }
        if new.max_redemptions.is_some_and(|m| m < 1) {
            errs.push(FieldError::new("max_redemptions", "must be at least 1"));
        }
        if new.redeem_by.is_some_and(|t| t <= now) {
            errs.push(FieldError::new("redeem_by", "must be in the future"));
        }
        if new.plan_codes.len() > MAX_PLAN_CODES {
            errs.push(FieldError::new(
                "plan_codes",
                format!("at most {MAX_PLAN_CODES} plans"),
            ));
        }
        for (i, code) in new.plan_codes.iter().enumerate() {
            if new.plan_codes[..i].contains(code) {
                errs.push(FieldError::new(format!("plan_codes[{i}]"), "appears twice"));
            }
        }
        let Some(value) = value.filter(|_| errs.is_empty()) else {
            return Err(DomainError::Validation(errs));
        };
        Ok(Self {
            id: CouponId::new(),
            tenant_id: tenant_id.clone(),
            name: new.name.trim().to_owned(),
            value,
            duration,
            duration_in_periods: new.duration_in_periods,
            max_redemptions: new.max_redemptions,
            times_redeemed: 0,
            redeem_by: new.redeem_by,
            plan_codes: new.plan_codes,
            active: true,
            created_at: now,
            archived_at: None,
        })
    }
}

/// Exactly one of `percent_off` and `amount_off` (with its `currency`).
fn coupon_value(new: &NewCoupon, errs: &mut Vec<FieldError>) -> Option<CouponValue> {
    match (&new.percent_off, &new.amount_off) {
        (Some(_), Some(_)) => {
            errs.push(FieldError::new(
                "amount_off",
                "give percent_off or amount_off, not both",
            ));
            None
        }
        (None, None) => {
            errs.push(FieldError::new(
                "percent_off",
                "give percent_off or amount_off",
            ));
            None
        }
        (Some(p), None) => {
            if new.currency.is_some() {
                errs.push(FieldError::new("currency", "only with amount_off"));
            }
            match crate::money::parse_amount(p) {
                Ok(p) if p > BigDecimal::zero() && p <= 100 && p.with_scale(2) == p => {
                    Some(CouponValue::PercentOff(p.normalized()))
                }
                _ => {
                    errs.push(FieldError::new(
                        "percent_off",
                        "must be a decimal string above 0 and at most 100, with at most 2 places",
                    ));
                    None
                }
            }
        }
        (None, Some(a)) => {
            let currency = match new.currency.as_deref().map(Currency::parse) {
                None => {
                    errs.push(FieldError::new("currency", "is required with amount_off"));
                    None
                }
                Some(Err(_)) => {
                    errs.push(FieldError::new("currency", "is not an ISO 4217 currency"));
                    None
                }
                Some(Ok(c)) => Some(c),
            };
            let amount = match crate::money::parse_amount(a) {
                Ok(a) if a > BigDecimal::zero() => Some(a),
                _ => {
                    errs.push(FieldError::new(
                        "amount_off",
                        "must be a decimal string above 0",
                    ));
                    None
                }
            };
            let (amount, currency) = (amount?, currency?);
            if currency.round(&amount) != amount || !currency.holds(&amount) {
                errs.push(FieldError::new(
                    "amount_off",
                    format!("must be an amount of {currency} (at its minor unit)"),
                ));
                return None;
            }
            Some(CouponValue::AmountOff {
                amount: amount.normalized(),
                currency,
            })
        }
    }
}

#[derive(Debug, Clone)]
pub struct PromotionCode {
    pub id: PromotionCodeId,
    pub tenant_id: TenantId,
    pub coupon_id: CouponId,
    /// As the merchant wrote it; matched whatever the case.
    pub code: String,
    pub max_redemptions: Option<i64>,
    pub times_redeemed: i64,
    pub expires_at: Option<DateTime<Utc>>,
    /// Only this customer may redeem it.
    pub customer_id: Option<CustomerId>,
    /// Only customers with no invoice paid yet may redeem it.
    pub first_time_only: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct NewPromotionCode {
    pub coupon_id: String,
    pub code: String,
    pub max_redemptions: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub customer_id: Option<String>,
    pub first_time_only: bool,
}

/// The form a code is matched by: lower case (codes are ASCII).
pub fn code_key(code: &str) -> String {
    code.trim().to_ascii_lowercase()
}

/// Checks what a promotion code can be checked for alone (field names as the request has
/// them): 1 to 50 letters, digits, `-` and `_`; positive limits; an expiry in the future.
pub fn check_promotion_code(new: &NewPromotionCode, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let code = new.code.trim();
    if code.is_empty()
        || code.len() > 50
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        errs.push(FieldError::new(
            "code",
            "must be 1 to 50 letters, digits, - and _",
        ));
    }
    if new.max_redemptions.is_some_and(|m| m < 1) {
        errs.push(FieldError::new("max_redemptions", "must be at least 1"));
    }
    if new.expires_at.is_some_and(|t| t <= now) {
        errs.push(FieldError::new("expires_at", "must be in the future"));
    }
    errs
}

#[derive(Debug, Clone, Default)]
pub struct CouponFilter {
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct PromotionCodeFilter {
    pub coupon_id: Option<String>,
    /// Matched whatever the case.
    pub code: Option<String>,
    pub active: Option<bool>,
}

/// A coupon as applied to a subscription, stored with it. What it takes off is copied when it
/// is applied, so archiving the coupon later never changes a discount already given (as in
/// Stripe); `periods_left` counts the period invoices it still discounts.
///
/// How it applies (before tax, to invoices of the subscription in the plan's currency):
/// - a percentage comes off every line of every invoice of the subscription — its period
///   invoices and the invoices and credits of a plan or seat change — each line's discount
///   rounded once to the minor unit, half away from zero; a credit for unused time is credited
///   at the discounted price it was charged at;
/// - an amount comes off each period invoice (the first, a renewal) only, never off a change's
///   proration, spread over the invoice's charged lines in proportion to their amounts (the
///   minor units left by rounding down go to the first lines), at most what they charge;
/// - a coupon limited to some plans takes nothing off invoices of other plans; its periods
///   still count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    pub coupon_id: CouponId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_code_id: Option<PromotionCodeId>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<BigDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<BigDecimal>,
    /// ISO 4217 code of `amount_off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `once`, `repeating` or `forever`, as the coupon said.
    pub duration: String,
    /// Period invoices it still discounts; `None`: every one (`forever`).
    pub periods_left: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan_codes: Vec<String>,
    pub applied_at: DateTime<Utc>,
}

impl AppliedDiscount {
    /// `coupon` as applied now (through `code`, when one was typed).
    pub fn of(coupon: &Coupon, code: Option<&PromotionCode>, at: DateTime<Utc>) -> Self {
        let (percent_off, amount_off, currency) = match &coupon.value {
            CouponValue::PercentOff(p) => (Some(p.clone()), None, None),
            CouponValue::AmountOff { amount, currency } => {
                (None, Some(amount.clone()), Some(currency.to_string()))
            }
        };
        Self {
            coupon_id: coupon.id.clone(),
            promotion_code_id: code.map(|c| c.id.clone()),
            name: coupon.name.clone(),
            percent_off,
            amount_off,
            currency,
            duration: coupon.duration.as_str().to_owned(),
            periods_left: match coupon.duration {
                CouponDuration::Once => Some(1),
                CouponDuration::Repeating => coupon.duration_in_periods,
                CouponDuration::Forever => None,
            },
            plan_codes: coupon.plan_codes.clone(),
            applied_at: at,
        }
    }

    /// Whether it takes something off invoices of `plan`: periods left, the plan among its
    /// plans, an amount in the plan's currency.
    pub fn applies_to(&self, plan: &Plan) -> bool {
        self.periods_left != Some(0)
            && (self.plan_codes.is_empty() || self.plan_codes.contains(&plan.code))
            && self
                .currency
                .as_deref()
                .is_none_or(|c| c == plan.currency.code())
    }

    /// `amount_off` at its currency's minor unit (`5.00`).
    pub fn amount_off_text(&self) -> Option<String> {
        let c = Currency::parse(self.currency.as_deref()?).ok()?;
        Some(c.display(self.amount_off.as_ref()?))
    }

    /// Counts one period invoice issued while it was applied; `true` once none is left.
    pub fn count_period(&mut self) -> bool {
        if let Some(n) = &mut self.periods_left {
            *n = n.saturating_sub(1);
        }
        self.periods_left == Some(0)
    }

    /// `price` (one unit of a plan, for a period) with the discount taken off, at the minor
    /// unit: what the plans screen shows a customer.
    pub fn discounted(&self, plan: &Plan, price: &BigDecimal) -> Option<BigDecimal> {
        if !self.applies_to(plan) {
            return None;
        }
        let c = plan.currency;
        Some(match (&self.percent_off, &self.amount_off) {
            (Some(p), _) => price - c.round(&(price * p / BigDecimal::from(100))),
            (None, Some(a)) => (price - a).max(BigDecimal::zero()),
            (None, None) => price.clone(),
        })
    }
}

/// Takes `discount` off `lines` of an invoice in `currency` (see [`AppliedDiscount`]): sets each
/// line's `discount_amount` and returns the invoice's discount entry (`None` when it takes
/// nothing off). `period`: a period invoice (an amount off applies to those only).
pub fn discount_lines(
    discount: &AppliedDiscount,
    currency: Currency,
    period: bool,
    lines: &mut [LineItem],
) -> Option<InvoiceDiscount> {
    for l in lines.iter_mut() {
        l.amount = currency.round(&l.amount);
        l.discount_amount = BigDecimal::zero();
    }
    match (&discount.percent_off, &discount.amount_off) {
        (Some(p), _) => {
            for l in lines.iter_mut() {
                l.discount_amount = currency.round(&(&l.amount * p / BigDecimal::from(100)));
            }
        }
        (None, Some(off)) if period => spread(off, currency, lines),
        _ => {}
    }
    let amount: BigDecimal = lines.iter().map(|l| l.discount_amount.clone()).sum();
    (!amount.is_zero()).then(|| InvoiceDiscount {
        coupon_id: discount.coupon_id.clone(),
        name: discount.name.clone(),
        amount,
    })
}

/// Spreads `off` over the lines that charge something, in proportion, rounded down to the minor
/// unit; the minor units left go one each to the first lines with room.
fn spread(off: &BigDecimal, currency: Currency, lines: &mut [LineItem]) {
    let charged: BigDecimal = lines
        .iter()
        .filter(|l| l.amount > BigDecimal::zero())
        .map(|l| l.amount.clone())
        .sum();
    if charged.is_zero() {
        return;
    }
    let off = off.clone().min(charged.clone());
    let places = i64::from(currency.minor_units());
    for l in lines.iter_mut().filter(|l| l.amount > BigDecimal::zero()) {
        l.discount_amount =
            (&off * &l.amount / &charged).with_scale_round(places, RoundingMode::Down);
    }
    let unit = BigDecimal::new(1.into(), places);
    let mut left = &off
        - lines
            .iter()
            .map(|l| l.discount_amount.clone())
            .sum::<BigDecimal>();
    for l in lines.iter_mut() {
        if left <= BigDecimal::zero() {
            break;
        }
        if l.amount > BigDecimal::zero() && l.discount_amount < l.amount {
            l.discount_amount += &unit;
            left -= &unit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupon(f: impl FnOnce(&mut NewCoupon)) -> Result<Coupon, Vec<String>> {
        let mut new = NewCoupon {
            name: "Launch".into(),
            percent_off: Some("25".into()),
            duration: Some("once".into()),
            ..NewCoupon::default()
        };
        f(&mut new);
        Coupon::new(&"ten_t".into(), new, Utc::now()).map_err(|e| match e {
            DomainError::Validation(errs) => errs.into_iter().map(|e| e.field).collect(),
            other => panic!("{other}"),
        })
    }

    #[test]
    fn a_coupon_takes_off_one_thing_for_a_said_time() {
        assert!(coupon(|_| {}).is_ok());
        let amount = coupon(|n| {
            n.percent_off = None;
            n.amount_off = Some("5.00".into());
            n.currency = Some("eur".into());
        })
        .unwrap();
        assert_eq!(
            amount.value,
            CouponValue::AmountOff {
                amount: BigDecimal::from(5),
                currency: Currency::parse("EUR").unwrap()
            }
        );
        for (f, field) in [
            (
                Box::new(|n: &mut NewCoupon| n.amount_off = Some("5".into()))
                    as Box<dyn FnOnce(&mut NewCoupon)>,
                "amount_off",
            ),
            (Box::new(|n| n.percent_off = None), "percent_off"),
            (
                Box::new(|n| n.percent_off = Some("100.5".into())),
                "percent_off",
            ),
            (
                Box::new(|n| n.percent_off = Some("0".into())),
                "percent_off",
            ),
            (
                Box::new(|n| n.percent_off = Some("12.345".into())),
                "percent_off",
            ),
            (Box::new(|n| n.currency = Some("EUR".into())), "currency"),
            (Box::new(|n| n.duration = Some("weekly".into())), "duration"),
            (
                Box::new(|n| n.duration = Some("repeating".into())),
                "duration_in_periods",
            ),
            (
                Box::new(|n| n.duration_in_periods = Some(3)),
                "duration_in_periods",
            ),
            (Box::new(|n| n.max_redemptions = Some(0)), "max_redemptions"),
            (
                Box::new(|n| n.redeem_by = Some(Utc::now() - chrono::Duration::days(1))),
                "redeem_by",
            ),
        ] {
            assert_eq!(coupon(f).unwrap_err(), [field]);
        }
        let jpy = coupon(|n| {
            n.percent_off = None;
            n.amount_off = Some("5.5".into());
            n.currency = Some("JPY".into());
        });
        assert_eq!(jpy.unwrap_err(), ["amount_off"]);
    }

    #[test]
    fn codes_match_whatever_the_case() {
        assert_eq!(code_key(" Summer-25 "), "summer-25");
        let now = Utc::now();
        let fields = |code: &str| -> Vec<String> {
            check_promotion_code(
                &NewPromotionCode {
                    code: code.into(),
                    ..NewPromotionCode::default()
                },
                now,
            )
            .into_iter()
            .map(|e| e.field)
            .collect()
        };
        assert!(fields("SUMMER_25").is_empty());
        assert_eq!(fields("summer 25"), ["code"]);
        assert_eq!(fields(""), ["code"]);
        assert_eq!(fields(&"x".repeat(51)), ["code"]);
    }
}
