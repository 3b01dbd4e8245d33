use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::HttpRequest;
use actix_web::{get, post, HttpResponse};
use domain::actor::Actor;
use domain::id::{parse, InvoiceId};
use domain::payment::PaymentFilter;

use crate::error::ApiError;
use crate::extract::{section, JsonBody, PortalAuth, Query};
use crate::idempotency;
use crate::pagination::portal_page;
use crate::routes::common::PageParams;
use crate::routes::paths;
use crate::routes::payments::dto::{PaymentList, PaymentResult, PaymentView, PortalPayInvoice};
use crate::state::AppState;

/// Pay one of the customer's invoices, if the session's `invoice_pay` permission allows it
/// (section `invoices`). `source: wallet`: the same debit and guards as the merchant's wallet
/// payment, in one transaction, audited. `source: payment_method`: a `pending` payment of the
/// amount due through a saved method, whose `payment_url` is the merchant's payment page (the
/// account's `payment_url_template`); the merchant confirms or fails it once its provider
/// reports, and asking again returns the same pending payment. A retried request with the same
/// Idempotency-Key pays once.
#[utoipa::path(
    operation_id = "pay_portal_invoice",
    tag = "Portal: invoices",
    security(("session_token" = [])),
    params(
        paths::InvoicePath,
        ("Idempotency-Key" = Option<String>, Header, description = "A retried payment is applied once."),
    ),
    request_body = PortalPayInvoice,
    responses(
        (status = 201, body = PaymentResult),
        (status = 403, description = "`section_disabled`, `read_only_session` or `action_not_allowed`."),
        (status = 404, description = "`invoice_not_found`, `wallet_not_found` or `payment_method_not_found` (another customer's too)."),
        (status = 409, description = "`invoice_not_payable` (void, or nothing left to pay), `wallet_frozen`, `wallet_closed`, `payment_method_unusable` (expired or detached), `online_payment_unavailable` (no payment URL template) or `payment_pending`."),
        (status = 422, description = "`overpayment`, `insufficient_credits` or `currency_mismatch`."),
    ),
)]
#[post("/invoices/{id}/pay")]
pub async fn pay(
    state: Data<AppState>,
    portal: PortalAuth<section::Invoices>,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<PortalPayInvoice>,
) -> Result<HttpResponse, ApiError> {
    let how = body.value.into_request()?;
    let invoice: InvoiceId = parse(&id)?;
    let session = portal.session().await?;
    let (svc, who) = (state.payments.clone(), session.clone());
    idempotency::run_for_customer(&state, &session, &req, &body.raw, move || {
        let paid = svc.pay(
            &Actor::Customer(&who),
            &who.tenant_id,
            &invoice,
            how.clone(),
        )?;
        Ok((StatusCode::CREATED, PaymentResult::from(paid)))
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
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/payments")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::Payments>,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let svc = state.payments.clone();
    let found = portal
        .run(move |session| svc.list(&session.scope(), &PaymentFilter::default(), &page))
        .await?;
    Ok(HttpResponse::Ok().json(PaymentList::from(found.map(PaymentView::from))))
}
