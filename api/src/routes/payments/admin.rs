use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use domain::actor::Actor;
use domain::id::parse;
use domain::services::payments::Settlement;

use super::dto::{
    ConfirmPayment, CreatePayment, CreateRefund, FailPayment, ListPayments, PaymentList,
    PaymentResult, PaymentView, RefundResult, RefundView,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::decimal;
use crate::routes::paths;
use crate::state::AppState;

/// Record a payment of a finalized invoice. Wallet payments debit the wallet in the same
/// transaction. Over-payment → 422 `overpayment`.
#[utoipa::path(
    operation_id = "pay_invoice",
    tag = "Payments",
    security(("api_key" = [])),
    params(
        paths::InvoicePath,
        ("Idempotency-Key" = Option<String>, Header, description = "A retried payment is applied once."),
    ),
    request_body = CreatePayment,
    responses(
        (status = 201, body = PaymentResult),
        (status = 404, description = "`invoice_not_found` or `wallet_not_found` (also another customer's wallet)."),
        (status = 409, description = "`invoice_not_payable`, `customer_archived`, `wallet_frozen` or `wallet_closed`."),
        (status = 422, description = "`overpayment`, `insufficient_credits` or `currency_mismatch`."),
    ),
)]
#[post("/invoices/{id}/payments")]
pub async fn pay(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<CreatePayment>,
) -> Result<HttpResponse, ApiError> {
    let input = body.value.into_new()?;
    let (svc, tenant, id) = (
        state.payments.clone(),
        who.tenant_id.clone(),
        id.into_inner(),
    );
    idempotency::run(&state, &who, &req, &body.raw, move || {
        Ok((
            StatusCode::CREATED,
            PaymentResult::from(svc.pay(&Actor::Merchant, &tenant, &parse(&id)?, input)?),
        ))
    })
    .await
}

/// Refund part or all of a payment; wallet payments return their credits to the wallet.
#[utoipa::path(
    operation_id = "refund_payment",
    tag = "Payments",
    security(("api_key" = [])),
    params(
        paths::PaymentPath,
        ("Idempotency-Key" = Option<String>, Header, description = "A retried refund is applied once."),
    ),
    request_body = CreateRefund,
    responses(
        (status = 201, body = RefundResult),
        (status = 404, description = "`payment_not_found`."),
        (status = 409, description = "`payment_not_refundable` or `wallet_closed`."),
        (status = 422, description = "`refund_exceeds_payment`."),
    ),
)]
#[post("/payments/{id}/refunds")]
pub async fn refund(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<CreateRefund>,
) -> Result<HttpResponse, ApiError> {
    let amount = decimal("amount", &body.value.amount)?;
    let reason = body.value.reason;
    let (svc, tenant, id) = (
        state.payments.clone(),
        who.tenant_id.clone(),
        id.into_inner(),
    );
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let (payment, refund) = svc.refund(&tenant, &parse(&id)?, amount, reason)?;
        Ok((
            StatusCode::CREATED,
            RefundResult {
                refund: RefundView::new(refund, payment.currency),
                payment: payment.into(),
            },
        ))
    })
    .await
}

/// Confirm a pending payment: the merchant's payment provider collected it. It then counts
/// toward the invoice (a past-due subscription whose invoices are all paid is active again).
/// The invoice paid another way meanwhile → 422 `overpayment`; voided → 409
/// `invoice_not_payable` (return the money through the provider, then fail the payment).
#[utoipa::path(
    operation_id = "confirm_payment",
    tag = "Payments",
    security(("api_key" = [])),
    params(
        paths::PaymentPath,
        ("Idempotency-Key" = Option<String>, Header, description = "A retried confirmation answers as the first did."),
    ),
    request_body = ConfirmPayment,
    responses(
        (status = 200, body = PaymentResult),
        (status = 404, description = "`payment_not_found`."),
        (status = 409, description = "`payment_not_pending` or `invoice_not_payable`."),
        (status = 422, description = "`overpayment`."),
    ),
)]
#[post("/payments/{id}/confirm")]
pub async fn confirm(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<ConfirmPayment>,
) -> Result<HttpResponse, ApiError> {
    let how = Settlement::Confirm {
        reference: body.value.reference,
    };
    settle(state, who, req, id.into_inner(), body.raw, how).await
}

/// Fail a pending payment: the merchant's payment provider could not collect it. It stays in
/// the history as failed; the invoice is unchanged.
#[utoipa::path(
    operation_id = "fail_payment",
    tag = "Payments",
    security(("api_key" = [])),
    params(
        paths::PaymentPath,
        ("Idempotency-Key" = Option<String>, Header, description = "A retried failure answers as the first did."),
    ),
    request_body = FailPayment,
    responses(
        (status = 200, body = PaymentResult),
        (status = 404, description = "`payment_not_found`."),
        (status = 409, description = "`payment_not_pending`."),
    ),
)]
#[post("/payments/{id}/fail")]
pub async fn fail(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<FailPayment>,
) -> Result<HttpResponse, ApiError> {
    let how = Settlement::Fail {
        failure_reason: body.value.failure_reason,
    };
    settle(state, who, req, id.into_inner(), body.raw, how).await
}

async fn settle(
    state: Data<AppState>,
    who: domain::services::api_keys::Principal,
    req: HttpRequest,
    id: String,
    raw: actix_web::web::Bytes,
    how: Settlement,
) -> Result<HttpResponse, ApiError> {
    let (svc, tenant) = (state.payments.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &raw, move || {
        Ok((
            StatusCode::OK,
            PaymentResult::from(svc.settle(&tenant, &parse(&id)?, how.clone())?),
        ))
    })
    .await
}

/// Payment history, newest first.
#[utoipa::path(
    operation_id = "list_payments",
    tag = "Payments",
    security(("api_key" = [])),
    params(ListPayments),
    responses(
        (status = 200, body = PaymentList),
    ),
)]
#[get("/payments")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListPayments>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.payments.clone();
    let found = blocking(move || svc.list(&who.scope(), &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(PaymentList::from(found.map(PaymentView::from))))
}

/// Get a payment.
#[utoipa::path(
    operation_id = "get_payment",
    tag = "Payments",
    security(("api_key" = [])),
    params(paths::PaymentPath),
    responses(
        (status = 200, body = PaymentView),
        (status = 404, description = "`payment_not_found`."),
    ),
)]
#[get("/payments/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.payments.clone();
    let p = blocking(move || svc.get(&who.scope(), &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(PaymentView::from(p)))
}
