//! Exact money. Amounts are `BigDecimal` end to end: NUMERIC on PostgreSQL, canonical decimal
//! TEXT on SQLite, decimal *strings* in JSON. Never `f64`.
//!
//! Rounding rule: amounts are kept at full precision while they are computed and stored; they
//! are rounded to the currency's minor unit (ISO 4217 exponent: JPY 0, USD 2, KWD 3) only where a
//! figure is presented or frozen (display, invoice finalization), half away from zero
//! ("commercial rounding": 0.005 USD → 0.01, -0.005 → -0.01).

use std::str::FromStr;

use bigdecimal::{BigDecimal, RoundingMode, ToPrimitive};

use crate::{DomainError, DomainResult};

pub use bigdecimal::BigDecimal as Decimal;

/// Canonical text of a decimal: plain notation, no exponent, no trailing fractional zeros,
/// `0` for zero. Two equal amounts always have the same canonical text, so SQLite can store
/// them as TEXT and compare them for equality.
pub fn canonical(d: &BigDecimal) -> String {
    // Almost every amount fits in 128 bits: written with integer arithmetic, without the
    // base-10 conversions of `normalized` and `to_plain_string` (about 5% of the server's CPU
    // on a page of invoices). The same text as the general path below, which a test checks.
    let (int, scale) = d.as_bigint_and_scale();
    if let (Some(v), -64..=64) = (int.to_i128(), scale) {
        return canonical_i128(v, scale);
    }
    canonical_big(d)
}

/// [`canonical`] of `v` × 10^-`scale`.
fn canonical_i128(mut v: i128, mut scale: i64) -> String {
    if v == 0 {
        return "0".to_owned();
    }
    while scale > 0 && v % 10 == 0 {
        v /= 10;
        scale -= 1;
    }
    let digits = v.unsigned_abs().to_string();
    let mut s = String::with_capacity(digits.len() + 3 + scale.unsigned_abs() as usize);
    if v < 0 {
        s.push('-');
    }
    let scale = scale as isize;
    if scale <= 0 {
        s.push_str(&digits);
        s.extend((0..-scale).map(|_| '0'));
    } else if digits.len() as isize > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale as usize);
        s.push_str(whole);
        s.push('.');
        s.push_str(fraction);
    } else {
        s.push_str("0.");
        s.extend((digits.len() as isize..scale).map(|_| '0'));
        s.push_str(&digits);
    }
    s
}

fn canonical_big(d: &BigDecimal) -> String {
    let n = d.normalized();
    if n.sign() == bigdecimal::num_bigint::Sign::NoSign {
        return "0".to_owned();
    }
    let s = n.to_plain_string();
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Digits an amount may have before the point, and after it: every amount fits a
/// `NUMERIC(36, 18)`, and the amount filters (integers of minor units) tell any two apart.
pub const MAX_INTEGER_DIGITS: usize = 18;
pub const MAX_FRACTION_DIGITS: usize = 18;

/// 10^18: every amount, quantity and balance is below it in magnitude.
pub fn amount_limit() -> BigDecimal {
    BigDecimal::from(10i64.pow(MAX_INTEGER_DIGITS as u32))
}

/// Whether a computed amount (a product, a sum, a balance) is within [`amount_limit`].
pub fn within_limit(amount: &BigDecimal) -> bool {
    amount.abs() < amount_limit()
}

/// Parses a decimal string as sent by clients: plain notation only (`"12.50"`, `"-3"`,
/// `"0.000001"`), at most 18 digits before the point and 18 after it.
pub fn parse_amount(s: &str) -> DomainResult<BigDecimal> {
    let bad = |m: &str| DomainError::validation("amount", m);
    // No trimming: `" 1"` is not a decimal string.
    let t = s;
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    if int.is_empty()
        || frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad("must be a decimal string such as \"12.50\""));
    }
    if frac.len() > MAX_FRACTION_DIGITS || int.trim_start_matches('0').len() > MAX_INTEGER_DIGITS {
        return Err(bad(
            "has too many digits (at most 18 before the point and 18 after it)",
        ));
    }
    BigDecimal::from_str(t).map_err(|_| bad("must be a decimal string such as \"12.50\""))
}

/// Parses a number sent as data (a usage event's value): plain or exponent notation
/// (`"12.5"`, `1.5e3`), bounded before any arithmetic — at most 18 digits before the point and
/// 18 after it, an exponent within ±38 — so a short string such as `"1e1000000"` cannot make a
/// number of a million digits.
pub fn parse_bounded_number(text: &str) -> Result<BigDecimal, &'static str> {
    const SYNTAX: &str = "is not a number";
    const RANGE: &str = "is out of range (at most 18 digits before the point and 18 after it)";
    let unsigned = text
        .strip_prefix('-')
        .or_else(|| text.strip_prefix('+'))
        .unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(SYNTAX);
    }
    if let Some(e) = exponent {
        let magnitude = e.strip_prefix(['-', '+']).unwrap_or(e);
        if magnitude.is_empty() || !digits_ok(magnitude) {
            return Err(SYNTAX);
        }
        if magnitude.trim_start_matches('0').len() > 2
            || magnitude.parse::<u32>().unwrap_or(99) > 38
        {
            return Err(RANGE);
        }
    }
    if int.len() + frac.len() > 80 {
        return Err(RANGE);
    }
    let value = BigDecimal::from_str(text).map_err(|_| SYNTAX)?.normalized();
    let (_, scale) = value.as_bigint_and_exponent();
    if scale > MAX_FRACTION_DIGITS as i64 || !within_limit(&value) {
        return Err(RANGE);
    }
    Ok(value)
}

/// An ISO 4217 currency code this API accepts, with its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    minor_units: u8,
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl Currency {
    pub fn parse(code: &str) -> DomainResult<Self> {
        let upper = code.to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|&(code, minor_units)| Currency { code, minor_units })
            .ok_or_else(|| {
                DomainError::validation(
                    "currency",
                    "must be an ISO 4217 currency code such as \"USD\"",
                )
            })
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }

    /// Rounds to the minor unit, half away from zero (see the module documentation).
    pub fn round(&self, amount: &BigDecimal) -> BigDecimal {
        amount.with_scale_round(self.minor_units as i64, RoundingMode::HalfUp)
    }

    /// Whether an amount of this currency, in minor units, stays below 10^18 (so it is exact
    /// in the integer columns the amount filters use): `9999999999999999.99` USD at most.
    pub fn holds(&self, amount: &BigDecimal) -> bool {
        within_limit(
            &(self.round(amount) * BigDecimal::from(10i64.pow(u32::from(self.minor_units)))),
        )
    }

    /// The largest amount [`Currency::holds`], as shown to people.
    pub fn max_amount(&self) -> String {
        let max = (amount_limit() - BigDecimal::from(1))
            / BigDecimal::from(10i64.pow(u32::from(self.minor_units)));
        self.display(&max)
    }

    /// The amount as shown to people: rounded and with exactly `minor_units` decimals.
    pub fn display(&self, amount: &BigDecimal) -> String {
        self.round(amount).to_plain_string()
    }
}

/// Active ISO 4217 codes and their exponents (2 unless listed otherwise in the standard).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    #[test]
    fn canonical_text_of_small_amounts_is_the_general_one() {
        let mut ints: Vec<i128> = vec![0, 1, -1, 7, 10, -10, 100, 1050, -1050, 123_456_789];
        ints.extend([
            i128::MAX,
            i128::MIN,
            i128::MAX - 9,
            i128::MIN + 10,
            10i128.pow(38),
        ]);
        let mut x: i128 = 1;
        for _ in 0..38 {
            x *= 10;
            ints.extend([x, -x, x + 1, x - 1, x / 7 * 3, -(x / 3 * 2)]);
        }
        for &int in &ints {
            for scale in -70..=70 {
                let v = BigDecimal::new(int.into(), scale);
                assert_eq!(canonical(&v), canonical_big(&v), "{int} scale {scale}");
            }
        }
    }

    #[test]
    fn canonical_text_is_unique_per_value() {
        assert_eq!(canonical(&d("12.500")), "12.5");
        assert_eq!(canonical(&d("0.000")), "0");
        assert_eq!(canonical(&d("-0.10")), "-0.1");
        assert_eq!(canonical(&d("1000000000000")), "1000000000000");
        assert_eq!(canonical(&d("1E+3")), "1000");
        assert_eq!(canonical(&d("0.000001")), "0.000001");
        assert_eq!(canonical(&(d("0.1") + d("0.2"))), "0.3");
    }

    #[test]
    fn parse_amount_accepts_plain_decimals_only() {
        assert_eq!(parse_amount("12.50").unwrap(), d("12.5"));
        assert!(parse_amount("1e3").is_err());
        assert!(parse_amount(" 1").is_err());
        assert!(parse_amount("1 ").is_err());
        assert!(parse_amount("12.").is_err());
        assert!(parse_amount("abc").is_err());
        assert!(parse_amount("0.0000000000000000001").is_err());
        // 18 digits before the point at most.
        assert!(parse_amount("999999999999999999.999999999999999999").is_ok());
        assert!(parse_amount("1000000000000000000").is_err());
        assert!(parse_amount("-0001000000000000000000.5").is_err());
        assert!(parse_bounded_number("1e18").is_err());
        assert!(parse_bounded_number("9.99e17").is_ok());
    }

    #[test]
    fn a_currency_holds_amounts_below_ten_to_the_eighteen_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        assert!(usd.holds(&d("9999999999999999.99")));
        assert!(!usd.holds(&d("10000000000000000")));
        assert!(!usd.holds(&d("-10000000000000000")));
        assert_eq!(usd.max_amount(), "9999999999999999.99");
        let clf = Currency::parse("CLF").unwrap();
        assert_eq!(clf.max_amount(), "99999999999999.9999");
    }

    #[test]
    fn rounding_uses_the_minor_unit_half_away_from_zero() {
        let usd = Currency::parse("usd").unwrap();
        assert_eq!(usd.display(&d("0.005")), "0.01");
        assert_eq!(usd.display(&d("-0.005")), "-0.01");
        assert_eq!(usd.display(&d("2")), "2.00");
        assert_eq!(Currency::parse("JPY").unwrap().display(&d("12.5")), "13");
        assert_eq!(
            Currency::parse("KWD").unwrap().display(&d("1.2345")),
            "1.235"
        );
        assert!(Currency::parse("XXX").is_err());
    }
}
