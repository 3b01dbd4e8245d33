//! Session settings as they appear in JSON, shared by admin and portal routes.

use chrono::{DateTime, Utc};
use domain::portal_session::{
    CancelMode, Permissions, PortalSession, ProfileField, ProfileUpdate, Sections, SessionMode,
    SubscriptionCancel,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModeBody {
    /// The customer's own session.
    Customer,
    /// Read-only "see what the customer sees", audited per request.
    AdminPreview,
}

impl From<ModeBody> for SessionMode {
    fn from(m: ModeBody) -> Self {
        match m {
            ModeBody::Customer => SessionMode::Customer,
            ModeBody::AdminPreview => SessionMode::AdminPreview,
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
}

impl From<SectionsBody> for Sections {
    fn from(b: SectionsBody) -> Self {
        let on = |s: Option<SectionSetting>| s.is_none_or(|s| s.enabled);
        Sections {
            overview: on(b.overview),
            credits: on(b.credits),
            invoices: on(b.invoices),
            usage: on(b.usage),
            payments: on(b.payments),
            subscriptions: on(b.subscriptions),
            profile: on(b.profile),
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
}

impl ProfileFieldBody {
    pub fn domain(self) -> ProfileField {
        match self {
            Self::Name => ProfileField::Name,
            Self::Email => ProfileField::Email,
            Self::Phone => ProfileField::Phone,
            Self::Address => ProfileField::Address,
            Self::Timezone => ProfileField::Timezone,
        }
    }

    fn of(f: ProfileField) -> Self {
        match f {
            ProfileField::Name => Self::Name,
            ProfileField::Email => Self::Email,
            ProfileField::Phone => Self::Phone,
            ProfileField::Address => Self::Address,
            ProfileField::Timezone => Self::Timezone,
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
}

impl From<PermissionsBody> for Permissions {
    fn from(b: PermissionsBody) -> Self {
        let defaults = Permissions::default();
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
        }
    }
}

/// A portal session as the admin API and the portal show it (never its token).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    #[schema(example = "ps_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub customer_id: String,
    pub mode: ModeBody,
    /// `active`, `expired`, `revoked`, `superseded` or `logged_out`.
    #[schema(example = "active")]
    pub status: &'static str,
    pub return_url: Option<String>,
    pub sections: SectionsBody,
    pub permissions: PermissionsBody,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// With an idle timeout: when the session lapses unless used before.
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
            id: s.id,
            customer_id: s.customer_id,
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
