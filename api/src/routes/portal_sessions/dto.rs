//! Session settings as they appear in JSON, shared by admin and portal routes.

use chrono::{DateTime, Utc};
use domain::portal_session::{
    CancelMode, Grant, InvoicePay, PaymentMethodManage, Permissions, PlanChangePermission,
    PortalSession, ProfileField, ProfileUpdate, Sections, SessionMode, SubscriptionCancel,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::routes::common::{customer_ref, list_type};
use domain::guest_session::GuestSession;
use domain::portal_session::NewSession;
use domain::services::portal_sessions::{CreatedGuest, CreatedSession, Visitor};
use domain::FieldError;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModeBody {
    /// The customer's own session.
    Customer,
    /// Read-only "see what the customer sees", audited per request.
    AdminPreview,
    /// No customer (created with `guest: true`): the plans catalogue and the branding only.
    Guest,
}

impl ModeBody {
    /// The mode of a customer's session (`guest` is asked for with `guest: true`).
    pub fn customer_mode(self) -> Option<SessionMode> {
        match self {
            ModeBody::Customer => Some(SessionMode::Customer),
            ModeBody::AdminPreview => Some(SessionMode::AdminPreview),
            ModeBody::Guest => None,
        }
    }
}

impl From<SessionMode> for ModeBody {
    fn from(m: SessionMode) -> Self {
        match m {
            SessionMode::Customer => ModeBody::Customer,
            SessionMode::AdminPreview => ModeBody::AdminPreview,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionSetting {
    pub enabled: bool,
}

/// Portal tabs; each is enabled unless `{"enabled": false}`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionsBody {
    pub overview: Option<SectionSetting>,
    pub credits: Option<SectionSetting>,
    pub invoices: Option<SectionSetting>,
    pub usage: Option<SectionSetting>,
    pub payments: Option<SectionSetting>,
    pub subscriptions: Option<SectionSetting>,
    pub profile: Option<SectionSetting>,
    pub payment_methods: Option<SectionSetting>,
    pub activity: Option<SectionSetting>,
    /// The customer's license keys.
    pub licenses: Option<SectionSetting>,
}

impl From<SectionsBody> for Sections {
    fn from(b: SectionsBody) -> Self {
        b.over(Sections::default())
    }
}

impl SectionsBody {
    /// The sections given here, and `base`'s for those left out.
    pub fn over(self, base: Sections) -> Sections {
        let on = |s: Option<SectionSetting>, default: bool| s.map_or(default, |s| s.enabled);
        Sections {
            overview: on(self.overview, base.overview),
            credits: on(self.credits, base.credits),
            invoices: on(self.invoices, base.invoices),
            usage: on(self.usage, base.usage),
            payments: on(self.payments, base.payments),
            subscriptions: on(self.subscriptions, base.subscriptions),
            profile: on(self.profile, base.profile),
            payment_methods: on(self.payment_methods, base.payment_methods),
            activity: on(self.activity, base.activity),
            licenses: on(self.licenses, base.licenses),
        }
    }
}

impl From<Sections> for SectionsBody {
    fn from(s: Sections) -> Self {
        let set = |enabled| Some(SectionSetting { enabled });
        SectionsBody {
            overview: set(s.overview),
            credits: set(s.credits),
            invoices: set(s.invoices),
            usage: set(s.usage),
            payments: set(s.payments),
            subscriptions: set(s.subscriptions),
            profile: set(s.profile),
            payment_methods: set(s.payment_methods),
            activity: set(s.activity),
            licenses: set(s.licenses),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProfileFieldBody {
    Name,
    Email,
    Phone,
    Address,
    Timezone,
    /// The customer's language.
    Locale,
    /// The billing details as a whole.
    Billing,
    /// Whether new invoices are paid automatically.
    AutoPay,
}

impl ProfileFieldBody {
    pub fn domain(self) -> ProfileField {
        match self {
            Self::Name => ProfileField::Name,
            Self::Email => ProfileField::Email,
            Self::Phone => ProfileField::Phone,
            Self::Address => ProfileField::Address,
            Self::Timezone => ProfileField::Timezone,
            Self::Locale => ProfileField::Locale,
            Self::Billing => ProfileField::Billing,
            Self::AutoPay => ProfileField::AutoPay,
        }
    }

    fn of(f: ProfileField) -> Self {
        match f {
            ProfileField::Name => Self::Name,
            ProfileField::Email => Self::Email,
            ProfileField::Phone => Self::Phone,
            ProfileField::Address => Self::Address,
            ProfileField::Timezone => Self::Timezone,
            ProfileField::Locale => Self::Locale,
            ProfileField::Billing => Self::Billing,
            ProfileField::AutoPay => Self::AutoPay,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelModeBody {
    AtPeriodEnd,
    Immediately,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdateBody {
    /// Profile fields the customer may change from the portal (none by default).
    #[serde(default)]
    pub allowed_fields: Vec<ProfileFieldBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCancelBody {
    pub enabled: bool,
    /// Default `at_period_end`.
    pub mode: Option<CancelModeBody>,
}

/// What the session may change; a portal is read-only unless granted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsBody {
    pub profile_update: Option<ProfileUpdateBody>,
    pub subscription_cancel: Option<SubscriptionCancelBody>,
    /// Changing a subscription's plan to a public plan (off by default).
    pub plan_change: Option<PlanChangeBody>,
    /// Setting the default payment method and removing one (off by default).
    pub payment_method_manage: Option<PaymentMethodManageBody>,
    /// Paying invoices from the customer's wallet (off by default).
    pub invoice_pay: Option<InvoicePayBody>,
    /// Changing a subscription's seats within its plan's limits (off by default).
    pub quantity_change: Option<GrantBody>,
    /// Redeeming a promotion code on a subscription (off by default).
    pub promotion_code_redeem: Option<GrantBody>,
    /// Setting and removing the customer's own usage, spend and balance alerts (off by
    /// default).
    pub alerts_manage: Option<GrantBody>,
    /// Deactivating an activation of the customer's license keys (off by default).
    pub license_manage: Option<GrantBody>,
}

/// A permission that is on or off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePayBody {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodManageBody {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChangeBody {
    pub enabled: bool,
}

impl From<PermissionsBody> for Permissions {
    fn from(b: PermissionsBody) -> Self {
        b.over(Permissions::default())
    }
}

impl PermissionsBody {
    /// The permissions given here, and `defaults`' for those left out.
    pub fn over(self, defaults: Permissions) -> Permissions {
        let b = self;
        Permissions {
            profile_update: b
                .profile_update
                .map(|p| ProfileUpdate {
                    allowed_fields: p
                        .allowed_fields
                        .into_iter()
                        .map(ProfileFieldBody::domain)
                        .collect(),
                })
                .unwrap_or(defaults.profile_update),
            subscription_cancel: b
                .subscription_cancel
                .map(|c| SubscriptionCancel {
                    enabled: c.enabled,
                    mode: match c.mode {
                        Some(CancelModeBody::Immediately) => CancelMode::Immediately,
                        _ => CancelMode::AtPeriodEnd,
                    },
                })
                .unwrap_or(defaults.subscription_cancel),
            plan_change: b
                .plan_change
                .map(|c| PlanChangePermission { enabled: c.enabled })
                .unwrap_or(defaults.plan_change),
            payment_method_manage: b
                .payment_method_manage
                .map(|c| PaymentMethodManage { enabled: c.enabled })
                .unwrap_or(defaults.payment_method_manage),
            invoice_pay: b
                .invoice_pay
                .map(|c| InvoicePay { enabled: c.enabled })
                .unwrap_or(defaults.invoice_pay),
            quantity_change: b
                .quantity_change
                .map(|c| Grant { enabled: c.enabled })
                .unwrap_or(defaults.quantity_change),
            promotion_code_redeem: b
                .promotion_code_redeem
                .map(|c| Grant { enabled: c.enabled })
                .unwrap_or(defaults.promotion_code_redeem),
            alerts_manage: b
                .alerts_manage
                .map(|c| Grant { enabled: c.enabled })
                .unwrap_or(defaults.alerts_manage),
            license_manage: b
                .license_manage
                .map(|c| Grant { enabled: c.enabled })
                .unwrap_or(defaults.license_manage),
        }
    }
}

impl From<Permissions> for PermissionsBody {
    fn from(p: Permissions) -> Self {
        PermissionsBody {
            profile_update: Some(ProfileUpdateBody {
                allowed_fields: p
                    .profile_update
                    .allowed_fields
                    .into_iter()
                    .map(ProfileFieldBody::of)
                    .collect(),
            }),
            subscription_cancel: Some(SubscriptionCancelBody {
                enabled: p.subscription_cancel.enabled,
                mode: Some(match p.subscription_cancel.mode {
                    CancelMode::AtPeriodEnd => CancelModeBody::AtPeriodEnd,
                    CancelMode::Immediately => CancelModeBody::Immediately,
                }),
            }),
            plan_change: Some(PlanChangeBody {
                enabled: p.plan_change.enabled,
            }),
            payment_method_manage: Some(PaymentMethodManageBody {
                enabled: p.payment_method_manage.enabled,
            }),
            invoice_pay: Some(InvoicePayBody {
                enabled: p.invoice_pay.enabled,
            }),
            quantity_change: Some(GrantBody {
                enabled: p.quantity_change.enabled,
            }),
            promotion_code_redeem: Some(GrantBody {
                enabled: p.promotion_code_redeem.enabled,
            }),
            alerts_manage: Some(GrantBody {
                enabled: p.alerts_manage.enabled,
            }),
            license_manage: Some(GrantBody {
                enabled: p.license_manage.enabled,
            }),
        }
    }
}

/// A portal session as the admin API and the portal show it (never its token).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    #[schema(example = "ps_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    /// `null` for a guest session.
    pub customer_id: Option<String>,
    pub mode: ModeBody,
    /// `active`, `expired`, `revoked`, `superseded` or `logged_out`.
    #[schema(value_type = crate::schema::SessionStatus)]
    pub status: &'static str,
    pub return_url: Option<String>,
    pub sections: SectionsBody,
    pub permissions: PermissionsBody,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// With an idle timeout: when the session lapses unless used before. A use moves it forward
    /// only once less than half of the idle window is left.
    pub idle_expires_at: Option<DateTime<Utc>>,
    pub idle_timeout_seconds: Option<i64>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<PortalSession> for SessionView {
    fn from(s: PortalSession) -> Self {
        let status = match (s.end_reason, s.is_active(domain::clock::now())) {
            (Some(r), _) => r.as_str(),
            (None, true) => "active",
            (None, false) => "expired",
        };
        Self {
            status,
            idle_expires_at: s.idle_expires_at(),
            id: s.id.into(),
            customer_id: Some(s.customer_id.into()),
            mode: s.mode.into(),
            return_url: s.return_url,
            sections: s.sections.into(),
            permissions: s.permissions.into(),
            created_at: s.created_at,
            expires_at: s.expires_at,
            idle_timeout_seconds: s.idle_timeout_seconds,
            ended_at: s.ended_at,
        }
    }
}

impl From<GuestSession> for SessionView {
    fn from(s: GuestSession) -> Self {
        let status = match (s.end_reason, s.check(domain::clock::now()).is_ok()) {
            (Some(r), _) => r.as_str(),
            (None, true) => "active",
            (None, false) => "expired",
        };
        let nothing = Sections {
            overview: false,
            credits: false,
            invoices: false,
            usage: false,
            payments: false,
            subscriptions: false,
            profile: false,
            payment_methods: false,
            activity: false,
            licenses: false,
        };
        Self {
            status,
            idle_expires_at: None,
            id: s.id.into(),
            customer_id: None,
            mode: ModeBody::Guest,
            return_url: s.return_url,
            sections: nothing.into(),
            permissions: Permissions::default().into(),
            created_at: s.created_at,
            expires_at: s.expires_at,
            idle_timeout_seconds: None,
            ended_at: s.ended_at,
        }
    }
}

impl From<Visitor> for SessionView {
    fn from(v: Visitor) -> Self {
        match v {
            Visitor::Customer(s) => s.into(),
            Visitor::Guest(g) => g.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_customer_id": "acme-42", "return_url": "https://shop.test/account",
    "expires_in_seconds": 3600, "idle_timeout_seconds": 900,
    "sections": {"payments": {"enabled": false}},
    "permissions": {"profile_update": {"allowed_fields": ["email", "phone"]}}}))]
pub struct CreatePortalSession {
    /// `true`: a guest session without a customer, for a pricing or checkout page; it reads
    /// only the plans catalogue and the branding. Takes `return_url` and
    /// `expires_in_seconds` only.
    pub guest: Option<bool>,
    /// The customer, by id…
    pub customer_id: Option<String>,
    /// …or by the merchant's external id (exactly one of the two).
    pub external_customer_id: Option<String>,
    /// Where the portal's "back" link leads.
    pub return_url: Option<String>,
    /// 60 to 86400, default 3600.
    pub expires_in_seconds: Option<i64>,
    /// Optional sliding idle window (≥ 60, ≤ expires_in_seconds): a use extends it once less than
    /// half of it is left, so a session used at least every half window never idles out.
    pub idle_timeout_seconds: Option<i64>,
    /// End the customer's other open sessions (default true). Ignored for admin previews.
    pub invalidate_existing: Option<bool>,
    /// Default `customer`.
    pub mode: Option<ModeBody>,
    /// Sections left out take the account's `portal_sections` (every section by default).
    pub sections: Option<SectionsBody>,
    /// Permissions left out take the account's `portal_permissions` (none by default).
    pub permissions: Option<PermissionsBody>,
}

/// What a create request asks for, before the account's defaults fill in what it leaves out.
#[derive(Debug, Clone)]
pub struct AskedSession {
    input: NewSession,
    sections: Option<SectionsBody>,
    permissions: Option<PermissionsBody>,
}

impl CreatePortalSession {
    /// A customer session's request (not a guest's): its customer and mode checked.
    pub fn into_asked(self) -> Result<AskedSession, ApiError> {
        let mode = match self.mode.map(ModeBody::customer_mode) {
            Some(None) => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "mode",
                    "a guest session is asked for with guest: true",
                )]))
            }
            Some(Some(m)) => Some(m),
            None => None,
        };
        let defaults = NewSession::new(customer_ref(self.customer_id, self.external_customer_id)?);
        Ok(AskedSession {
            input: NewSession {
                return_url: self.return_url,
                expires_in_seconds: self.expires_in_seconds,
                idle_timeout_seconds: self.idle_timeout_seconds,
                invalidate_existing: self
                    .invalidate_existing
                    .unwrap_or(defaults.invalidate_existing),
                mode: mode.unwrap_or(defaults.mode),
                ..defaults
            },
            sections: self.sections,
            permissions: self.permissions,
        })
    }
}

impl AskedSession {
    /// The session to create: what was asked, the account's default sections and permissions
    /// for what was not.
    pub fn over(self, account: &domain::account::Account) -> NewSession {
        let (sections, permissions) = account.settings.session_defaults();
        NewSession {
            sections: self.sections.map_or(sections, |s| s.over(sections)),
            permissions: self
                .permissions
                .map_or(permissions.clone(), |p| p.over(permissions)),
            ..self.input
        }
    }
}

/// A new session. `token` is for the merchant's backend or frontend; `url` is for the
/// customer's browser and carries a single-use login code (10 minutes), never the token.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPortalSession {
    #[serde(flatten)]
    pub session: SessionView,
    #[schema(example = "v4.local.xxxxxxxx")]
    pub token: String,
    #[schema(
        example = "http://localhost:3000/portal?code=q8wJ2mXk9Pz4Lr7Tn1Vb6Yc3Hd5Fg0Se2aB4cD6eF8g"
    )]
    pub url: String,
}

impl From<CreatedSession> for CreatedPortalSession {
    fn from(c: CreatedSession) -> Self {
        Self {
            session: c.session.into(),
            token: c.token,
            url: c.url,
        }
    }
}

impl From<CreatedGuest> for CreatedPortalSession {
    fn from(c: CreatedGuest) -> Self {
        Self {
            session: c.session.into(),
            token: c.token,
            url: c.url,
        }
    }
}

/// The Flexprice-compatible shortcut's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalLink {
    pub token: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

list_type!(SessionList, SessionView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListSessions {
    /// The customer whose open sessions to list.
    pub customer_id: String,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A customer asks for a sign-in link (self sign-in).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskLoginLink {
    /// The merchant's account (`GET /v1/account` → `id`), as the sign-in page's
    /// `?account=` gives it.
    #[schema(example = "ten_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub account_id: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
}

impl AskLoginLink {
    /// 422 naming the field for a malformed account id or e-mail (never for an unknown one).
    pub fn check(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        if domain::id::TenantId::named_by_client(&self.account_id).is_none() {
            errors.push(FieldError::new("account_id", "is not an account id"));
        }
        domain::customer::check_email_field("email", Some(self.email.trim()), &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// The same answer whatever the address.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginLinkAsked {
    #[schema(
        example = "If a customer of this account has this e-mail, a sign-in link is on its way."
    )]
    pub message: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeCode {
    /// The `code` query parameter of the session's `url`.
    #[schema(example = "q8wJ2mXk9Pz4Lr7Tn1Vb6Yc3Hd5Fg0Se2aB4cD6eF8g")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangedToken {
    /// Send as `X-Session-Token` on portal routes.
    #[schema(example = "v4.local.xxxxxxxx")]
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub session: SessionView,
}

/// E-mail a customer a link to their portal. Fields left out take the defaults of
/// `POST /v1/portal_sessions` and the account's sections and permissions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendPortalLink {
    /// Where the portal's "back" link leads.
    #[schema(example = "https://shop.test/account")]
    pub return_url: Option<String>,
    /// The session's lifetime, 60 to 86400, default 3600. The link itself works once, within
    /// an hour (or the session's lifetime if shorter).
    pub expires_in_seconds: Option<i64>,
    /// Optional sliding idle window (≥ 60, ≤ expires_in_seconds): a use extends it once less than
    /// half of it is left, so a session used at least every half window never idles out.
    pub idle_timeout_seconds: Option<i64>,
    /// End the customer's other open sessions (default false: a link by mail adds a window).
    pub invalidate_existing: Option<bool>,
    pub sections: Option<SectionsBody>,
    pub permissions: Option<PermissionsBody>,
}

impl SendPortalLink {
    pub fn into_asked(self, customer_id: String) -> Result<AskedSession, ApiError> {
        CreatePortalSession {
            guest: None,
            customer_id: Some(customer_id),
            external_customer_id: None,
            return_url: self.return_url,
            expires_in_seconds: self.expires_in_seconds,
            idle_timeout_seconds: self.idle_timeout_seconds,
            invalidate_existing: Some(self.invalidate_existing.unwrap_or(false)),
            mode: None,
            sections: self.sections,
            permissions: self.permissions,
        }
        .into_asked()
    }
}

/// A portal link on its way: the session it opens and the message that carries it (the URL is
/// only in the message).
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalLinkSent {
    #[schema(example = "ps_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub session_id: String,
    pub expires_at: DateTime<Utc>,
    pub email: crate::routes::emails::dto::EmailView,
}

impl PortalLinkSent {
    pub fn new(created: CreatedSession, email: domain::email::Email) -> Self {
        Self {
            session_id: created.session.id.to_string(),
            expires_at: created.session.expires_at,
            email: email.into(),
        }
    }
}
