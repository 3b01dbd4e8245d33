use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{delete, get, patch, post, HttpRequest, HttpResponse};
use domain::id::{parse, CustomerId, PaymentMethodId};
use domain::payment_method::MethodFilter;
use domain::scope::CustomerScope;
use domain::services::api_keys::Principal;
use domain::services::subscriptions::Actor;

use super::dto::{
    CreatePaymentMethod, ListPaymentMethods, PaymentMethodList, PaymentMethodView,
    UpdatePaymentMethod,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::paths;
use crate::state::AppState;

/// The customer a path names, in the key's account; a malformed id is the customer's 404.
fn owner(who: &Principal, customer_id: &str) -> Result<CustomerScope, ApiError> {
    let id: CustomerId = parse(customer_id)?;
    Ok(who.customer(&id))
}

/// The customer and the method a `…/{id}/payment_methods/{payment_method_id}` path names.
fn method(
    who: &Principal,
    (customer_id, method_id): &(String, String),
) -> Result<(CustomerScope, PaymentMethodId), ApiError> {
    Ok((owner(who, customer_id)?, parse(method_id)?))
}

/// Record a payment method the provider holds for the customer (after the provider's own
/// setup flow). Card data never reaches this service: send the provider's token.
#[utoipa::path(
    operation_id = "create_payment_method",
    tag = "Payment methods",
    security(("api_key" = [])),
    params(
        paths::CustomerPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h."),
    ),
    request_body = CreatePaymentMethod,
    responses(
        (status = 201, body = PaymentMethodView),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`customer_archived` or `payment_method_unusable` (an expired card cannot be the default)."),
    ),
)]
#[post("/customers/{id}/payment_methods")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<CreatePaymentMethod>,
) -> Result<HttpResponse, ApiError> {
    let owner = owner(&who, &id)?;
    let input = body.value.into_new()?;
    let svc = state.payment_methods.clone();
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let m = svc.add(&owner, input)?;
        Ok((StatusCode::CREATED, PaymentMethodView::from(m)))
    })
    .await
}

/// The customer's payment methods, newest first (detached ones only when asked).
#[utoipa::path(
    operation_id = "list_payment_methods",
    tag = "Payment methods",
    security(("api_key" = [])),
    params(
        paths::CustomerPath,
        ListPaymentMethods,
    ),
    responses(
        (status = 200, body = PaymentMethodList),
        (status = 404, description = "`customer_not_found` (a malformed id)."),
    ),
)]
#[get("/customers/{id}/payment_methods")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    id: Path<String>,
    Query(q): Query<ListPaymentMethods>,
) -> Result<HttpResponse, ApiError> {
    let owner = owner(&who, &id)?;
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = MethodFilter {
        include_detached: q.include_detached,
    };
    let svc = state.payment_methods.clone();
    let found = blocking(move || svc.list(&owner, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(PaymentMethodList::from(found.map(PaymentMethodView::from))))
}

/// One of the customer's payment methods (detached ones too).
#[utoipa::path(
    operation_id = "get_payment_method",
    tag = "Payment methods",
    security(("api_key" = [])),
    params(
        paths::CustomerPath,
        paths::CustomerMethodPath,
    ),
    responses(
        (status = 200, body = PaymentMethodView),
        (status = 404, description = "`payment_method_not_found` or `customer_not_found`."),
    ),
)]
#[get("/customers/{id}/payment_methods/{payment_method_id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, id) = method(&who, &path)?;
    let svc = state.payment_methods.clone();
    let m = blocking(move || svc.get(&owner, &id)).await?;
    Ok(HttpResponse::Ok().json(PaymentMethodView::from(m)))
}

/// Update display fields the provider changed, e.g. a card updater's new expiry.
#[utoipa::path(
    operation_id = "update_payment_method",
    tag = "Payment methods",
    security(("api_key" = [])),
    params(
        paths::CustomerPath,
        paths::CustomerMethodPath,
    ),
    request_body = UpdatePaymentMethod,
    responses(
        (status = 200, body = PaymentMethodView),
        (status = 404, description = "`payment_method_not_found` or `customer_not_found`."),
        (status = 409, description = "`payment_method_unusable` (detached)."),
    ),
)]
#[patch("/customers/{id}/payment_methods/{payment_method_id}")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    path: Path<(String, String)>,
    body: JsonBody<UpdatePaymentMethod>,
) -> Result<HttpResponse, ApiError> {
    let (owner, id) = method(&who, &path)?;
    let change = body.value.into();
    let svc = state.payment_methods.clone();
    let m = blocking(move || svc.update(&owner, &id, change)).await?;
    Ok(HttpResponse::Ok().json(PaymentMethodView::from(m)))
}

/// Make an active method the customer's default (the previous default stays attached).
#[utoipa::path(
    operation_id = "set_default_payment_method",
    tag = "Payment methods",
    security(("api_key" = [])),
    params(
        paths::CustomerPath,
        paths::CustomerMethodPath,
    ),
    responses(
        (status = 200, body = PaymentMethodView),
        (status = 404, description = "`payment_method_not_found` or `customer_not_found`."),
        (status = 409, description = "`payment_method_unusable` (expired or detached)."),
    ),
)]
#[post("/customers/{id}/payment_methods/{payment_method_id}/default")]
pub async fn make_default(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, id) = method(&who, &path)?;
    let svc = state.payment_methods.clone();
    let m = blocking(move || svc.make_default(&owner, &id, Actor::Merchant)).await?;
    Ok(HttpResponse::Ok().json(PaymentMethodView::from(m)))
}

/// Detach a method: it stays on record with status `detached` and can no longer be used.
/// Detaching the default leaves the customer without one; no other method is promoted.
#[utoipa::path(
    operation_id = "detach_payment_method",
    tag = "Payment methods",
    security(("api_key" = [])),
    params(
        paths::CustomerPath,
        paths::CustomerMethodPath,
    ),
    responses(
        (status = 200, body = PaymentMethodView),
        (status = 404, description = "`payment_method_not_found` or `customer_not_found`."),
        (status = 409, description = "`payment_method_unusable` (already detached)."),
    ),
)]
#[delete("/customers/{id}/payment_methods/{payment_method_id}")]
pub async fn detach(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, id) = method(&who, &path)?;
    let svc = state.payment_methods.clone();
    let m = blocking(move || svc.detach(&owner, &id, Actor::Merchant)).await?;
    Ok(HttpResponse::Ok().json(PaymentMethodView::from(m)))
}
