//! The billing portal's model and rules. Pure Rust: no web, database or OpenAPI crate here;
//! adapters (`storage`, `api`) depend on this crate, never the other way round.

/// An enum whose text form (database column, query parameter, JSON) is its snake_case variant
/// name: strum derives `as_str`/`parse`, serde the JSON; `text_forms_agree` checks the two
/// agree for every variant. Extra derives may be given with a `#[derive(..)]` inside.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            serde::Serialize,
            serde::Deserialize,
            strum::IntoStaticStr,
            strum::EnumString,
            strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        $vis enum $name { $($body)* }

        impl $name {
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            pub fn parse(s: &str) -> Option<Self> {
                s.parse().ok()
            }
        }

        // Every text enum joins the agreement test by being declared.
        #[cfg(test)]
        #[allow(unsafe_code, reason = "linkme places the entry in a link section")]
        const _: () = {
            #[linkme::distributed_slice($crate::text_form_checks::TEXT_ENUMS)]
            static AGREES: (&str, fn()) = (
                stringify!($name),
                $crate::text_form_checks::agree::<$name>,
            );
        };
    };
}

/// The agreement of every text enum's two text forms (strum's and serde's), collected from the
/// `text_enum!` declarations themselves.
#[cfg(test)]
#[allow(unsafe_code, reason = "linkme gathers the entries from a link section")]
pub(crate) mod text_form_checks {
    #[linkme::distributed_slice]
    pub static TEXT_ENUMS: [(&'static str, fn())];

    /// Every variant's `as_str` is its JSON text and parses back, exactly.
    pub fn agree<T>()
    where
        T: strum::VariantArray
            + Copy
            + PartialEq
            + std::fmt::Debug
            + serde::Serialize
            + std::str::FromStr
            + Into<&'static str>,
    {
        for v in T::VARIANTS {
            let text: &'static str = (*v).into();
            assert_eq!(
                serde_json::to_value(v).expect("serialises"),
                serde_json::Value::String(text.to_owned())
            );
            assert_eq!(text.parse::<T>().ok(), Some(*v), "{text}");
            assert!(
                text.to_uppercase().parse::<T>().is_err(),
                "text is exact: {text}"
            );
        }
    }
}

pub mod account;
pub mod activity;
pub mod actor;
pub mod alert;
pub mod api_key;
pub mod audit;
pub mod billing;
pub mod clock;
pub mod credit_note;
pub mod customer;
pub mod dashboard;
pub mod discount;
pub mod email;
pub mod error;
pub mod guest_session;
pub mod health;
pub mod id;
pub mod idempotency;
pub mod invoice;
pub mod license;
pub mod money;
pub mod page;
pub mod payment;
pub mod payment_method;
pub mod plan;
pub mod portal_session;
pub mod ports;
pub mod scope;
pub mod services;
pub mod subscription;
pub mod tax;
pub mod tax_id;
pub mod test_clock;
pub mod usage;
pub mod wallet;
pub mod webhook;

pub use error::{DomainError, DomainResult, ErrorCode, FieldError};

#[cfg(test)]
mod text_forms {
    use crate::text_form_checks::TEXT_ENUMS;

    #[test]
    fn text_forms_agree() {
        // Every enum declared with `text_enum!`, found by the declaration itself.
        assert!(TEXT_ENUMS.len() >= 30, "{} text enums", TEXT_ENUMS.len());
        for (name, agree) in TEXT_ENUMS {
            let checked = std::panic::catch_unwind(agree);
            assert!(checked.is_ok(), "{name}: its text forms disagree");
        }
        assert_eq!(
            crate::invoice::PaymentStatus::PartiallyPaid.as_str(),
            "partially_paid"
        );
        assert_eq!(
            crate::wallet::TxType::parse("debit"),
            Some(crate::wallet::TxType::Debit)
        );
        assert_eq!(crate::wallet::TxType::parse("Debit"), None);
    }
}
