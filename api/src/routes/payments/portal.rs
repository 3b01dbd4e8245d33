use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::HttpRequest;
use actix_web::{get, post, HttpResponse};
use domain::id::{parse, InvoiceId, WalletId};
use domain::portal_session::Section;
use domain::ports::PaymentFilter;
use domain::services::payments::CustomerPayment;
use domain::FieldError;

use crate::error::{blocking, ApiError, Problem};
use crate::extract::{JsonBody, PortalAuth, Query};
use crate::idempotency;
use crate::pagination::portal_page;
use crate::routes::common::{decimal, PageParams};
use crate::routes::payments::dto::{PaymentList, PaymentResult, PaymentView, PortalPayInvoice};
use crate::state::AppState;

/// Pay one of the customer's invoices from their wallet, if the session's `invoice_pay`
/// permission allows it (section `invoices`): the same debit and guards as the merchant's
/// wallet payment, in one transaction, audited. A retried request with the same
/// Idempotency-Key pays once.
#[utoipa::path(
    operation_id = "pay_portal_invoice",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    params(
        ("id" = String, Path, example = "inv_01jd3x6v9f5m2q8r7t4w0y1z3a"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retried payment is applied once."),
    ),
    request_body = PortalPayInvoice,
    responses(
        (status = 201, body = PaymentResult),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`invoice_not_found` or `wallet_not_found` (another customer's too)."),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`invoice_not_payable` (void, or nothing left to pay), `wallet_frozen`, `wallet_closed` or `idempotency_key_in_use`."),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`overpayment`, `insufficient_credits`, `currency_mismatch` or `validation_failed`."),
    ),
)]
#[post("/invoices/{id}/pay")]
pub async fn pay(
    state: Data<AppState>,
    PortalAuth(session): PortalAuth,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<PortalPayInvoice>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Invoices)?;
    let b = body.value;
    if b.source != "wallet" {
        return Err(ApiError::validation(vec![FieldError::new(
            "source",
            "must be wallet",
        )]));
    }
    let amount = b
        .amount
        .as_deref()
        .map(|a| decimal("amount", a))
        .transpose()?;
    let invoice: InvoiceId = parse(&id)?;
    let wallet_id = b.wallet_id.as_deref().map(parse::<WalletId>).transpose()?;
    let (svc, who) = (state.payments.clone(), session.clone());
    idempotency::run_for_customer(&state, &session, &req, &body.raw, move || {
        let input = CustomerPayment { wallet_id, amount };
        Ok((
            StatusCode::CREATED,
            PaymentResult::from(svc.pay_as_customer(&who, &invoice, input)?),
        ))
    })
    .await
}

/// The customer's payment history, newest first (section `payments`).
#[utoipa::path(
    operation_id = "list_portal_payments",
    tag = "Portal: payments",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = PaymentList),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`section_disabled`."),
    ),
)]
#[get("/payments")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    PortalAuth(session): PortalAuth,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    session.require_section(Section::Payments)?;
    let page = portal_page(&state, &req, &session, q.limit, q.cursor.as_deref())?;
    let svc = state.payments.clone();
    let found =
        blocking(move || svc.list(&session.scope(), &PaymentFilter::default(), &page)).await?;
    Ok(HttpResponse::Ok().json(PaymentList::from(found.map(PaymentView::from))))
}
