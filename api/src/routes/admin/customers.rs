use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, patch, post, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::customer::{
    Address, Customer, CustomerFilter, CustomerPatch, CustomerStatus, NewCustomer,
};
use domain::FieldError;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list_type;
use crate::error::{blocking, ApiError, Problem};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::state::AppState;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[schema(example = "1 Market St")]
    pub line1: Option<String>,
    pub line2: Option<String>,
    #[schema(example = "San Francisco")]
    pub city: Option<String>,
    #[schema(example = "CA")]
    pub state: Option<String>,
    #[schema(example = "94105")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "US")]
    pub country: Option<String>,
}

impl From<AddressBody> for Address {
    fn from(a: AddressBody) -> Self {
        Address {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

impl From<Address> for AddressBody {
    fn from(a: Address) -> Self {
        AddressBody {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    #[schema(example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    /// The merchant's own id for the customer; unique per account.
    #[schema(example = "acme-42")]
    pub external_id: Option<String>,
    #[schema(example = "Acme Corp")]
    pub name: String,
    #[schema(example = "billing@acme.test")]
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressBody>,
    /// IANA time zone; usage days are cut in it.
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    pub metadata: BTreeMap<String, String>,
    /// `active` or `archived`.
    #[schema(example = "active")]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id,
            external_id: c.external_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            address: c.address.map(Into::into),
            timezone: c.timezone,
            metadata: c.metadata,
            status: c.status.as_str(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            archived_at: c.archived_at,
        }
    }
}

list_type!(CustomerList, CustomerView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_id": "acme-42", "name": "Acme Corp", "email": "billing@acme.test",
    "address": {"city": "Berlin", "country": "DE"}, "timezone": "Europe/Berlin", "metadata": {"plan": "pro"}}))]
pub struct CreateCustomer {
    /// Letters, digits and `- _ . : @ + = ~`, up to 255; unique per account.
    pub external_id: Option<String>,
    /// 1 to 255 characters.
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressBody>,
    /// IANA time zone (default `UTC`).
    pub timezone: Option<String>,
    /// Up to 50 keys (≤ 40 chars) with string values (≤ 500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Fields left out stay as they are; `null` clears an optional field. `metadata` replaces the
/// whole map.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ap@acme.test", "phone": null}))]
pub struct UpdateCustomer {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
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
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Tells a field sent as `null` (Some(None)) from a field left out (None).
pub(crate) fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListCustomers {
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Case-insensitive text in name, email or external_id.
    pub q: Option<String>,
    /// Exact email, case-insensitive.
    pub email: Option<String>,
    /// `active` (default), `archived` or `all`.
    #[param(example = "active")]
    pub status: Option<String>,
    /// Created at or after (RFC 3339, e.g. `2026-01-01T00:00:00Z`).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    #[serde(default, deserialize_with = "crate::timestamps::opt")]
    pub created_to: Option<DateTime<Utc>>,
}

/// Create a customer.
#[utoipa::path(
    operation_id = "create_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateCustomer,
    responses(
        (status = 201, body = CustomerView),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`malformed_json`."),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`external_id_taken` or `idempotency_key_in_use`."),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed` or `idempotency_key_reused`."),
    ),
)]
#[post("/customers")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let input = NewCustomer {
        external_id: b.external_id,
        name: b.name,
        email: b.email,
        phone: b.phone,
        address: b.address.map(Into::into),
        timezone: b.timezone,
        metadata: b.metadata.unwrap_or_default(),
    };
    let (svc, tenant) = (state.customers.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let c = svc.create(&tenant, input)?;
        Ok((StatusCode::CREATED, CustomerView::from(c)))
    })
    .await
}

/// List customers, newest first, with search and filters.
#[utoipa::path(
    operation_id = "list_customers",
    tag = "Customers",
    security(("api_key" = [])),
    params(ListCustomers),
    responses(
        (status = 200, body = CustomerList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/customers")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListCustomers>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let status = match q.status.as_deref() {
        None | Some("active") => Some(CustomerStatus::Active),
        Some("archived") => Some(CustomerStatus::Archived),
        Some("all") => None,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "status",
                "must be active, archived or all",
            )]))
        }
    };
    let filter = CustomerFilter {
        q: q.q,
        email: q.email,
        status,
        created_from: q.created_from,
        created_to: q.created_to,
    };
    let svc = state.customers.clone();
    let customers = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(CustomerList::from(customers.map(CustomerView::from))))
}

/// Get a customer by id.
#[utoipa::path(
    operation_id = "get_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = CustomerView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found`."),
    ),
)]
#[get("/customers/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.customers.clone();
    let c = blocking(move || svc.get(&who.tenant_id, &id)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}

/// Get a customer by the merchant's external id.
#[utoipa::path(
    operation_id = "get_customer_by_external_id",
    tag = "Customers",
    security(("api_key" = [])),
    params(("external_id" = String, Path, example = "acme-42")),
    responses(
        (status = 200, body = CustomerView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found`."),
    ),
)]
#[get("/customers/external/{external_id}")]
pub async fn get_by_external_id(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    external_id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.customers.clone();
    let c = blocking(move || svc.get_by_external_id(&who.tenant_id, &external_id)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}

/// Update a customer. Archived customers cannot be changed (409 `customer_archived`).
#[utoipa::path(
    operation_id = "update_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    request_body = UpdateCustomer,
    responses(
        (status = 200, body = CustomerView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found`."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`external_id_taken` or `customer_archived`."),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/customers/{id}")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<UpdateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let patch = CustomerPatch {
        external_id: b.external_id,
        name: b.name,
        email: b.email,
        phone: b.phone,
        address: b.address.map(|a| a.map(Into::into)),
        timezone: b.timezone,
        metadata: b.metadata,
    };
    let svc = state.customers.clone();
    let c = blocking(move || svc.update(&who.tenant_id, &id, patch)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}

/// Archive a customer: kept with its history, read-only, hidden from default lists.
/// Archiving an archived customer returns it unchanged.
#[utoipa::path(
    operation_id = "archive_customer",
    tag = "Customers",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "cus_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = CustomerView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`customer_not_found`."),
    ),
)]
#[post("/customers/{id}/archive")]
pub async fn archive(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.customers.clone();
    let c = blocking(move || svc.archive(&who.tenant_id, &id)).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(c)))
}
