use actix_web::web::Data;
use actix_web::{get, HttpRequest, HttpResponse};

use super::dto::{PlanList, PlanView};
use crate::error::{blocking, ApiError};
use crate::extract::{section, PortalVisitor, Query};
use crate::pagination::{guest_page, portal_page};
use crate::routes::common::PageParams;
use crate::state::AppState;
use domain::services::portal_sessions::Visitor;

/// The plans the customer may choose from (section `subscriptions`): public, active plans in
/// the currencies of the customer's wallets, or in any currency while the customer has none.
/// A guest session (no customer yet) sees every public, active plan. A customer sees each
/// plan's fee with their active discount, when one applies to it.
#[utoipa::path(
    operation_id = "list_portal_plans",
    tag = "Portal: plans",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = PlanList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/plans")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    PortalVisitor(visitor, _): PortalVisitor<section::Subscriptions>,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (svc, subs) = (state.plans.clone(), state.subscriptions.clone());
    let found = match visitor {
        Visitor::Customer(session) => {
            let owner = (&session.tenant_id, session.customer_id.to_string());
            let page = portal_page(
                &state,
                &req,
                (owner.0, &owner.1),
                q.limit,
                q.cursor.as_deref(),
            )?;
            blocking(move || {
                let discounts = subs.discounts_of(&session.customer())?;
                let plans = svc.catalogue(&session.customer(), &page)?;
                Ok(plans.map(|p| PlanView::for_customer(p, &discounts)))
            })
            .await?
        }
        Visitor::Guest(guest) => {
            let page = guest_page(&state, &req, &guest, q.limit, q.cursor.as_deref())?;
            let plans = blocking(move || svc.public_catalogue(&guest.tenant_id, &page)).await?;
            plans.map(PlanView::from)
        }
    };
    Ok(HttpResponse::Ok().json(PlanList::from(found)))
}
