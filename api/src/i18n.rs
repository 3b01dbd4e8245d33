//! What the server writes to a customer (e-mails, invoice and credit-note PDFs) in their
//! language: the same message catalogues as the hosted portal (`api/portal/i18n/<language>.json`,
//! one file per language, checked for missing keys by `tests/contract/i18n.ts`), chosen by the
//! customer's `locale` (its language when there is a catalogue for it, else English), with the
//! locale's own number and date formats from CLDR through ICU4X (`icu_decimal`,
//! `icu_datetime`): `1,234.50` in English, `1.234,50` in German, `1 234,50` in French.
//! Amounts are written with the currency's code (`1.234,50 EUR`), as the documents always did.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Datelike, Utc};
use domain::email::EmailKind;
use domain::money::{canonical, Currency};
use domain::ports::Wording;
use icu_datetime::fieldsets::YMD;
use icu_datetime::input::Date;
use icu_datetime::DateTimeFormatter;
use icu_decimal::input::Decimal;
use icu_decimal::DecimalFormatter;
use icu_locale_core::Locale;
use serde_json::Value;

/// The languages with a catalogue (the hosted portal's), English first.
const CATALOGUES: [(&str, &str); 5] = [
    ("en", include_str!("../portal/i18n/en.json")),
    ("de", include_str!("../portal/i18n/de.json")),
    ("fr", include_str!("../portal/i18n/fr.json")),
    ("es", include_str!("../portal/i18n/es.json")),
    ("ar", include_str!("../portal/i18n/ar.json")),
];

/// Each language's plain messages (plural ones are the portal's only).
static MESSAGES: LazyLock<HashMap<&'static str, HashMap<String, String>>> = LazyLock::new(|| {
    CATALOGUES
        .iter()
        .map(|(lang, json)| {
            let all: HashMap<String, Value> =
                serde_json::from_str(json).expect("the bundled catalogues are JSON");
            let plain = all
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect();
            (*lang, plain)
        })
        .collect()
});

/// One customer's language: its messages and its number and date formats.
pub struct Speaker {
    lang: &'static str,
    decimals: DecimalFormatter,
    dates: DateTimeFormatter<YMD>,
}

impl Speaker {
    /// The language of `locale` (a BCP 47 tag) when it has a catalogue, else English; numbers
    /// and dates in the locale itself (`de-CH` formats as Swiss German does).
    pub fn for_locale(locale: Option<&str>) -> Self {
        let parsed = locale.and_then(|l| Locale::try_from_str(l).ok());
        let lang = parsed
            .as_ref()
            .and_then(|l| {
                let language = l.id.language.as_str();
                CATALOGUES
                    .iter()
                    .find(|(c, _)| *c == language)
                    .map(|(c, _)| *c)
            })
            .unwrap_or("en");
        let locale = match parsed {
            Some(l) if l.id.language.as_str() == lang => l,
            _ => Locale::try_from_str(lang).expect("a catalogue's language is a locale"),
        };
        Self {
            lang,
            decimals: DecimalFormatter::try_new((&locale).into(), Default::default())
                .expect("compiled CLDR data has every locale"),
            dates: DateTimeFormatter::try_new((&locale).into(), YMD::medium())
                .expect("compiled CLDR data has every locale"),
        }
    }

    /// The language's code (`en`, `de`, …) for `lang` attributes.
    pub fn lang(&self) -> &'static str {
        self.lang
    }

    /// Whether the language is written right to left.
    pub fn rtl(&self) -> bool {
        self.lang == "ar"
    }

    /// The message `key` with `{name}` placeholders filled from `vars`; English when the
    /// language lacks it (the catalogue test keeps that from happening).
    pub fn t(&self, key: &str, vars: &[(&str, &str)]) -> String {
        let text = MESSAGES[self.lang]
            .get(key)
            .or_else(|| MESSAGES["en"].get(key))
            .cloned()
            .unwrap_or_else(|| key.to_owned());
        vars.iter().fold(text, |acc, (name, value)| {
            acc.replace(&format!("{{{name}}}"), value)
        })
    }

    /// A decimal as the locale writes it, with the digits it was given (`1234.50` → `1.234,50`).
    pub fn number(&self, text: &str) -> String {
        match Decimal::from_str(text) {
            Ok(d) => self.decimals.format(&d).to_string(),
            Err(_) => text.to_owned(),
        }
    }

    /// An amount at the currency's minor unit, with its code: `1.234,50 EUR`.
    pub fn amount(&self, amount: &BigDecimal, currency: Currency) -> String {
        self.amount_text(&currency.display(amount), currency.code())
    }

    /// An amount sent as text in an event (already at the minor unit), with its code.
    pub fn amount_text(&self, amount: &str, currency: &str) -> String {
        format!("{} {currency}", self.number(amount))
    }

    /// A decimal without trailing zeros (a quantity, a count of credits).
    pub fn quantity(&self, q: &BigDecimal) -> String {
        self.number(&canonical(q))
    }

    /// The day of `at` in `tz`, in the locale's medium date format (`7 déc. 2026`).
    pub fn date(&self, at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
        let local = at.with_timezone(&tz);
        match Date::try_new_iso(local.year(), local.month() as u8, local.day() as u8) {
            Ok(d) => self.dates.format(&d).to_string(),
            Err(_) => local.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The catalogues as the domain's [`Wording`] port: e-mail subjects in the customer's language,
/// written when the message is queued (what `GET /v1/emails` shows is what was sent).
pub struct Catalogues;

impl Wording for Catalogues {
    fn subject(
        &self,
        kind: EmailKind,
        locale: Option<&str>,
        merchant: &str,
        data: &Value,
    ) -> String {
        let sp = Speaker::for_locale(locale);
        let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
        let amount = sp.amount_text(&text("amount"), &text("currency"));
        let key = format!("email.subject.{}", kind.as_str());
        sp.t(
            &key,
            &[
                ("merchant", merchant),
                ("number", &text("number")),
                ("amount", &amount),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_follow_the_locale() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .to_utc();
        let eur = Currency::parse("EUR").unwrap();
        let amount = BigDecimal::from_str("1234.5").unwrap();
        let en = Speaker::for_locale(None);
        assert_eq!(en.amount(&amount, eur), "1,234.50 EUR");
        assert_eq!(en.date(at, chrono_tz::UTC), "Dec 7, 2026");
        let de = Speaker::for_locale(Some("de-DE"));
        assert_eq!(de.amount(&amount, eur), "1.234,50 EUR");
        assert_eq!(de.date(at, chrono_tz::UTC), "07.12.2026");
        let fr = Speaker::for_locale(Some("fr"));
        assert_eq!(fr.amount(&amount, eur), "1\u{202f}234,50 EUR");
        assert_eq!(fr.lang(), "fr");
        let ar = Speaker::for_locale(Some("ar-EG"));
        assert!(ar.rtl());
        assert_ne!(ar.t("bills.total", &[]), en.t("bills.total", &[]));
        // A language without a catalogue speaks English.
        let ja = Speaker::for_locale(Some("ja-JP"));
        assert_eq!(
            (ja.lang(), ja.t("bills.total", &[]).as_str()),
            ("en", "Total")
        );
    }

    #[test]
    fn placeholders_are_filled() {
        let de = Speaker::for_locale(Some("de"));
        assert_eq!(
            de.t("bills.due_on", &[("date", "07.12.2026")]),
            "Fällig am 07.12.2026"
        );
    }
}
