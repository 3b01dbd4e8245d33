use actix_web::web::{Data, Path};
use actix_web::HttpRequest;
use actix_web::{get, HttpResponse};
use domain::id::parse;
use domain::wallet::Wallet;

use super::dto::{PortalWallet, PortalWalletList};
use crate::error::ApiError;
use crate::extract::{section, PortalAuth, Query};
use crate::pagination::portal_page;
use crate::routes::common::PageParams;
use crate::routes::paths;
use crate::routes::wallets::dto::TransactionList;
use crate::routes::wallets::dto::{ListTransactions, TransactionView};
use crate::state::AppState;

const EXPIRY_HORIZON_DAYS: i64 = 30;

fn portal_wallet(state: &AppState, w: Wallet) -> domain::DomainResult<PortalWallet> {
    let expiring = state
        .wallets
        .expiring_within(&w, chrono::Duration::days(EXPIRY_HORIZON_DAYS))?;
    Ok(PortalWallet {
        credits_expiring_next_30_days: domain::money::canonical(&expiring),
        wallet: w.into(),
    })
}

/// The customer's wallets: credits, their currency value, what expires soon (section `credits`).
#[utoipa::path(
    operation_id = "list_portal_wallets",
    tag = "Portal: wallets",
    security(("session_token" = [])),
    params(PageParams),
    responses(
        (status = 200, body = PortalWalletList),
        (status = 403, description = "`section_disabled`."),
    ),
)]
#[get("/wallets")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::Credits>,
    Query(q): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let st = state.clone();
    let wallets = portal
        .run(move |session| {
            let listed = st.wallets.list(&session.scope(), None, &page)?;
            let items = listed
                .items
                .into_iter()
                .map(|w| portal_wallet(&st, w))
                .collect::<domain::DomainResult<Vec<_>>>()?;
            Ok(PortalWalletList {
                data: items,
                has_more: listed.has_more,
                next_cursor: listed.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(wallets))
}

/// One of the customer's wallets.
#[utoipa::path(
    operation_id = "get_portal_wallet",
    tag = "Portal: wallets",
    security(("session_token" = [])),
    params(paths::WalletPath),
    responses(
        (status = 200, body = PortalWallet),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`wallet_not_found`, also for another customer's wallet."),
    ),
)]
#[get("/wallets/{id}")]
pub async fn get(
    state: Data<AppState>,
    portal: PortalAuth<section::Credits>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let w = portal
        .run(move |session| portal_wallet(&st, st.wallets.get(&session.scope(), &parse(&id)?)?))
        .await?;
    Ok(HttpResponse::Ok().json(w))
}

/// The ledger of one of the customer's wallets, newest first.
#[utoipa::path(
    operation_id = "list_portal_wallet_transactions",
    tag = "Portal: wallets",
    security(("session_token" = [])),
    params(paths::WalletPath, ListTransactions),
    responses(
        (status = 200, body = TransactionList),
        (status = 403, description = "`section_disabled`."),
        (status = 404, description = "`wallet_not_found`."),
    ),
)]
#[get("/wallets/{id}/transactions")]
pub async fn transactions(
    state: Data<AppState>,
    req: HttpRequest,
    portal: PortalAuth<section::Credits>,
    id: Path<String>,
    Query(q): Query<ListTransactions>,
) -> Result<HttpResponse, ApiError> {
    let page = portal_page(&state, &req, portal.owner(), q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.wallets.clone();
    let txs = portal
        .run(move |session| svc.transactions(&session.scope(), &parse(&id)?, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(TransactionList::from(txs.map(TransactionView::from))))
}
