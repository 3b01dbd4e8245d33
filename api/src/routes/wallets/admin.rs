use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{get, patch, post, HttpRequest, HttpResponse};
use domain::id::{self, parse};
use domain::page::Page;
use domain::services::api_keys::Principal;
use domain::services::wallets::{Debit, NewWallet, TopUp, WalletService};
use domain::wallet::LotKind;
use domain::wallet::{Wallet, WalletTransaction};
use domain::DomainResult;

use super::dto::{
    CreateWallet, DebitBody, ListWallets, TopUpBody, TransactionList, UpdateWallet, WalletList,
    WalletOperation,
};
use crate::error::{blocking, ApiError};
use crate::extract::{AdminKey, JsonBody, Query};
use crate::idempotency;
use crate::pagination::admin_page;
use crate::routes::common::decimal;
use crate::routes::paths;
use crate::routes::wallets::dto::{ListTransactions, TransactionView, WalletView};
use crate::state::AppState;
use domain::id::{TenantId, WalletId};

/// Runs a top-up or debit once per Idempotency-Key and answers with the wallet and its entry.
async fn movement<F>(
    state: &AppState,
    who: &Principal,
    req: &HttpRequest,
    raw: &[u8],
    wallet_id: String,
    op: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&WalletService, &TenantId, &WalletId) -> DomainResult<(Wallet, WalletTransaction)>
        + Send
        + 'static,
{
    let (svc, tenant) = (state.wallets.clone(), who.tenant_id.clone());
    idempotency::run(state, who, req, raw, move || {
        let (w, tx) = op(&svc, &tenant, &parse(&wallet_id)?)?;
        Ok((
            StatusCode::CREATED,
            WalletOperation {
                wallet: w.into(),
                transaction: tx.into(),
            },
        ))
    })
    .await
}

fn idempotency_key(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(idempotency::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Create a wallet for a customer.
#[utoipa::path(
    operation_id = "create_wallet",
    tag = "Wallets",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the first answer is replayed for 24 h.")),
    request_body = CreateWallet,
    responses(
        (status = 201, body = WalletView),
        (status = 404, description = "`customer_not_found`."),
        (status = 409, description = "`customer_archived`."),
    ),
)]
#[post("/wallets")]
pub async fn create(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    body: JsonBody<CreateWallet>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let conversion_rate = b
        .conversion_rate
        .as_deref()
        .map(|r| decimal("conversion_rate", r))
        .transpose()?;
    let low_balance_threshold = b
        .low_balance_threshold
        .as_deref()
        .map(|t| decimal("low_balance_threshold", t))
        .transpose()?;
    let input = NewWallet {
        customer_id: b.customer_id,
        name: b.name,
        currency: b.currency,
        conversion_rate,
        low_balance_threshold,
    };
    let (svc, tenant) = (state.wallets.clone(), who.tenant_id.clone());
    idempotency::run(&state, &who, &req, &body.raw, move || {
        let w = svc.create(&tenant, input)?;
        Ok((StatusCode::CREATED, WalletView::from(w)))
    })
    .await
}

/// List wallets, newest first (optionally one customer's).
#[utoipa::path(
    operation_id = "list_wallets",
    tag = "Wallets",
    security(("api_key" = [])),
    params(ListWallets),
    responses(
        (status = 200, body = WalletList),
    ),
)]
#[get("/wallets")]
pub async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    Query(q): Query<ListWallets>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let svc = state.wallets.clone();
    // A malformed customer id matches nothing, as an unknown one.
    let wallets = match id::filter(q.customer_id.as_deref()) {
        Some(customer) => {
            blocking(move || svc.list(&who.scope(), customer.as_ref(), &page)).await?
        }
        None => Page::empty(),
    };
    Ok(HttpResponse::Ok().json(WalletList::from(wallets.map(WalletView::from))))
}

/// Get a wallet (credits past their expiry have left the balance).
#[utoipa::path(
    operation_id = "get_wallet",
    tag = "Wallets",
    security(("api_key" = [])),
    params(paths::WalletPath),
    responses(
        (status = 200, body = WalletView),
        (status = 404, description = "`wallet_not_found`."),
    ),
)]
#[get("/wallets/{id}")]
pub async fn get(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.wallets.clone();
    let w = blocking(move || svc.get(&who.scope(), &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(WalletView::from(w)))
}

/// Rename, freeze or unfreeze a wallet.
#[utoipa::path(
    operation_id = "update_wallet",
    tag = "Wallets",
    security(("api_key" = [])),
    params(paths::WalletPath),
    request_body = UpdateWallet,
    responses(
        (status = 200, body = WalletView),
        (status = 404, description = "`wallet_not_found`."),
        (status = 409, description = "`wallet_closed`."),
    ),
)]
#[patch("/wallets/{id}")]
pub async fn update(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
    body: JsonBody<UpdateWallet>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.value.into_patch()?;
    let svc = state.wallets.clone();
    let w = blocking(move || svc.update(&who.tenant_id, &parse(&id)?, patch)).await?;
    Ok(HttpResponse::Ok().json(WalletView::from(w)))
}

/// Add credits: a new credit lot and a `credit` ledger entry.
#[utoipa::path(
    operation_id = "top_up_wallet",
    tag = "Wallets",
    security(("api_key" = [])),
    params(
        paths::WalletPath,
        ("Idempotency-Key" = Option<String>, Header, description = "A retried top-up credits once."),
    ),
    request_body = TopUpBody,
    responses(
        (status = 201, body = WalletOperation),
        (status = 404, description = "`wallet_not_found`."),
        (status = 409, description = "`customer_archived`, `wallet_frozen` or `wallet_closed`."),
    ),
)]
#[post("/wallets/{id}/top_up")]
pub async fn top_up(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<TopUpBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let input = TopUp {
        credits: decimal("credits", &b.credits)?,
        kind: b.kind.map(Into::into).unwrap_or(LotKind::Purchased),
        priority: b.priority,
        expires_at: b.expires_at,
        reason: b.reason,
        description: b.description,
        reference: b.reference,
        idempotency_key: idempotency_key(&req),
    };
    movement(
        &state,
        &who,
        &req,
        &body.raw,
        id.into_inner(),
        move |svc, tenant, id| svc.top_up(tenant, id, input),
    )
    .await
}

/// Take credits, by priority, then earliest expiry, then oldest lot. Not enough credits →
/// 422 `insufficient_credits` and nothing changes.
#[utoipa::path(
    operation_id = "debit_wallet",
    tag = "Wallets",
    security(("api_key" = [])),
    params(
        paths::WalletPath,
        ("Idempotency-Key" = Option<String>, Header, description = "A retried debit debits once."),
    ),
    request_body = DebitBody,
    responses(
        (status = 201, body = WalletOperation),
        (status = 404, description = "`wallet_not_found`."),
        (status = 409, description = "`customer_archived`, `wallet_frozen` or `wallet_closed`."),
        (status = 422, description = "`insufficient_credits`."),
    ),
)]
#[post("/wallets/{id}/debit")]
pub async fn debit(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    req: HttpRequest,
    id: Path<String>,
    body: JsonBody<DebitBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let input = Debit {
        credits: decimal("credits", &b.credits)?,
        reason: b.reason,
        description: b.description,
        reference: b.reference,
        idempotency_key: idempotency_key(&req),
    };
    movement(
        &state,
        &who,
        &req,
        &body.raw,
        id.into_inner(),
        move |svc, tenant, id| svc.debit(tenant, id, input),
    )
    .await
}

/// Close a wallet: remaining credits are voided by one ledger entry. Idempotent.
#[utoipa::path(
    operation_id = "close_wallet",
    tag = "Wallets",
    security(("api_key" = [])),
    params(paths::WalletPath),
    responses(
        (status = 200, body = WalletView),
        (status = 404, description = "`wallet_not_found`."),
    ),
)]
#[post("/wallets/{id}/close")]
pub async fn close(
    state: Data<AppState>,
    AdminKey(who): AdminKey,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.wallets.clone();
    let w = blocking(move || svc.close(&who.tenant_id, &parse(&id)?)).await?;
    Ok(HttpResponse::Ok().json(WalletView::from(w)))
}

/// The wallet's ledger, newest first.
#[utoipa::path(
    operation_id = "list_wallet_transactions",
    tag = "Wallets",
    security(("api_key" = [])),
    params(paths::WalletPath, ListTransactions),
    responses(
        (status = 200, body = TransactionList),
        (status = 404, description = "`wallet_not_found`."),
    ),
)]
#[get("/wallets/{id}/transactions")]
pub async fn transactions(
    state: Data<AppState>,
    req: HttpRequest,
    AdminKey(who): AdminKey,
    id: Path<String>,
    Query(q): Query<ListTransactions>,
) -> Result<HttpResponse, ApiError> {
    let page = admin_page(&state, &req, &who, q.limit, q.cursor.as_deref())?;
    let filter = q.filter()?;
    let svc = state.wallets.clone();
    let txs =
        blocking(move || svc.transactions(&who.scope(), &parse(&id)?, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(TransactionList::from(txs.map(TransactionView::from))))
}
