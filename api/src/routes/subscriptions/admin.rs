use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::id::parse;
use domain::services::subscriptions::{Actor, NewSubscription};

use super::dto::{
    choices, discount_request, CancelSubscription, ChangePlan, CreateSubscription,
    ListSubscriptions, PlanChangePreview, SubscriptionList, SubscriptionView, UpcomingInvoice,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::customer_ref;
use crate::routes::paths;
use crate::state::AppState;

/// Subscribe a customer to a plan, starting now: a trial first when the plan (or the request)
/// gives one; periods in the customer's time zone.
#[utoipa::path(
    operation_id = "create_subscription",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateSubscription,
    responses(
        (status = 201, body = SubscriptionView),
        (status = 404, description = "`customer_not_found` or `plan_not_found`."),
        (status = 409, description = "`customer_archived` or `plan_archived`."),
        (status = 422, description = "`currency_mismatch` (wallet collection without a wallet in the plan's currency)."),
    ),
)]
#[post("/subscriptions")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateSubscription>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let (billing_anchor, collection) = choices(b)?;
    let customer = customer_ref(b.customer_id.clone(), b.external_customer_id.clone())?;
    let discount = discount_request(b.coupon_id.clone(), b.promotion_code.clone())?;
    let input = NewSubscription {
        customer,
        plan: b.plan.clone(),
        trial_days: b.trial_days,
        billing_anchor,
        collection,
        quantity: b.quantity,
        discount,
    };
    let (svc, tenant) = (state.subscriptions.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let s = svc.create(&tenant, input)?;
        Ok((
            StatusCode::CREATED,
            SubscriptionView::from(svc.named_one(s)?),
        ))
    })
    .await
}

/// List subscriptions, newest first.
#[utoipa::path(
    operation_id = "list_subscriptions",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(ListSubscriptions),
    responses((status = 200, body = SubscriptionList)),
)]
#[get("/subscriptions")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListSubscriptions>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.subscriptions.clone();
    let found = blocking(move || {
        svc.list(&who.scope(), &filter, &page)
            .and_then(|p| svc.named_page(p))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionList::from(found.map(SubscriptionView::from))))
}

/// Get a subscription.
#[utoipa::path(
    operation_id = "get_subscription",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found`."),
    ),
)]
#[get("/subscriptions/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.get(&who.scope(), &parse(&id)?)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Cancel at the end of the current period (the default) or immediately.
#[utoipa::path(
    operation_id = "cancel_subscription",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    request_body = CancelSubscription,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
        (status = 422, description = "`currency_mismatch` (a wallet credit without an active wallet in the plan's currency)."),
    ),
)]
#[post("/subscriptions/{id}/cancel")]
pub async fn cancel(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<CancelSubscription>,
) -> Result<HttpResponse, ApiError> {
    let how = body.value.choices()?;
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.cancel(&who.scope(), &parse(&id)?, how, Actor::Merchant)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Change the plan: upgrades at once by default (the price difference for the rest of the
/// period prorated by days), downgrades at the period's end.
#[utoipa::path(
    operation_id = "change_subscription_plan",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    request_body = ChangePlan,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found` or `plan_not_found`."),
        (status = 409, description = "`subscription_ended` or `plan_archived`."),
        (status = 422, description = "`currency_mismatch` (another currency, or an immediate downgrade without a wallet to credit) or `validation_failed` (the current plan, or an immediate change to another interval)."),
    ),
)]
#[post("/subscriptions/{id}/change")]
pub async fn change(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<ChangePlan>,
) -> Result<HttpResponse, ApiError> {
    let wanted = body.value.change()?;
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.change_plan(&who.scope(), &parse(&id)?, wanted, Actor::Merchant)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// What a plan change would do now (effective date, proration lines), without doing it.
#[utoipa::path(
    operation_id = "preview_subscription_plan_change",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    request_body = ChangePlan,
    responses(
        (status = 200, body = PlanChangePreview),
        (status = 404, description = "`subscription_not_found` or `plan_not_found`."),
        (status = 409, description = "`subscription_ended` or `plan_archived`."),
        (status = 422, description = "`currency_mismatch`."),
    ),
)]
#[post("/subscriptions/{id}/change/preview")]
pub async fn change_preview(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<ChangePlan>,
) -> Result<HttpResponse, ApiError> {
    let wanted = body.value.change()?;
    let svc = state.subscriptions.clone();
    let p =
        blocking(move || svc.preview_change(&who.scope(), &parse(&id)?, &wanted, Actor::Merchant))
            .await?;
    Ok(HttpResponse::Ok().json(PlanChangePreview::from(p)))
}

/// The next invoice as it stands now: the next period's fee, this period's usage so far priced
/// by the plan's charges, and pending proration, computed by the renewal's own code.
#[utoipa::path(
    operation_id = "get_subscription_upcoming_invoice",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = UpcomingInvoice),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[get("/subscriptions/{id}/upcoming_invoice")]
pub async fn upcoming_invoice(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.billing.clone();
    let u = blocking(move || svc.upcoming(&who.scope(), &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(UpcomingInvoice::from(u)))
}

/// Take back a cancellation at period end, while the period runs.
#[utoipa::path(
    operation_id = "uncancel_subscription",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[post("/subscriptions/{id}/uncancel")]
pub async fn uncancel(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.uncancel(&who.scope(), &parse(&id)?, Actor::Merchant)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Pause billing: no invoices until resumed (`next_billing_at` is null while paused).
#[utoipa::path(
    operation_id = "pause_subscription",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[post("/subscriptions/{id}/pause")]
pub async fn pause(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.pause(&who.scope(), &parse(&id)?)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Resume a paused subscription: trialing while its trial runs, active otherwise.
#[utoipa::path(
    operation_id = "resume_subscription",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[post("/subscriptions/{id}/resume")]
pub async fn resume(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.resume(&who.scope(), &parse(&id)?)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}
