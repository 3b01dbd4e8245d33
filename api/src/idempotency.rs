//! The `Idempotency-Key` mechanism, shared by every admin POST that creates objects or moves
//! money. Rules (24 h retention, fingerprint, stale locks) are in `domain::idempotency`.
//!
//! - first request: runs; its answer (success or 4xx) is stored and returned;
//! - same key, same method/path/body: the stored answer is replayed with `Idempotent-Replayed: true`;
//! - same key, different request: 422 `idempotency_key_reused`;
//! - same key while the first request is still running: 409 `idempotency_key_in_use`;
//! - a 5xx is not stored: the key is released so the client can retry.

use std::future::Future;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use domain::idempotency::{fingerprint, valid_key, Begin, StoredResponse};
use domain::services::api_keys::Principal;
use domain::FieldError;
use serde::Serialize;

use crate::error::{blocking, ApiError, PROBLEM_JSON};
use crate::state::AppState;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
pub const IN_USE: &str =
    "A request with this Idempotency-Key is still being processed; retry later.";
pub const REUSED: &str = "This Idempotency-Key was used with a different request.";

/// Runs `handler` at most once per idempotency key; without a key it simply runs.
pub async fn run<T, F, Fut>(
    state: &AppState,
    who: &Principal,
    req: &HttpRequest,
    body: &[u8],
    handler: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + 'static,
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>> + 'static,
{
    let Some(key) = req.headers().get(HEADER) else {
        let (status, value) = handler().await?;
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
    let print = fingerprint(req.method().as_str(), req.path(), body);
    let (repo, tenant) = (state.idempotency.clone(), who.tenant_id.clone());
    let begin = {
        let (repo, tenant, key) = (repo.clone(), tenant.clone(), key.clone());
        blocking(move || repo.begin(&tenant, &key, &print, domain::clock::now())).await?
    };
    match begin {
        Begin::Replay(stored) => Ok(replay(&stored)),
        Begin::InProgress => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            IN_USE,
        )),
        Begin::Mismatch => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            REUSED,
        )),
        Begin::Started => {
            // Run to completion in a task of its own: if the client goes away mid-request, the
            // work still finishes and its answer is stored, so the retry gets a replay rather
            // than a 409 or a second execution.
            let task = actix_web::rt::spawn(async move {
                let outcome = handler().await;
                let stored = match &outcome {
                    Ok((status, value)) => StoredResponse {
                        status: status.as_u16(),
                        body: serde_json::to_string(value)
                            .map_err(|e| ApiError::internal(e.to_string()))?,
                    },
                    Err(e) if !e.status.is_server_error() => StoredResponse {
                        status: e.status.as_u16(),
                        body: serde_json::to_string(&e.problem()).expect("problem serialises"),
                    },
                    Err(_) => {
                        blocking(move || repo.release(&tenant, &key)).await?;
                        return Err(outcome.err().expect("matched Err"));
                    }
                };
                let answer = stored.clone();
                blocking(move || repo.complete(&tenant, &key, &stored)).await?;
                Ok(answer)
            });
            let stored = task
                .await
                .map_err(|e| ApiError::internal(format!("idempotent task: {e}")))??;
            Ok(
                HttpResponse::build(StatusCode::from_u16(stored.status).expect("valid status"))
                    .insert_header((header::CONTENT_TYPE, content_type(stored.status)))
                    .body(stored.body),
            )
        }
    }
}

fn content_type(status: u16) -> &'static str {
    if status >= 400 {
        PROBLEM_JSON
    } else {
        "application/json"
    }
}

fn replay(stored: &StoredResponse) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK))
        .insert_header((header::CONTENT_TYPE, content_type(stored.status)))
        .insert_header((REPLAYED_HEADER, "true"))
        .body(stored.body.clone())
}
