//! The ids a route's path carries, as parameters of the contract: each with the pattern of the
//! ids the server issues (`<prefix>_` and a lowercase ULID) and an example, written once here
//! instead of at every route. A malformed id is still the resource's 404 (not a 422), so a
//! client that skips the pattern loses nothing.

use utoipa::IntoParams;

macro_rules! path_ids {
    ($($name:ident { $field:ident: $pattern:literal, $example:literal, $doc:literal })*) => {
        $(
            #[derive(Debug, IntoParams)]
            #[into_params(parameter_in = Path)]
            pub struct $name {
                #[doc = $doc]
                #[param(pattern = $pattern, example = $example)]
                pub $field: String,
            }
        )*
    };
}

path_ids! {
    AlertPath { id: "^alrt_[0-9a-z]{26}$", "alrt_01jd3x6v9f5m2q8r7t4w0y1z3a", "The alert." }
    ApiKeyPath { id: "^key_[0-9a-z]{26}$", "key_01jd3x6v9f5m2q8r7t4w0y1z3a", "The API key." }
    CouponPath { id: "^cpn_[0-9a-z]{26}$", "cpn_01jd3x6v9f5m2q8r7t4w0y1z3a", "The coupon." }
    CreditNotePath { id: "^cn_[0-9a-z]{26}$", "cn_01jd3x6v9f5m2q8r7t4w0y1z3a", "The credit note." }
    EmailPath { id: "^em_[0-9a-z]{26}$", "em_01jd3x6v9f5m2q8r7t4w0y1z3a", "The e-mail." }
    CustomerPath { id: "^cus_[0-9a-z]{26}$", "cus_01jd3x6v9f5m2q8r7t4w0y1z3a", "The customer." }
    FeaturePath { id: "^feat_[0-9a-z]{26}$", "feat_01jd3x6v9f5m2q8r7t4w0y1z3a", "The feature." }
    LicenseKeyPath { id: "^lk_[0-9a-z]{26}$", "lk_01jd3x6v9f5m2q8r7t4w0y1z3a", "The license key." }
    KeyActivationPath {
        activation_id: "^act_[0-9a-z]{26}$", "act_01jd3x6v9f5m2q8r7t4w0y1z3a",
        "One of the key's activations."
    }
    InvoicePath { id: "^inv_[0-9a-z]{26}$", "inv_01jd3x6v9f5m2q8r7t4w0y1z3a", "The invoice." }
    PaymentPath { id: "^pay_[0-9a-z]{26}$", "pay_01jd3x6v9f5m2q8r7t4w0y1z3a", "The payment." }
    PaymentMethodPath { id: "^pm_[0-9a-z]{26}$", "pm_01jd3x6v9f5m2q8r7t4w0y1z3a", "The payment method." }
    CustomerMethodPath {
        payment_method_id: "^pm_[0-9a-z]{26}$", "pm_01jd3x6v9f5m2q8r7t4w0y1z3a",
        "One of the customer's payment methods."
    }
    CustomerAlertPath {
        alert_id: "^alrt_[0-9a-z]{26}$", "alrt_01jd3x6v9f5m2q8r7t4w0y1z3a",
        "One of the customer's alerts."
    }
    PlanPath { id: "^plan_[0-9a-z]{26}$", "plan_01jd3x6v9f5m2q8r7t4w0y1z3a", "The plan." }
    PortalSessionPath { id: "^ps_[0-9a-z]{26}$", "ps_01jd3x6v9f5m2q8r7t4w0y1z3a", "The portal session." }
    SubscriptionPath { id: "^sub_[0-9a-z]{26}$", "sub_01jd3x6v9f5m2q8r7t4w0y1z3a", "The subscription." }
    PromotionCodePath { id: "^promo_[0-9a-z]{26}$", "promo_01jd3x6v9f5m2q8r7t4w0y1z3a", "The promotion code." }
    TaxRatePath { id: "^txr_[0-9a-z]{26}$", "txr_01jd3x6v9f5m2q8r7t4w0y1z3a", "The tax rate." }
    TestClockPath { id: "^clock_[0-9a-z]{26}$", "clock_01jd3x6v9f5m2q8r7t4w0y1z3a", "The test clock." }
    WalletPath { id: "^wal_[0-9a-z]{26}$", "wal_01jd3x6v9f5m2q8r7t4w0y1z3a", "The wallet." }
    WebhookDeliveryPath { id: "^whd_[0-9a-z]{26}$", "whd_01jd3x6v9f5m2q8r7t4w0y1z3a", "The delivery." }
    WebhookEndpointPath { id: "^we_[0-9a-z]{26}$", "we_01jd3x6v9f5m2q8r7t4w0y1z3a", "The webhook endpoint." }
    WebhookEventPath { id: "^msg_[0-9a-z]{26}$", "msg_01jd3x6v9f5m2q8r7t4w0y1z3a", "The event." }
}

/// A customer by the merchant's own id (any text the merchant chose, so no pattern).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExternalIdPath {
    /// The customer's `external_id`.
    #[param(example = "acme-42")]
    pub external_id: String,
}
