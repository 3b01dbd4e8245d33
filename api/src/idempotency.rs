//! The `Idempotency-Key` mechanism, shared by every admin POST that creates objects or moves
//! money. Rules (24 h retention, fingerprint, one transaction) are in `domain::idempotency`.
//!
//! - first request: runs; its answer (success or 4xx) is recorded in the same transaction as its
//!   effects, and returned;
//! - same key, same method/path/body: the recorded answer is replayed with
//!   `Idempotent-Replayed: true`;
//! - same key, different request: 422 `idempotency_key_reused`;
//! - same key while the first request is still running: 409 `idempotency_key_in_use`;
//! - a 5xx (or a crash) records nothing and undoes everything, so the client's retry runs.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use domain::idempotency::{fingerprint, valid_key, Answer, Claim, Once, StoredResponse};
use domain::portal_session::PortalSession;
use domain::services::api_keys::Principal;
use domain::ErrorCode;
use domain::{DomainError, FieldError};
use serde::Serialize;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::state::AppState;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
pub const IN_USE: &str =
    "A request with this Idempotency-Key is still being processed; retry later.";
pub const REUSED: &str = "This Idempotency-Key was used with a different request.";

/// Runs `work` at most once per idempotency key; without a key it simply runs. `work` runs on a
/// blocking thread, where its repository calls join the key's transaction: it should do the
/// request's whole job (service calls and building the answer) and nothing else.
pub async fn run<T, F>(
    state: &AppState,
    who: &Principal,
    req: &HttpRequest,
    body: &[u8],
    work: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<(StatusCode, T), ApiError> + Send + 'static,
{
    run_keyed(state, &who.tenant_id, "", req, body, work).await
}

/// [`run`] for a portal write: the customer's keys are their own, so one customer can never
/// meet (or be replayed) another's answer under the same key.
pub async fn run_for_customer<T, F>(
    state: &AppState,
    session: &PortalSession,
    req: &HttpRequest,
    body: &[u8],
    work: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<(StatusCode, T), ApiError> + Send + 'static,
{
    let namespace = format!("customer:{}:", session.customer_id);
    run_keyed(state, &session.tenant_id, &namespace, req, body, work).await
}

/// Keys are stored per account, prefixed with `namespace`.
async fn run_keyed<T, F>(
    state: &AppState,
    tenant_id: &domain::id::TenantId,
    namespace: &str,
    req: &HttpRequest,
    body: &[u8],
    work: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<(StatusCode, T), ApiError> + Send + 'static,
{
    let Some(key) = req.headers().get(HEADER) else {
        let (status, value) = actix_web::web::block(work).await??;
        return Ok(HttpResponse::build(status).json(value));
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| valid_key(k))
        .ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                HEADER,
                "must be 1 to 255 visible ASCII characters",
            )])
        })?
        .to_owned();
    let claim = Claim {
        tenant_id: tenant_id.clone(),
        key: format!("{namespace}{key}"),
        fingerprint: fingerprint(req.method().as_str(), req.path(), body),
        now: domain::clock::now(),
    };
    let (repo, sealer) = (state.idempotency.clone(), state.sealer.clone());
    // On a blocking thread, which finishes the work and records its answer even if the client
    // goes away mid-request: the retry then gets a replay.
    let (once, failure, plain) = actix_web::web::block(move || {
        let mut work = Some(work);
        let (mut failure, mut plain): (Option<ApiError>, Option<StoredResponse>) = (None, None);
        let once = repo.run_once(&claim, &mut || {
            let work = work.take().expect("runs once");
            let (status, body, keep) = match work() {
                Ok((status, value)) => (
                    status,
                    serde_json::to_string(&value)
                        .map_err(|e| DomainError::internal(e.to_string()))?,
                    true,
                ),
                Err(e) if !e.status.is_server_error() => (
                    e.status,
                    serde_json::to_string(&e.problem()).expect("problem serialises"),
                    false,
                ),
                Err(e) => {
                    let internal = DomainError::internal(e.problem().detail.clone());
                    failure = Some(e);
                    return Err(internal);
                }
            };
            let sealed = StoredResponse {
                status: status.as_u16(),
                body: sealer.seal(&body)?,
            };
            plain = Some(StoredResponse {
                status: status.as_u16(),
                body,
            });
            Ok(if keep {
                Answer::Commit(sealed)
            } else {
                Answer::Refuse(sealed)
            })
        });
        (once, failure, plain)
    })
    .await?;
    match once {
        Ok(Once::Ran(_)) => Ok(answer(plain.expect("the work answered"), false)),
        Ok(Once::Replay(stored)) => {
            // Answers recorded before they were sealed are plain JSON.
            let body = if stored.body.starts_with("v4.local.") {
                state
                    .sealer
                    .open(&stored.body)
                    .ok_or_else(|| ApiError::internal("a stored answer no key can open"))?
            } else {
                stored.body
            };
            Ok(answer(
                StoredResponse {
                    status: stored.status,
                    body,
                },
                true,
            ))
        }
        Ok(Once::InProgress) => Err(ApiError::new(ErrorCode::IdempotencyKeyInUse, IN_USE)),
        Ok(Once::Mismatch) => Err(ApiError::new(ErrorCode::IdempotencyKeyReused, REUSED)),
        Err(e) => Err(failure.unwrap_or_else(|| e.into())),
    }
}

fn answer(stored: StoredResponse, replayed: bool) -> HttpResponse {
    let mut response =
        HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    response.insert_header((header::CONTENT_TYPE, content_type(stored.status)));
    if replayed {
        response.insert_header((REPLAYED_HEADER, "true"));
    }
    response.body(stored.body)
}

fn content_type(status: u16) -> &'static str {
    if status >= 400 {
        PROBLEM_JSON
    } else {
        "application/json"
    }
}
