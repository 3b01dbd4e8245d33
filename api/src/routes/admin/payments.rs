use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::money::{canonical, Currency};
use domain::payment::{Payment, PaymentMethod, PaymentState, Refund};
use domain::ports::PaymentFilter;
use domain::services::payments::NewPayment;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list_type;
use crate::error::{blocking, ApiError, Problem};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::invoice_dto::InvoiceView;
use crate::routes::wallet_dto::decimal;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    #[schema(example = "pay_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub invoice_id: String,
    pub customer_id: String,
    #[schema(example = "25.00")]
    pub amount: String,
    pub currency: String,
    /// `wallet` or `external`.
    pub method: &'static str,
    /// `succeeded` or `failed`.
    pub status: &'static str,
    pub wallet_id: Option<String>,
    /// Credits debited from the wallet.
    pub credits: Option<String>,
    pub reference: Option<String>,
    pub failure_reason: Option<String>,
    pub amount_refunded: String,
    pub created_at: DateTime<Utc>,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        let c = Currency::parse(&p.currency).expect("payment currencies are validated");
        Self {
            amount: c.display(&p.amount),
            amount_refunded: c.display(&p.amount_refunded),
            credits: p.credits.as_ref().map(canonical),
            method: p.method.as_str(),
            status: p.status.as_str(),
            id: p.id,
            invoice_id: p.invoice_id,
            customer_id: p.customer_id,
            currency: p.currency,
            wallet_id: p.wallet_id,
            reference: p.reference,
            failure_reason: p.failure_reason,
            created_at: p.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    #[schema(example = "re_01jd3x6v9f5m2q8r7t4w0y1z3a")]
    pub id: String,
    pub payment_id: String,
    pub invoice_id: String,
    pub amount: String,
    /// Credits returned to the wallet.
    pub credits: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl RefundView {
    /// Money as the payment shows it: in its currency's minor units (`30.00`, not `30`).
    fn new(r: Refund, currency: &str) -> Self {
        let c = Currency::parse(currency).expect("payment currencies are validated");
        Self {
            amount: c.display(&r.amount),
            credits: r.credits.as_ref().map(canonical),
            id: r.id,
            payment_id: r.payment_id,
            invoice_id: r.invoice_id,
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

list_type!(PaymentList, PaymentView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "25.00", "method": "wallet", "wallet_id": "wal_01jd3x6v9f5m2q8r7t4w0y1z3a"}))]
pub struct CreatePayment {
    /// Decimal string in the invoice currency, at most the amount due.
    pub amount: String,
    /// `wallet` (debits `wallet_id`, same currency) or `external` (money received elsewhere).
    pub method: String,
    pub wallet_id: Option<String>,
    pub reference: Option<String>,
    /// `succeeded` (default) or, for external payments, `failed` (recorded in the history only).
    pub status: Option<String>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Decimal string, at most what is left of the payment.
    pub amount: String,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentResult {
    pub payment: PaymentView,
    pub invoice: InvoiceView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResult {
    pub refund: RefundView,
    pub payment: PaymentView,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListPayments {
    pub customer_id: Option<String>,
    pub invoice_id: Option<String>,
    /// `wallet` or `external`.
    pub method: Option<String>,
    /// `succeeded` or `failed`.
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListPayments {
    pub fn filter(&self) -> Result<PaymentFilter, ApiError> {
        let bad = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
        Ok(PaymentFilter {
            customer_id: self.customer_id.clone(),
            invoice_id: self.invoice_id.clone(),
            method: match self.method.as_deref() {
                None => None,
                Some(m) => Some(
                    PaymentMethod::parse(m)
                        .ok_or_else(|| bad("method", "must be wallet or external"))?,
                ),
            },
            status: match self.status.as_deref() {
                None => None,
                Some(s) => Some(
                    PaymentState::parse(s)
                        .ok_or_else(|| bad("status", "must be succeeded or failed"))?,
                ),
            },
        })
    }
}

/// Record a payment of a finalized invoice. Wallet payments debit the wallet in the same
/// transaction. Over-payment → 422 `overpayment`.
#[utoipa::path(
    operation_id = "pay_invoice",
    tag = "Payments",
    security(("api_key" = [])),
    params(
        ("id" = String, Path, example = "inv_01jd3x6v9f5m2q8r7t4w0y1z3a"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retried payment is applied once."),
    ),
    request_body = CreatePayment,
    responses(
        (status = 201, body = PaymentResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`invoice_not_found` or `wallet_not_found` (also another customer's wallet)."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`invoice_not_payable`, `wallet_frozen`, `wallet_closed` or `idempotency_key_in_use`."),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`overpayment`, `insufficient_credits`, `currency_mismatch`, `validation_failed` or `idempotency_key_reused`."),
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
    let b = body.value;
    let bad = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
    let input = NewPayment {
        amount: decimal("amount", &b.amount)?,
        method: PaymentMethod::parse(&b.method)
            .ok_or_else(|| bad("method", "must be wallet or external"))?,
        wallet_id: b.wallet_id,
        reference: b.reference,
        status: match b.status.as_deref() {
            None => PaymentState::Succeeded,
            Some(s) => PaymentState::parse(s)
                .ok_or_else(|| bad("status", "must be succeeded or failed"))?,
        },
        failure_reason: b.failure_reason,
    };
    let (svc, tenant, id) = (
        state.payments.clone(),
        who.tenant_id.clone(),
        id.into_inner(),
    );
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let (invoice, payment) = svc.pay(&tenant, &id, input)?;
        Ok((
            StatusCode::CREATED,
            PaymentResult {
                payment: payment.into(),
                invoice: invoice.into(),
            },
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
        ("id" = String, Path, example = "pay_01jd3x6v9f5m2q8r7t4w0y1z3a"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retried refund is applied once."),
    ),
    request_body = CreateRefund,
    responses(
        (status = 201, body = RefundResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`payment_not_found`."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`payment_not_refundable`, `wallet_closed` or `idempotency_key_in_use`."),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`refund_exceeds_payment` or `validation_failed`."),
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
        let (payment, refund) = svc.refund(&tenant, &id, amount, reason)?;
        Ok((
            StatusCode::CREATED,
            RefundResult {
                refund: RefundView::new(refund, &payment.currency),
                payment: payment.into(),
            },
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
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
    let found = blocking(move || svc.list(&who.tenant_id, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(PaymentList::from(found.map(PaymentView::from))))
}

/// Get a payment.
#[utoipa::path(
    operation_id = "get_payment",
    tag = "Payments",
    security(("api_key" = [])),
    params(("id" = String, Path, example = "pay_01jd3x6v9f5m2q8r7t4w0y1z3a")),
    responses(
        (status = 200, body = PaymentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`payment_not_found`."),
    ),
)]
#[get("/payments/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.payments.clone();
    let p = blocking(move || svc.get(&who.tenant_id, &id)).await?;
    Ok(HttpResponse::Ok().json(PaymentView::from(p)))
}
