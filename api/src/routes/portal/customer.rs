use actix_web::web::Data;
use actix_web::{get, patch, HttpResponse};
use domain::customer::{Customer, CustomerPatch};
use domain::portal_session::{ProfileField, Section};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{blocking, ApiError, Problem};
use crate::extract::{JsonBody, PortalAuth};
use crate::routes::admin::customers::{present, AddressBody};
use crate::state::AppState;

/// The customer's profile as the portal shows it (the merchant's metadata stays private).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub id: String,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressBody>,
    pub timezone: String,
}

impl From<Customer> for ProfileView {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id,
            external_id: c.external_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            address: c.address.map(Into::into),
            timezone: c.timezone,
        }
    }
}

/// Profile changes; only the fields the session's `permissions.profile_update.allowed_fields`
/// grant. `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ap@acme.test"}))]
pub struct ProfilePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<AddressBody>)]
    pub address: Option<Option<AddressBody>>,
    pub timezone: Option<String>,
}

impl ProfilePatch {
    fn fields(&self) -> Vec<ProfileField> {
        [
            (self.name.is_some(), ProfileField::Name),
            (self.email.is_some(), ProfileField::Email),
            (self.phone.is_some(), ProfileField::Phone),
            (self.address.is_some(), ProfileField::Address),
            (self.timezone.is_some(), ProfileField::Timezone),
        ]
        .into_iter()
        .filter_map(|(given, f)| given.then_some(f))
        .collect()
    }
}

/// The session's customer profile (section `profile`).
#[utoipa::path(
    operation_id = "get_portal_customer",
    tag = "Portal: profile",
    security(("session_token" = [])),
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`."),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[get("/customer")]
pub async fn get(
    state: Data<AppState>,
    PortalAuth(session): PortalAuth,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Profile)?;
    let svc = state.customers.clone();
    let c = blocking(move || svc.get(&session.tenant_id, &session.customer_id)).await?;
    Ok(HttpResponse::Ok().json(ProfileView::from(c)))
}

/// Update the profile, limited to the fields the session allows.
#[utoipa::path(
    operation_id = "update_portal_customer",
    tag = "Portal: profile",
    security(("session_token" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json",
            description = "`section_disabled`, `read_only_session` (admin preview) or `field_not_allowed` (names the field)."),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`; see `Retry-After`."),
    ),
)]
#[patch("/customer")]
pub async fn update(
    state: Data<AppState>,
    PortalAuth(session): PortalAuth,
    body: JsonBody<ProfilePatch>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Profile)?;
    session.require_write()?;
    let b = body.value;
    session.require_profile_fields(&b.fields())?;
    let patch = CustomerPatch {
        name: b.name,
        email: b.email,
        phone: b.phone,
        address: b.address.map(|a| a.map(Into::into)),
        timezone: b.timezone,
        ..Default::default()
    };
    let svc = state.customers.clone();
    let c = blocking(move || svc.update(&session.tenant_id, &session.customer_id, patch)).await?;
    Ok(HttpResponse::Ok().json(ProfileView::from(c)))
}
