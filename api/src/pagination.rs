//! Clients' pages: every cursor is bound to the list that issued it, meaning the account (and, on
//! the portal, the customer), the path and the filters, not the page size. See
//! `domain::page::CursorBinding`.

use std::sync::Arc;

use actix_web::HttpRequest;
use domain::guest_session::GuestSession;
use domain::id::TenantId;
use domain::page::{CursorBinding, PageRequest};
use domain::services::api_keys::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// A page of an admin list.
pub fn admin_page(
    state: &AppState,
    req: &HttpRequest,
    who: &Principal,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    bound(state, req, &who.tenant_id, limit, cursor)
}

/// A page of a portal list: cursors bound to the customer its token names.
pub fn portal_page(
    state: &AppState,
    req: &HttpRequest,
    (tenant_id, customer_id): (&TenantId, &str),
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let owner = format!("{tenant_id}/{customer_id}");
    bound(state, req, &owner, limit, cursor)
}

/// A guest session's page of a list: cursors bound to that session.
pub fn guest_page(
    state: &AppState,
    req: &HttpRequest,
    guest: &GuestSession,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let owner = format!("{}/{}", guest.tenant_id, guest.id);
    bound(state, req, &owner, limit, cursor)
}

fn bound(
    state: &AppState,
    req: &HttpRequest,
    owner: &str,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let mut filters: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "cursor" && k != "limit")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    filters.sort();
    let mut scope = format!("{owner}\n{}", req.path());
    for (k, v) in filters {
        scope.push('\n');
        scope.push_str(&form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>());
        scope.push('=');
        scope.push_str(&form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
    }
    let binding = CursorBinding::new(Arc::clone(&state.cursor_key), scope);
    Ok(PageRequest::bound(limit, cursor, binding)?)
}
