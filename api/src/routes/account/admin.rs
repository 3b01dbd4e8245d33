use actix_web::web::Data;
use actix_web::{get, patch, HttpResponse};

use super::dto::{AccountView, UpdateAccount};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody};
use crate::state::AppState;

/// The key's account: the name and address printed on invoices, support contacts, branding.
#[utoipa::path(
    operation_id = "get_account",
    tag = "Account",
    security(("api_key" = [])),
    responses((status = 200, body = AccountView)),
)]
#[get("/account")]
pub async fn get(state: Data<AppState>, AdminKey(who): AdminKey) -> Result<HttpResponse, ApiError> {
    let svc = state.accounts.clone();
    let a = blocking(move || svc.get(&who.tenant_id)).await?;
    Ok(HttpResponse::Ok().json(AccountView::from(a)))
}

/// Change the account's name, address, support contacts, logo, colours or invoice footer.
/// Invoice PDFs use them from then on (also for invoices issued before).
#[utoipa::path(
    operation_id = "update_account",
    tag = "Account",
    security(("api_key" = [])),
    request_body = UpdateAccount,
    responses((status = 200, body = AccountView)),
)]
#[patch("/account")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    body: JsonBody<UpdateAccount>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.value.into_patch()?;
    let svc = state.accounts.clone();
    let a = blocking(move || svc.update(&who.tenant_id, patch)).await?;
    Ok(HttpResponse::Ok().json(AccountView::from(a)))
}
