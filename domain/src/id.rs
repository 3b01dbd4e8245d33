//! Prefixed, time-ordered, URL-safe identifiers (`cus_01j…`).
//!
//! A ULID (48-bit millisecond timestamp + 80 random bits) in lower-case Crockford base32:
//! ids sort by creation time, so lists order by id alone and cursors are just ids.

pub const CUSTOMER: &str = "cus";
pub const API_KEY: &str = "key";
pub const TENANT: &str = "ten";
pub const PORTAL_SESSION: &str = "ps";
pub const AUDIT_EVENT: &str = "aud";
pub const WALLET: &str = "wal";
pub const WALLET_TX: &str = "wtx";
pub const CREDIT_LOT: &str = "lot";
pub const INVOICE: &str = "inv";
pub const PAYMENT: &str = "pay";
pub const REFUND: &str = "re";
pub const FEATURE: &str = "feat";
pub const EVENT: &str = "evt";

pub fn new_id(prefix: &str) -> String {
    // Monotonic within the process: ids made in the same millisecond still sort in the order
    // they were made (a plain ULID is random within its millisecond).
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    let ulid = GENERATOR
        .lock()
        .map_err(|_| ())
        .and_then(|mut g| g.generate().map_err(|_| ()))
        .unwrap_or_else(|()| ulid::Ulid::new());
    format!("{prefix}_{}", ulid.to_string().to_ascii_lowercase())
}

/// True when `id` has the given prefix and a well-formed ULID body. Used to answer a malformed
/// id with the same 404 as a missing one without a database round trip.
pub fn is_valid(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| body.len() == 26 && ulid::Ulid::from_string(body).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_url_safe_and_ordered() {
        let a = new_id(CUSTOMER);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(CUSTOMER);
        assert!(a.starts_with("cus_") && a.len() == 30);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(a < b, "later ids sort after earlier ones");
        assert!(is_valid(CUSTOMER, &a));
        assert!(!is_valid(API_KEY, &a));
        assert!(!is_valid(CUSTOMER, "cus_nope"));
    }
}
