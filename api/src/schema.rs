//! OpenAPI schemas built from the domain's own types, so the contract cannot disagree with the
//! code: a text enum's schema lists exactly the variants the server reads and writes.

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Object;

/// The schema of a domain text enum (`domain::text_enum!`): a string whose `enum` is every
/// variant's text form, in declaration order. Used as `#[schema(schema_with =
/// crate::schema::text_enum::<SubscriptionStatus>)]` on the DTO field that carries it.
pub fn text_enum<E>() -> Object
where
    E: strum::VariantArray + Copy + Into<&'static str>,
{
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(E::VARIANTS.iter().map(|v| {
            let text: &'static str = (*v).into();
            text
        })))
        .build()
}

/// Named schemas of the domain's text enums, for `#[schema(value_type = crate::schema::…)]`:
/// each becomes a component (`SubscriptionStatus`) that generated clients turn into an enum
/// type, and the field keeps its own description.
macro_rules! text_enums {
    ($($name:ident => $ty:ty),* $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    text_enum::<$ty>().into()
                }
            }

            impl utoipa::ToSchema for $name {}
        )*
    };
}

text_enums! {
    ClockStatus => domain::test_clock::ClockStatus,
    EndpointStatus => domain::webhook::EndpointStatus,
    DeliveryStatus => domain::webhook::DeliveryStatus,
    DisabledReason => domain::webhook::DisabledReason,
    EmailKind => domain::email::EmailKind,
    AlertType => domain::alert::AlertType,
    AlertOwner => domain::alert::AlertOwner,
    Purchase => domain::plan::Purchase,
    LicenseExpiry => domain::license::LicenseExpiry,
    LicenseKeyStatus => domain::license::LicenseKeyStatus,
    LicenseRefusal => domain::license::LicenseRefusal,
    EmailStatus => domain::email::EmailStatus,
    UnusedFee => domain::services::subscriptions::UnusedFee,
    ActivityKind => domain::activity::ActivityKind,
    ActivityStatus => domain::activity::ActivityStatus,
    Aggregation => domain::usage::Aggregation,
    BillingAnchor => domain::subscription::BillingAnchor,
    CancelAt => domain::subscription::CancelAt,
    Collection => domain::subscription::Collection,
    CouponDuration => domain::discount::CouponDuration,
    ConsumeReason => domain::services::entitlements::ConsumeReason,
    EventStatus => domain::services::entitlements::EventStatus,
    CreditNoteStatus => domain::credit_note::CreditNoteStatus,
    CancellationReason => domain::subscription::CancellationReason,
    CreditReason => domain::credit_note::CreditReason,
    CustomerStatus => domain::customer::CustomerStatus,
    Granularity => domain::usage::Granularity,
    Interval => domain::plan::Interval,
    InvoiceStatus => domain::invoice::InvoiceStatus,
    LotKind => domain::wallet::LotKind,
    MethodStatus => domain::payment_method::MethodStatus,
    MethodType => domain::payment_method::MethodType,
    PastDueAction => domain::plan::PastDueAction,
    PaymentMethodKind => domain::payment::PaymentMethod,
    PaymentState => domain::payment::PaymentState,
    PaymentStatus => domain::invoice::PaymentStatus,
    PlanStatus => domain::plan::PlanStatus,
    RefundTo => domain::credit_note::RefundTo,
    Proration => domain::services::subscriptions::Proration,
    RunKind => domain::test_clock::RunKind,
    RunSource => domain::test_clock::RunSource,
    SubscriptionStatus => domain::subscription::SubscriptionStatus,
    TxType => domain::wallet::TxType,
    TaxExempt => domain::tax::TaxExempt,
    TaxIdType => domain::tax_id::TaxIdType,
    Visibility => domain::plan::Visibility,
    WalletStatus => domain::wallet::WalletStatus,
}

/// Named schemas of value sets the API itself defines (computed statuses, request choices with
/// no domain enum): each name's values are listed once here, and the code that writes or reads
/// them uses the same constants.
macro_rules! text_sets {
    ($($name:ident => [$($value:literal),* $(,)?]),* $(,)?) => {
        $(
            pub struct $name;

            impl $name {
                pub const VALUES: &'static [&'static str] = &[$($value),*];
            }

            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(Self::VALUES.iter().copied()))
                        .build()
                        .into()
                }
            }

            impl utoipa::ToSchema for $name {}
        )*
    };
}

text_sets! {
    ApiKeyStatus => ["active", "revoked"],
    EventResultStatus => ["accepted", "duplicate", "rejected"],
    PaySource => ["wallet", "payment_method"],
    WalletPatchStatus => ["active", "frozen"],
    CustomerListStatus => ["active", "archived", "all"],
    UsageWindow => ["1d", "7d", "30d"],
    RecordedPaymentMethod => ["wallet", "external"],
    RecordedPaymentStatus => ["succeeded", "failed"],
    BillingOutcome => [
        "renewed",
        "paid",
        "past_due",
        "canceled",
        "canceled_unpaid",
        "canceled_customer_archived",
        "failed",
    ],
}

/// A session's status: active, expired, or why it ended.
pub struct SessionStatus;

impl utoipa::PartialSchema for SessionStatus {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ended = <domain::portal_session::EndReason as strum::VariantArray>::VARIANTS
            .iter()
            .map(|r| r.as_str());
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["active", "expired"].into_iter().chain(ended)))
            .build()
            .into()
    }
}

impl utoipa::ToSchema for SessionStatus {}
