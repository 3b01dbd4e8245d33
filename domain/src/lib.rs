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
    };
}

pub mod account;
pub mod activity;
pub mod api_key;
pub mod audit;
pub mod billing;
pub mod clock;
pub mod customer;
pub mod error;
pub mod guest_session;
pub mod id;
pub mod idempotency;
pub mod invoice;
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
pub mod test_clock;
pub mod usage;
pub mod wallet;
pub mod webhook;

pub use error::{DomainError, DomainResult, ErrorCode, FieldError};

#[cfg(test)]
mod text_forms {
    use strum::VariantArray;

    fn agree<T>()
    where
        T: VariantArray + Copy + PartialEq + std::fmt::Debug + serde::Serialize,
        T: Into<&'static str> + std::str::FromStr,
    {
        for v in T::VARIANTS {
            let text: &'static str = (*v).into();
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(text));
            assert_eq!(text.parse::<T>().ok(), Some(*v), "{text}");
            assert!(
                text.to_uppercase().parse::<T>().is_err(),
                "text is exact: {text}"
            );
        }
    }

    #[test]
    fn text_forms_agree() {
        agree::<crate::customer::CustomerStatus>();
        agree::<crate::invoice::InvoiceStatus>();
        agree::<crate::invoice::PaymentStatus>();
        agree::<crate::payment::PaymentMethod>();
        agree::<crate::payment::PaymentState>();
        agree::<crate::portal_session::SessionMode>();
        agree::<crate::portal_session::Section>();
        agree::<crate::portal_session::ProfileField>();
        agree::<crate::portal_session::EndReason>();
        agree::<crate::usage::Aggregation>();
        agree::<crate::webhook::EndpointStatus>();
        agree::<crate::webhook::DisabledReason>();
        agree::<crate::webhook::DeliveryStatus>();
        agree::<crate::usage::Granularity>();
        agree::<crate::wallet::WalletStatus>();
        agree::<crate::wallet::LotKind>();
        agree::<crate::wallet::TxType>();
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
