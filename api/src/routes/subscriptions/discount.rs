//! A subscription's discount: applied and removed by the merchant, redeemed by the customer
//! with a promotion code, and the retention offer of the portal's cancel flow.

use actix_web::web::{Data, Path};
use actix_web::{delete, get, post, HttpResponse};
use domain::id::parse;
use domain::services::subscriptions::{Actor, DiscountRequest};

use super::dto::{ApplyDiscount, RedeemPromotionCode, RetentionOfferView, SubscriptionView};
use crate::error::{blocking, ApiError};
use crate::extract::{section, AdminKey, JsonBody, PortalAuth};
use crate::routes::paths;
use crate::state::AppState;

/// Apply a coupon (`coupon_id`) or a promotion code to a subscription's invoices from now on,
/// replacing its discount. The redemption counts toward the coupon's and the code's
/// `max_redemptions`, exactly once. Sends `discount.applied` (and `discount.removed` for a
/// replaced one).
#[utoipa::path(
    operation_id = "apply_subscription_discount",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    request_body = ApplyDiscount,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found` or `coupon_not_found`."),
        (status = 409, description = "`subscription_ended`."),
        (status = 422, description = "`validation_failed` naming the coupon id or the promotion code: an unknown, inactive, expired or used-up code, an archived coupon, a coupon for other plans or in another currency."),
    ),
)]
#[post("/subscriptions/{id}/discount")]
pub async fn apply(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<ApplyDiscount>,
) -> Result<HttpResponse, ApiError> {
    let wanted = body.value.request()?.ok_or_else(|| {
        domain::DomainError::validation("coupon_id", "give coupon_id or promotion_code")
    })?;
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.apply_discount(&who.scope(), &parse(&id)?, wanted, Actor::Merchant)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Remove a subscription's discount: its next invoices are charged in full. Sends
/// `discount.removed`.
#[utoipa::path(
    operation_id = "remove_subscription_discount",
    tag = "Subscriptions",
    security(("api_key" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 404, description = "`subscription_not_found` or `discount_not_found` (it has none)."),
        (status = 409, description = "`subscription_ended`."),
    ),
)]
#[delete("/subscriptions/{id}/discount")]
pub async fn remove(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = blocking(move || {
        svc.remove_discount(&who.scope(), &parse(&id)?)
            .and_then(|s| svc.named_one(s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// Redeem a promotion code on one of the customer's subscriptions, if the session's
/// `promotion_code_redeem` permission allows it. Audited; counted exactly once.
#[utoipa::path(
    operation_id = "redeem_portal_promotion_code",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    request_body = RedeemPromotionCode,
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`subscription_ended`."),
        (status = 422, description = "`validation_failed` naming the promotion code: not a code of this merchant, inactive, expired, used up, for another customer or plan."),
    ),
)]
#[post("/subscriptions/{id}/discount")]
pub async fn redeem(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
    body: JsonBody<RedeemPromotionCode>,
) -> Result<HttpResponse, ApiError> {
    let wanted = DiscountRequest::PromotionCode(body.value.promotion_code.clone());
    let svc = state.subscriptions.clone();
    let s = portal
        .run(move |session| {
            let actor = Actor::Customer(session);
            svc.apply_discount(&session.scope(), &parse(&id)?, wanted, actor)
                .and_then(|s| svc.named_one(s))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}

/// The merchant's offer to a customer who starts to cancel (the account's
/// `retention_coupon_id`), made once per subscription: `offer` is null when there is none. It
/// never stands in the way: the cancel route works the same with or without it.
#[utoipa::path(
    operation_id = "get_portal_retention_offer",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = RetentionOfferView),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`subscription_not_found`."),
    ),
)]
#[get("/subscriptions/{id}/retention_offer")]
pub async fn retention_offer(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let sub = id.clone();
    let offer = portal
        .run(move |session| svc.retention_offer(&session.scope(), &parse(&sub)?))
        .await?;
    Ok(HttpResponse::Ok().json(RetentionOfferView::of(id.into_inner(), offer)))
}

/// Accept the retention offer: its coupon becomes the subscription's discount (a cancellation
/// at period end stays as it is; take it back with `uncancel`). Needs `subscription_cancel`.
#[utoipa::path(
    operation_id = "accept_portal_retention_offer",
    tag = "Portal: subscriptions",
    security(("session_token" = [])),
    params(paths::SubscriptionPath),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`subscription_not_found`."),
        (status = 409, description = "`retention_offer_unavailable` or `subscription_ended`."),
    ),
)]
#[post("/subscriptions/{id}/retention_offer/accept")]
pub async fn accept_retention_offer(
    state: Data<AppState>,
    portal: PortalAuth<section::Subscriptions>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.subscriptions.clone();
    let s = portal
        .run(move |session| {
            let actor = Actor::Customer(session);
            svc.accept_retention_offer(&session.scope(), &parse(&id)?, actor)
                .and_then(|s| svc.named_one(s))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(s)))
}
