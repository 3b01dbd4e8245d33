//! Tax identification numbers of customers and of the merchant (the buyer's and the seller's on
//! an invoice), checked by each scheme's published format and, where the scheme publishes one,
//! its check digits: EU, UK, Swiss and Norwegian VAT numbers through `vat_id_validator` (each
//! country's own algorithm), the Australian ABN (modulus 89), India's GSTIN (its base-36 check
//! character), Canada's business number (Luhn) and the US EIN (its IRS campus prefixes; it has
//! no check digit). A valid number may still not be registered: this is an offline check.

use serde::{Deserialize, Serialize};

use crate::FieldError;

crate::text_enum! {
    /// A tax id's scheme.
    pub enum TaxIdType {
        EuVat,
        GbVat,
        ChVat,
        NoVat,
        AuAbn,
        InGst,
        CaBn,
        UsEin,
    }
}

/// A tax id as stored: its scheme (`type`) and the number, normalised (upper case, without the
/// spaces, dots and dashes people write in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxId {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// At most this many tax ids per customer or account.
pub const MAX_TAX_IDS: usize = 5;

/// The EU member states' VAT prefixes (Greece's is EL; Northern Ireland's XI is the UK's).
const EU_PREFIXES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The IRS campus prefixes an EIN may start with.
const EIN_PREFIXES: [u8; 83] = [
    1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33,
    34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 50, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 71, 72, 73, 74, 75, 76, 77, 80, 81, 82, 83, 84, 85, 86,
    87, 88, 90, 91, 92, 93, 94, 95, 98, 99,
];

/// Checks and normalises `ids` given in `field` (`billing.tax_ids`, `tax_ids`): each a known
/// scheme and a valid number of it (422 naming `field[i].type` or `field[i].value`).
pub fn check(field: &str, ids: Vec<TaxId>, errs: &mut Vec<FieldError>) -> Vec<TaxId> {
    if ids.len() > MAX_TAX_IDS {
        errs.push(FieldError::new(
            field,
            format!("at most {MAX_TAX_IDS} tax ids"),
        ));
    }
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            let Some(kind) = TaxIdType::parse(&id.kind) else {
                errs.push(FieldError::new(
                    format!("{field}[{i}].type"),
                    format!("must be one of {}", kinds()),
                ));
                return id;
            };
            let value = normalise(&id.value);
            if let Err(why) = valid(kind, &value) {
                errs.push(FieldError::new(format!("{field}[{i}].value"), why));
            }
            TaxId {
                kind: id.kind,
                value,
            }
        })
        .collect()
}

/// Every scheme's text form, comma-separated (for error messages).
fn kinds() -> String {
    use strum::VariantArray;
    let all: Vec<&str> = TaxIdType::VARIANTS.iter().map(|k| k.as_str()).collect();
    all.join(", ")
}

fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '/'))
        .flat_map(char::to_uppercase)
        .collect()
}

fn valid(kind: TaxIdType, v: &str) -> Result<(), String> {
    let vat = |country: &str| vat_id_validator::check_vat_by_country(v, country).is_valid;
    let ok = match kind {
        TaxIdType::EuVat => {
            let prefix = v.get(..2).unwrap_or_default();
            if !EU_PREFIXES.contains(&prefix) {
                return Err("must start with an EU member state's VAT prefix (DE, FR, EL…)".into());
            }
            vat(prefix)
        }
        TaxIdType::GbVat => v.starts_with("GB") && vat("GB"),
        TaxIdType::ChVat => v.starts_with("CHE") && vat("CH"),
        TaxIdType::NoVat => v.starts_with("NO") && vat("NO"),
        TaxIdType::AuAbn => abn(v),
        TaxIdType::InGst => gstin(v),
        TaxIdType::CaBn => business_number(v),
        TaxIdType::UsEin => ein(v),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("is not a valid {} number", kind.as_str()))
    }
}

fn digits(v: &str, n: usize) -> Option<Vec<u32>> {
    (v.len() == n)
        .then(|| v.chars().map(|c| c.to_digit(10)).collect())
        .flatten()
}

/// Australian Business Number: 11 digits; subtract 1 from the first, weight, sum ≡ 0 (mod 89).
fn abn(v: &str) -> bool {
    const WEIGHTS: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    let Some(d) = digits(v, 11) else { return false };
    if d[0] == 0 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| if i == 0 { x - 1 } else { x } * WEIGHTS[i])
        .sum();
    sum.is_multiple_of(89)
}

/// India's GSTIN: state code (2 digits), PAN (5 letters, 4 digits, a letter), entity number,
/// `Z`, and a base-36 check character over the first 14.
fn gstin(v: &str) -> bool {
    const CHARS: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let b = v.as_bytes();
    let shape = b.len() == 15
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2..7].iter().all(u8::is_ascii_uppercase)
        && b[7..11].iter().all(u8::is_ascii_digit)
        && b[11].is_ascii_uppercase()
        && (b[12].is_ascii_digit() || b[12].is_ascii_uppercase())
        && b[12] != b'0'
        && b[13] == b'Z';
    if !shape {
        return false;
    }
    let sum: usize = v[..14]
        .chars()
        .enumerate()
        .filter_map(|(i, c)| CHARS.find(c).map(|x| x * if i % 2 == 0 { 1 } else { 2 }))
        .map(|p| p / 36 + p % 36)
        .sum();
    let check = (36 - sum % 36) % 36;
    CHARS.as_bytes().get(check) == Some(&b[14])
}

/// Canada's business number: 9 digits with a Luhn check digit, optionally followed by a
/// program account (`RT0001`).
fn business_number(v: &str) -> bool {
    let (bn, account) = v.split_at(v.len().min(9));
    let account_ok = account.is_empty()
        || (account.len() == 6
            && account[..2].bytes().all(|b| b.is_ascii_uppercase())
            && account[2..].bytes().all(|b| b.is_ascii_digit()));
    let Some(d) = digits(bn, 9) else { return false };
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| match i % 2 {
            1 if x * 2 > 9 => x * 2 - 9,
            1 => x * 2,
            _ => x,
        })
        .sum();
    account_ok && sum.is_multiple_of(10)
}

/// A US employer identification number: 9 digits whose first two are an IRS campus prefix.
fn ein(v: &str) -> bool {
    digits(v, 9).is_some_and(|d| EIN_PREFIXES.contains(&((d[0] * 10 + d[1]) as u8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_one(kind: &str, value: &str) -> Result<String, Vec<FieldError>> {
        let mut errs = Vec::new();
        let out = check(
            "tax_ids",
            vec![TaxId {
                kind: kind.into(),
                value: value.into(),
            }],
            &mut errs,
        );
        if errs.is_empty() {
            Ok(out[0].value.clone())
        } else {
            Err(errs)
        }
    }

    #[test]
    fn valid_numbers_pass_normalised() {
        for (kind, value, normal) in [
            ("eu_vat", "DE 136 695 976", "DE136695976"),
            ("eu_vat", "fr40303265045", "FR40303265045"),
            ("eu_vat", "EL094259216", "EL094259216"),
            ("gb_vat", "GB 434 0314 94", "GB434031494"),
            ("ch_vat", "CHE-116.281.710 MWST", "CHE116281710MWST"),
            ("no_vat", "NO 923 609 016 MVA", "NO923609016MVA"),
            ("au_abn", "51 824 753 556", "51824753556"),
            ("in_gst", "27AAPFU0939F1ZV", "27AAPFU0939F1ZV"),
            ("ca_bn", "123456782", "123456782"),
            ("ca_bn", "123456782RT0001", "123456782RT0001"),
            ("us_ein", "12-3456789", "123456789"),
        ] {
            assert_eq!(
                check_one(kind, value).as_deref(),
                Ok(normal),
                "{kind} {value}"
            );
        }
    }

    #[test]
    fn wrong_check_digits_and_shapes_are_named() {
        for (kind, value) in [
            ("eu_vat", "DE123456789"),
            ("eu_vat", "US123456789"),
            ("gb_vat", "GB654321098"),
            ("au_abn", "51824753557"),
            ("in_gst", "27AAPFU0939F1ZW"),
            ("ca_bn", "123456789"),
            ("us_ein", "07-3456789"),
            ("us_ein", "12345678"),
        ] {
            let errs = check_one(kind, value).unwrap_err();
            assert_eq!(errs[0].field, "tax_ids[0].value", "{kind} {value}");
        }
        let errs = check_one("vat", "DE136695976").unwrap_err();
        assert_eq!(errs[0].field, "tax_ids[0].type");
    }
}
